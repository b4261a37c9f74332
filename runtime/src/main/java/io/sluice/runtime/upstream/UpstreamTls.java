package io.sluice.runtime.upstream;

import java.net.Socket;
import java.security.GeneralSecurityException;
import io.sluice.registry.config.Pem;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.WeakHashMap;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509KeyManager;

/**
 * How to speak TLS to an upstream: whom to trust, which name to ask for and check, and an optional client
 * certificate (mTLS). Immutable; the {@link SSLSocketFactory} is built once, in {@link #of}. Equal options are
 * equal objects (the key material is compared as text), so pools can be keyed by it.
 *
 * <p>PEM is read by {@link Pem} (the JDK alone; the registry validates with the same code).
 */
public final class UpstreamTls {
    private static final String ALIAS = "client";

    private final boolean verify;
    private final String ca;
    private final String sni;
    private final String clientCert;
    private final String clientKey;
    private final SSLSocketFactory socketFactory;
    private final SSLContext context;
    private final ClientKeys keys;

    private UpstreamTls(boolean verify, String ca, String sni, String clientCert, String clientKey,
                        SSLContext context, ClientKeys keys) {
        this.keys = keys;
        this.verify = verify;
        this.ca = ca;
        this.sni = sni;
        this.clientCert = clientCert;
        this.clientKey = clientKey;
        this.socketFactory = context.getSocketFactory();
        this.context = context;
    }

    /**
     * Builds the options and their TLS context.
     *
     * @param verify     check the upstream's certificate chain and host name. {@code false} trusts any certificate
     *                   and any name: for tests and legacy upstreams only, it gives no protection against an
     *                   active attacker
     * @param ca         PEM, one or more CA certificates to trust instead of the JDK's default trust store; null or
     *                   empty for the default trust store
     * @param sni        server name to send (SNI) and to check the certificate against; null or empty for the
     *                   target's host (no SNI is sent for an IP address)
     * @param clientCert PEM, the client certificate chain (leaf first) for mTLS; null or empty for none
     * @param clientKey  PEM, the client certificate's private key (PKCS#8, PKCS#1 RSA or SEC1 EC, unencrypted);
     *                   given exactly when {@code clientCert} is
     * @return the options
     * @throws IllegalArgumentException on unreadable PEM, a key that does not match the certificate, a bad server
     *                                  name, or a certificate without a key (or a key without a certificate)
     */
    public static UpstreamTls of(boolean verify, String ca, String sni, String clientCert, String clientKey) {
        ca = ca == null ? "" : ca.strip();
        sni = sni == null ? "" : sni.strip();
        clientCert = clientCert == null ? "" : clientCert.strip();
        clientKey = clientKey == null ? "" : clientKey.strip();
        if (!sni.isEmpty() && !isIpLiteral(sni)) {
            try {
                new SNIHostName(sni);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("upstream TLS sni '" + sni + "' is not a valid host name", e);
            }
        }
        if (clientCert.isEmpty() != clientKey.isEmpty()) {
            throw new IllegalArgumentException(clientCert.isEmpty()
                    ? "upstream TLS client key given without a client certificate"
                    : "upstream TLS client certificate given without its private key");
        }
        try {
            List<X509Certificate> trusted = ca.isEmpty() ? List.of() : Pem.certificates("upstream TLS ca", ca);
            TrustManager[] tms;
            if (!verify) {
                tms = new TrustManager[] {new TrustAll()};
            } else if (trusted.isEmpty()) {
                tms = null;   // the JDK's default trust store
            } else {
                KeyStore ks = KeyStore.getInstance("PKCS12");
                ks.load(null, null);
                for (int i = 0; i < trusted.size(); i++) {
                    ks.setCertificateEntry("ca-" + i, trusted.get(i));
                }
                TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                tmf.init(ks);
                tms = tmf.getTrustManagers();
            }
            X509KeyManager identity = null;
            if (!clientCert.isEmpty()) {
                List<X509Certificate> chain = Pem.certificates("upstream TLS client certificate", clientCert);
                PrivateKey key = Pem.privateKey("upstream TLS client key", clientKey, "client certificate",
                        chain.getFirst().getPublicKey());
                KeyStore ks = KeyStore.getInstance("PKCS12");
                ks.load(null, null);
                ks.setKeyEntry(ALIAS, key, new char[0], chain.toArray(X509Certificate[]::new));
                KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(ks, new char[0]);
                identity = (X509KeyManager) kmf.getKeyManagers()[0];
            }
            SSLContext context = SSLContext.getInstance("TLS");
            ClientKeys keys = new ClientKeys(identity);
            context.init(new KeyManager[] {keys}, tms, null);
            return new UpstreamTls(verify, ca, sni, clientCert, clientKey, context, keys);
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new IllegalArgumentException("upstream TLS setup failed: " + e.getMessage(), e);
        }
    }

    /**
     * @return default options: verify against the JDK's trust store, SNI from the target's host, no client
     *         certificate
     */
    public static UpstreamTls defaults() {
        return of(true, "", "", "", "");
    }

    /** @return whether the certificate chain and host name are checked */
    public boolean verify() {
        return verify;
    }

    /** @return the CA certificates' PEM, empty for the default trust store */
    public String ca() {
        return ca;
    }

    /** @return the configured server name, empty for the target's host */
    public String sni() {
        return sni;
    }

    /** @return the client certificate chain's PEM, empty for none */
    public String clientCert() {
        return clientCert;
    }

    /** @return the client key's PEM, empty for none */
    public String clientKey() {
        return clientKey;
    }

    /**
     * @param host the target's host
     * @return the name to send and to check the certificate against
     */
    String serverName(String host) {
        return sni.isEmpty() ? host : sni;
    }

    SSLSocketFactory socketFactory() {
        return socketFactory;
    }

    /** The context behind {@link #socketFactory()}, for the HTTP/2 transport's engines. */
    SSLContext context() {
        return context;
    }

    /** Whether a host is an IP address literal (never sent as SNI, RFC 6066 §3). */
    static boolean isIpLiteral(String host) {
        if (host.indexOf(':') >= 0) {
            return true;   // IPv6, bracketed or not
        }
        for (int i = 0; i < host.length(); i++) {
            char c = host.charAt(i);
            if (c != '.' && (c < '0' || c > '9')) {
                return false;
            }
        }
        return !host.isEmpty();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof UpstreamTls t && verify == t.verify && ca.equals(t.ca) && sni.equals(t.sni)
                && clientCert.equals(t.clientCert) && clientKey.equals(t.clientKey);
    }

    @Override
    public int hashCode() {
        return Objects.hash(verify, ca, sni, clientCert, clientKey);
    }

    @Override
    public String toString() {   // never the key
        return "UpstreamTls[verify=" + verify + ", ca=" + (ca.isEmpty() ? "default" : "custom")
                + ", sni=" + (sni.isEmpty() ? "host" : sni) + ", clientCert=" + !clientCert.isEmpty() + "]";
    }

    // ---- key and trust managers ----

    /**
     * After a handshake (done or failed): a note on the client certificate when the server asked for one, else
     * null. With TLS 1.3 the server checks the client's certificate after the client's side of the handshake is
     * done, so a refusal may show only on the first exchange; the note tells what to blame. Call once per socket.
     */
    String clientCertificateNote(SSLSocket socket) {
        if (!keys.asked.remove(socket)) {
            return null;
        }
        return clientCert.isEmpty() ? "the upstream asked for a client certificate and none is configured"
                : "the upstream asked for a client certificate; it may have refused it";
    }

    /**
     * The client's key manager: the configured identity (or none), presented even when the server's list of
     * acceptable issuers does not name its CA (as curl does: the server decides, and its error is clearer than an
     * absent certificate). It also notes in the handshake session that the server asked for a certificate.
     */
    private static final class ClientKeys extends X509ExtendedKeyManager {
        private final X509KeyManager delegate;
        /** Sockets whose server asked for a client certificate (weak: a socket nobody asks about goes away). */
        final Set<Socket> asked = Collections.synchronizedSet(Collections.newSetFromMap(new WeakHashMap<>()));

        ClientKeys(X509KeyManager delegate) {
            this.delegate = delegate;
        }

        @Override
        public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
            if (socket != null) {
                asked.add(socket);
            }
            if (delegate == null) {
                return null;
            }
            String alias = delegate.chooseClientAlias(keyTypes, issuers, socket);
            return alias != null ? alias : delegate.chooseClientAlias(keyTypes, null, socket);
        }

        @Override
        public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine engine) {
            return chooseClientAlias(keyTypes, issuers, null);
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return delegate == null ? null : delegate.getClientAliases(keyType, issuers);
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            return null;
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return null;
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            return delegate == null ? null : delegate.getCertificateChain(alias);
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            return delegate == null ? null : delegate.getPrivateKey(alias);
        }
    }

    /** {@code verify=false}: every chain is trusted (and no endpoint identification is asked for). */
    private static final class TrustAll extends X509ExtendedTrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
