package io.sluice.runtime.upstream;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
 * <p>PEM is parsed with the JDK alone: certificates ({@code BEGIN CERTIFICATE}), and private keys as PKCS#8
 * ({@code BEGIN PRIVATE KEY}), PKCS#1 ({@code BEGIN RSA PRIVATE KEY}) or SEC1 ({@code BEGIN EC PRIVATE KEY});
 * encrypted keys are refused.
 */
public final class UpstreamTls {
    private static final Pattern BLOCK =
            Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \\1-----", Pattern.DOTALL);
    private static final Pattern WHITESPACE = Pattern.compile("\\s+");
    private static final String ALIAS = "client";
    // DER: OID rsaEncryption + NULL parameters, and OID id-ecPublicKey
    private static final byte[] RSA_ALGORITHM = {0x30, 0x0d, 0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86,
            (byte) 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};
    private static final byte[] EC_PUBLIC_KEY_OID = {0x06, 0x07, 0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 0x02,
            0x01};

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
            List<X509Certificate> trusted = ca.isEmpty() ? List.of() : certificates("ca", ca);
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
                List<X509Certificate> chain = certificates("client certificate", clientCert);
                PrivateKey key = privateKey(clientKey, chain.getFirst().getPublicKey());
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

    // ---- PEM ----

    private record Pem(String type, byte[] der) {
    }

    private static List<Pem> pem(String what, String text) {
        List<Pem> blocks = new ArrayList<>();
        Matcher m = BLOCK.matcher(text);
        while (m.find()) {
            String type = m.group(1);
            String body = m.group(2);
            if (body.indexOf(':') >= 0) {
                throw new IllegalArgumentException("upstream TLS " + what + ": the " + type
                        + " block has PEM headers (an encrypted key?); only unencrypted PEM is supported");
            }
            byte[] der;
            try {
                der = Base64.getDecoder().decode(WHITESPACE.matcher(body).replaceAll(""));
            } catch (IllegalArgumentException e) {
                der = new byte[0];
            }
            if (der.length == 0) {
                throw new IllegalArgumentException("upstream TLS " + what + ": the " + type
                        + " block is empty or not valid base64");
            }
            blocks.add(new Pem(type, der));
        }
        if (blocks.isEmpty()) {
            throw new IllegalArgumentException("upstream TLS " + what + " is not PEM (expected -----BEGIN "
                    + (what.endsWith("key") ? "PRIVATE KEY" : "CERTIFICATE") + "----- ... -----END ...-----)");
        }
        return blocks;
    }

    private static List<X509Certificate> certificates(String what, String text) {
        List<X509Certificate> certs = new ArrayList<>();
        CertificateFactory cf;
        try {
            cf = CertificateFactory.getInstance("X.509");
        } catch (CertificateException e) {
            throw new IllegalStateException(e);
        }
        for (Pem p : pem(what, text)) {
            if (!p.type().equals("CERTIFICATE")) {
                throw new IllegalArgumentException("upstream TLS " + what + ": unexpected PEM block '" + p.type()
                        + "' (expected CERTIFICATE)");
            }
            try {
                certs.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(p.der())));
            } catch (CertificateException e) {
                throw new IllegalArgumentException("upstream TLS " + what + ": certificate #" + (certs.size() + 1)
                        + " is not a valid X.509 certificate: " + e.getMessage(), e);
            }
        }
        return certs;
    }

    private static PrivateKey privateKey(String text, PublicKey certKey) {
        byte[] pkcs8 = null;
        for (Pem p : pem("client key", text)) {
            byte[] encoded = switch (p.type()) {
                case "PRIVATE KEY" -> p.der();
                case "RSA PRIVATE KEY" -> der(0x30, new byte[] {0x02, 0x01, 0x00}, RSA_ALGORITHM, der(0x04, p.der()));
                case "EC PRIVATE KEY" -> der(0x30, new byte[] {0x02, 0x01, 0x00},
                        der(0x30, EC_PUBLIC_KEY_OID, sec1Curve(p.der(), certKey)), der(0x04, p.der()));
                case "EC PARAMETERS" -> null;   // openssl ecparam -genkey writes it before the key
                case "ENCRYPTED PRIVATE KEY" -> throw new IllegalArgumentException(
                        "upstream TLS client key is encrypted; give it unencrypted (openssl pkcs8 -nocrypt)");
                default -> throw new IllegalArgumentException("upstream TLS client key: unexpected PEM block '"
                        + p.type() + "' (expected PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)");
            };
            if (encoded != null) {
                if (pkcs8 != null) {
                    throw new IllegalArgumentException("upstream TLS client key has more than one private key");
                }
                pkcs8 = encoded;
            }
        }
        if (pkcs8 == null) {
            throw new IllegalArgumentException("upstream TLS client key has no private key block");
        }
        Set<String> algorithms = new LinkedHashSet<>();
        algorithms.add(certKey.getAlgorithm());
        algorithms.addAll(List.of("RSA", "EC", "EdDSA", "RSASSA-PSS", "DSA"));
        PrivateKey key = null;
        for (String algorithm : algorithms) {
            try {
                key = KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
                break;
            } catch (GeneralSecurityException | RuntimeException e) {
                // try the next algorithm
            }
        }
        if (key == null) {
            throw new IllegalArgumentException("upstream TLS client key is not a readable private key");
        }
        if (!matches(key, certKey)) {
            throw new IllegalArgumentException("upstream TLS client key does not match the client certificate");
        }
        return key;
    }

    /** Whether the key signs what the certificate's public key verifies (unknown algorithms pass). */
    private static boolean matches(PrivateKey key, PublicKey certKey) {
        String algorithm = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "EdDSA", "Ed25519", "Ed448" -> "EdDSA";
            default -> null;
        };
        if (algorithm == null) {
            return true;
        }
        try {
            byte[] probe = "sluice".getBytes(StandardCharsets.US_ASCII);
            Signature s = Signature.getInstance(algorithm);
            s.initSign(key);
            s.update(probe);
            byte[] sig = s.sign();
            Signature v = Signature.getInstance(algorithm);
            v.initVerify(certKey);
            v.update(probe);
            return v.verify(sig);
        } catch (GeneralSecurityException | RuntimeException e) {
            return false;
        }
    }

    /**
     * The named-curve OID (its whole TLV) from a SEC1 ECPrivateKey's {@code [0] parameters}, or when it has none
     * (they are optional) the curve of the certificate's key.
     */
    private static byte[] sec1Curve(byte[] sec1, PublicKey certKey) {
        try {
            int[] seq = tlv(sec1, 0);
            if (sec1[0] != 0x30) {
                throw new IllegalArgumentException();
            }
            int at = seq[0];
            while (at < seq[1]) {
                int[] field = tlv(sec1, at);
                if ((sec1[at] & 0xff) == 0xa0) {
                    if (sec1[field[0]] != 0x06) {
                        break;   // explicit curve parameters: not supported
                    }
                    int[] oid = tlv(sec1, field[0]);
                    return java.util.Arrays.copyOfRange(sec1, field[0], oid[1]);
                }
                at = field[1];
            }
        } catch (IllegalArgumentException | ArrayIndexOutOfBoundsException e) {
            throw new IllegalArgumentException("upstream TLS client key: the EC PRIVATE KEY block is malformed", e);
        }
        if (certKey instanceof ECPublicKey ec) {
            try {
                AlgorithmParameters curve = AlgorithmParameters.getInstance("EC");
                curve.init(ec.getParams());
                byte[] oid = curve.getEncoded();
                if (oid.length > 0 && oid[0] == 0x06) {
                    return oid;
                }
            } catch (GeneralSecurityException | java.io.IOException e) {
                // fall through
            }
        }
        throw new IllegalArgumentException("upstream TLS client key: the EC PRIVATE KEY has no named curve; "
                + "convert it to PKCS#8 (openssl pkcs8 -topk8 -nocrypt)");
    }

    /** A DER TLV at {@code at}: {start of content, end of content}. */
    private static int[] tlv(byte[] b, int at) {
        int i = at + 1;
        int len = b[i++] & 0xff;
        if (len > 0x7f) {
            int n = len & 0x7f;
            if (n == 0 || n > 3) {
                throw new IllegalArgumentException("bad DER length");
            }
            len = 0;
            for (int k = 0; k < n; k++) {
                len = (len << 8) | (b[i++] & 0xff);
            }
        }
        if (i + len > b.length) {
            throw new IllegalArgumentException("truncated DER");
        }
        return new int[] {i, i + len};
    }

    private static byte[] der(int tag, byte[]... parts) {
        ByteArrayOutputStream content = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            content.writeBytes(p);
        }
        int len = content.size();
        ByteArrayOutputStream out = new ByteArrayOutputStream(len + 6);
        out.write(tag);
        if (len < 0x80) {
            out.write(len);
        } else if (len < 0x100) {
            out.write(0x81);
            out.write(len);
        } else if (len < 0x10000) {
            out.write(0x82);
            out.write(len >> 8);
            out.write(len);
        } else {
            out.write(0x83);
            out.write(len >> 16);
            out.write(len >> 8);
            out.write(len);
        }
        out.writeBytes(content.toByteArray());
        return out.toByteArray();
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
