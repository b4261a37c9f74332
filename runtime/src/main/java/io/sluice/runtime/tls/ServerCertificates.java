package io.sluice.runtime.tls;

import io.sluice.registry.config.GatewayConfig.CertificateSpec;
import io.sluice.registry.config.Pem;

import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;
import javax.net.ssl.ExtendedSSLSession;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The TLS listener's certificates, chosen per handshake by the client's SNI: an exact name first, then a wildcard
 * ({@code *.example.com} matches one label: {@code a.example.com}, not {@code example.com} nor
 * {@code a.b.example.com}), then the default certificate from {@code --tls-cert}/{@code --tls-key}. A handshake
 * nothing matches fails ({@code unrecognized_name}).
 *
 * <p>It is the {@link javax.net.ssl.KeyManager} of the listener's one {@link SSLContext}: {@link #update} swaps the
 * table a new handshake reads, so a replaced certificate serves new handshakes at once and open connections keep
 * theirs. Aliases carry a generation, and the previous table stays readable, so a handshake that chose an alias
 * just before a swap still finds its key.
 *
 * <p>The listener asks every client for a certificate and accepts any at the handshake (a route with
 * {@code tls.client_ca} checks the chain against its own CAs, see {@link ClientCertificates}); a client without one
 * proceeds.
 */
public final class ServerCertificates extends X509ExtendedKeyManager {
    private static final Logger LOG = Logger.getLogger(ServerCertificates.class.getName());
    /** A certificate this close to its expiry is logged when it is loaded. */
    public static final Duration EXPIRY_WARNING = Duration.ofDays(14);
    /** TLS 1.3 and 1.2 only. */
    public static final List<String> PROTOCOLS = List.of("TLSv1.3", "TLSv1.2");
    /** AEAD suites with forward secrecy only (Mozilla's "intermediate" list, in its order). */
    public static final List<String> CIPHER_SUITES = List.of(
            "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");

    /** One servable certificate. */
    public record Entry(String alias, String id, X509Certificate[] chain, PrivateKey key) {
        /** @return when the leaf expires */
        public Instant notAfter() {
            return chain[0].getNotAfter().toInstant();
        }
    }

    private record Table(Map<String, Entry> exact, Map<String, Entry> wildcard, Entry fallback) {
    }

    private final AtomicLong generation = new AtomicLong();
    private volatile Table table = new Table(Map.of(), Map.of(), null);
    private volatile Entry fallback;
    /** Entries by alias: the current table's and the previous one's. */
    private volatile Map<String, Entry> aliases = Map.of();
    private volatile Map<String, Entry> previousAliases = Map.of();
    private final Map<String, Instant> expiries = new ConcurrentHashMap<>();

    /**
     * Sets the default certificate (served when no SNI matches, and to clients that send none).
     *
     * @param certPem PEM chain, leaf first
     * @param keyPem  PEM key of the leaf
     * @throws IllegalArgumentException unreadable PEM or a key that does not match
     */
    public synchronized void defaultCertificate(String certPem, String keyPem) {
        List<X509Certificate> chain = Pem.certificates("--tls-cert", certPem);
        PrivateKey key = Pem.privateKey("--tls-key", keyPem, "--tls-cert certificate", chain.getFirst().getPublicKey());
        fallback = new Entry("default@" + generation.incrementAndGet(), "default", chain.toArray(X509Certificate[]::new),
                key);
        warnIfExpiring(fallback);
        rebuild(table.exact, table.wildcard);
    }

    /**
     * Reads the default certificate from files.
     *
     * @param cert PEM chain file
     * @param key  PEM key file
     * @throws IllegalArgumentException unreadable files or PEM
     */
    public void defaultCertificate(Path cert, Path key) {
        try {
            defaultCertificate(Files.readString(cert), Files.readString(key));
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("cannot read " + e.getMessage(), e);
        }
    }

    /**
     * Serves these certificates from the next handshake on.
     *
     * @param specs the config's certificates (validated)
     */
    public synchronized void update(List<CertificateSpec> specs) {
        long gen = generation.incrementAndGet();
        Map<String, Entry> exact = new HashMap<>();
        Map<String, Entry> wildcard = new HashMap<>();
        for (CertificateSpec c : specs) {
            Entry e = new Entry(c.id() + "@" + gen, c.id(), c.chain().toArray(X509Certificate[]::new), c.privateKey());
            for (String sni : c.snis()) {
                if (sni.startsWith("*.")) {
                    wildcard.put(sni.substring(2), e);
                } else {
                    exact.put(sni, e);
                }
            }
            if (!e.notAfter().equals(expiries.get(c.id()))) {
                warnIfExpiring(e);
            }
        }
        expiries.keySet().removeIf(id -> specs.stream().noneMatch(c -> c.id().equals(id)));
        specs.forEach(c -> expiries.put(c.id(), c.chain().getFirst().getNotAfter().toInstant()));
        rebuild(exact, wildcard);
    }

    private void rebuild(Map<String, Entry> exact, Map<String, Entry> wildcard) {
        Map<String, Entry> byAlias = new HashMap<>();
        exact.values().forEach(e -> byAlias.put(e.alias(), e));
        wildcard.values().forEach(e -> byAlias.put(e.alias(), e));
        Entry f = fallback;
        if (f != null) {
            byAlias.put(f.alias(), f);
            expiries.put("default", f.notAfter());
        }
        previousAliases = aliases;
        aliases = Map.copyOf(byAlias);
        table = new Table(Map.copyOf(exact), Map.copyOf(wildcard), f);
    }

    private static void warnIfExpiring(Entry e) {
        Instant notAfter = e.notAfter();
        Duration left = Duration.between(Instant.now(), notAfter);
        if (left.compareTo(EXPIRY_WARNING) < 0) {
            LOG.warning("TLS certificate '" + e.id() + "' (" + e.chain()[0].getSubjectX500Principal().getName()
                    + ") " + (left.isNegative() ? "expired on " : "expires on ") + notAfter
                    + (left.isNegative() ? "" : ", in " + left.toDays() + " days") + ": replace it");
        }
    }

    /**
     * @return each certificate's expiry (the default one as {@code default}), for {@code /metrics}
     */
    public Map<String, Instant> expiries() {
        return Map.copyOf(expiries);
    }

    /** @return whether any certificate can be served (a TLS listener without one fails every handshake) */
    public boolean any() {
        Table t = table;
        return t.fallback != null || !t.exact.isEmpty() || !t.wildcard.isEmpty();
    }

    /**
     * The certificate a handshake for this server name gets.
     *
     * @param sni the client's SNI (lower case), or null
     * @return the entry, or null when none matches
     */
    public Entry select(String sni) {
        Table t = table;
        if (sni != null) {
            Entry e = t.exact.get(sni);
            if (e != null) {
                return e;
            }
            int dot = sni.indexOf('.');
            if (dot > 0) {
                e = t.wildcard.get(sni.substring(dot + 1));
                if (e != null) {
                    return e;
                }
            }
        }
        return t.fallback;
    }

    /**
     * The listener's TLS context: this key manager, a trust manager that takes any client certificate (routes
     * check them), TLS 1.2/1.3 and {@link #CIPHER_SUITES}.
     *
     * @return the context
     */
    public SSLContext context() {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(new KeyManager[] {this}, new TrustManager[] {new AnyClient()}, null);
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("TLS is not available in this JDK", e);
        }
    }

    /**
     * @param askClientCertificate ask clients for a certificate (the proxy's TLS listener; not the admin's)
     * @return a listener's parameters: protocols and suites (server order)
     */
    public static SSLParameters parameters(boolean askClientCertificate) {
        SSLParameters p = new SSLParameters();
        p.setProtocols(PROTOCOLS.toArray(String[]::new));
        p.setCipherSuites(CIPHER_SUITES.toArray(String[]::new));
        p.setUseCipherSuitesOrder(true);
        p.setWantClientAuth(askClientCertificate);
        return p;
    }

    // ---- X509ExtendedKeyManager ----

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        return socket instanceof SSLSocket s ? alias(keyType, s.getHandshakeSession()) : null;
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        return engine == null ? null : alias(keyType, engine.getHandshakeSession());
    }

    private String alias(String keyType, SSLSession session) {
        Entry e = select(sni(session));
        if (e == null) {
            return null;
        }
        String algorithm = e.key().getAlgorithm();
        boolean fits = keyType.equals(algorithm) || algorithm.equals("EC") && keyType.startsWith("EC");
        return fits ? e.alias() : null;
    }

    private static String sni(SSLSession session) {
        if (session instanceof ExtendedSSLSession ext) {
            for (SNIServerName n : ext.getRequestedServerNames()) {
                if (n instanceof SNIHostName host) {
                    return host.getAsciiName().toLowerCase(Locale.ROOT);
                }
            }
        }
        return null;
    }

    private Entry entry(String alias) {
        Entry e = aliases.get(alias);
        return e != null ? e : previousAliases.get(alias);
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
        Entry e = entry(alias);
        return e == null ? null : e.chain().clone();
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
        Entry e = entry(alias);
        return e == null ? null : e.key();
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
        return aliases.keySet().toArray(String[]::new);
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
        return null;
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
        return null;
    }

    /** Takes any client certificate at the handshake; a route that wants one checks it ({@link ClientCertificates}). */
    private static final class AnyClient extends X509ExtendedTrustManager {
        private static final X509Certificate[] NONE = new X509Certificate[0];

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws java.security.cert.CertificateException {
            throw new java.security.cert.CertificateException("a server context");
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws java.security.cert.CertificateException {
            throw new java.security.cert.CertificateException("a server context");
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType)
                throws java.security.cert.CertificateException {
            throw new java.security.cert.CertificateException("a server context");
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return NONE;
        }
    }
}
