package io.sluice.runtime.testing;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsExchange;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;

/** A test CA, certificates it signs (BouncyCastle), and real JDK HTTPS servers presenting them. */
public final class TestPki {
    private TestPki() {
    }

    /** A key pair and its certificate. */
    public record Identity(KeyPair keys, X509Certificate cert) {
        /** @return the certificate as PEM */
        public String certPem() {
            try {
                return pem("CERTIFICATE", cert.getEncoded());
            } catch (java.security.cert.CertificateEncodingException e) {
                throw new IllegalStateException(e);
            }
        }

        /** @return the private key as PKCS#8 PEM */
        public String keyPem() {
            return pem("PRIVATE KEY", keys.getPrivate().getEncoded());
        }
    }

    /** @return a self-signed CA */
    public static Identity ca(String cn) throws Exception {
        return issue(cn, key("EC"), null, true);
    }

    /**
     * A leaf certificate.
     *
     * @param issuer its CA (itself when null)
     * @param names  subject alternative names; {@code ip:} ones are addresses
     */
    public static Identity leaf(String cn, Identity issuer, String... names) throws Exception {
        return issue(cn, key("EC"), issuer, false, names);
    }

    /**
     * @param algorithm {@code EC} (P-256) or {@code RSA} (2048 bits)
     * @return a new key pair
     */
    public static KeyPair key(String algorithm) throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance(algorithm);
        g.initialize(algorithm.equals("EC") ? 256 : 2048);
        return g.generateKeyPair();
    }

    /**
     * A certificate for {@code keys}.
     *
     * @param issuer its CA (itself when null)
     * @param isCa   whether it may sign certificates
     * @param names  subject alternative names; {@code ip:} ones are addresses
     */
    public static Identity issue(String cn, KeyPair keys, Identity issuer, boolean isCa, String... names)
            throws Exception {
        X500Name subject = new X500Name("CN=" + cn);
        X500Name issuerName = issuer == null ? subject
                : X500Name.getInstance(issuer.cert().getSubjectX500Principal().getEncoded());
        PrivateKey signer = issuer == null ? keys.getPrivate() : issuer.keys().getPrivate();
        Instant now = Instant.now();
        JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuerName,
                new BigInteger(64, new SecureRandom()).add(BigInteger.ONE), Date.from(now.minusSeconds(3600)),
                Date.from(now.plus(Duration.ofDays(1))), subject, keys.getPublic());
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(isCa));
        if (isCa) {
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        }
        if (names.length > 0) {
            GeneralName[] san = new GeneralName[names.length];
            for (int i = 0; i < names.length; i++) {
                san[i] = names[i].startsWith("ip:") ? new GeneralName(GeneralName.iPAddress, names[i].substring(3))
                        : new GeneralName(GeneralName.dNSName, names[i]);
            }
            b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(san));
        }
        String algorithm = signer.getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
        X509Certificate cert = new JcaX509CertificateConverter()
                .getCertificate(b.build(new JcaContentSignerBuilder(algorithm).build(signer)));
        return new Identity(keys, cert);
    }

    /** PEM text of DER bytes. */
    public static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(der) + "\n-----END " + type + "-----\n";
    }

    /** A running HTTPS server on 127.0.0.1 answering {@code NAME client=<client certificate subject or none>}. */
    public static final class Https implements AutoCloseable {
        private final HttpsServer server;
        private final AtomicInteger requests = new AtomicInteger();

        private Https(HttpsServer server) {
            this.server = server;
        }

        /** @return its port */
        public int port() {
            return server.getAddress().getPort();
        }

        /** @return requests that reached the handler */
        public int requests() {
            return requests.get();
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }

    /**
     * @param name       answered first in the body
     * @param identity   the server's certificate and key
     * @param clientCa   the CA client certificates must chain to when {@code needClientAuth}
     * @param needClientAuth whether a client certificate is required (mutual TLS)
     */
    public static Https https(String name, Identity identity, Identity clientCa, boolean needClientAuth)
            throws Exception {
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry("server", identity.keys().getPrivate(), new char[0], new X509Certificate[] {identity.cert()});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, new char[0]);
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("ca", clientCa.cert());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        HttpsServer https = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        https.setHttpsConfigurator(new HttpsConfigurator(context) {
            @Override
            public void configure(HttpsParameters params) {
                SSLParameters p = context.getDefaultSSLParameters();
                p.setNeedClientAuth(needClientAuth);
                params.setSSLParameters(p);
            }
        });
        Https out = new Https(https);
        https.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        https.createContext("/", exchange -> {
            out.requests.incrementAndGet();
            exchange.getRequestBody().readAllBytes();
            String peer;
            try {
                peer = ((HttpsExchange) exchange).getSSLSession().getPeerPrincipal().getName();
            } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
                peer = "none";
            }
            byte[] body = (name + " client=" + peer).getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "text/plain");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        https.start();
        return out;
    }
}
