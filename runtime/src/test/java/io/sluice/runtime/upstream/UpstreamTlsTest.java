package io.sluice.runtime.upstream;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsExchange;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import io.sluice.plugin.Headers;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import io.sluice.runtime.testing.TestPki;
import io.sluice.runtime.testing.TestPki.Identity;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** HTTPS upstreams against real JDK HTTPS servers, with a CA and certificates made here. */
class UpstreamTlsTest {
    private static Identity ca;
    private static Identity otherCa;
    private static Identity server;          // signed by ca: localhost, 127.0.0.1
    private static Identity selfSigned;      // localhost, 127.0.0.1, signed by itself
    private static Identity otherName;       // signed by ca: other.example only
    private static Identity clientEc;        // signed by ca, for mTLS
    private static Identity clientRsa;       // signed by ca, for mTLS
    private static final List<HttpsServer> SERVERS = new ArrayList<>();

    /** SEC1 with the curve in its parameters field, as OpenSSL writes it. */
    private static String sec1WithCurve(Identity id) throws Exception {
        java.security.interfaces.ECPrivateKey k = (java.security.interfaces.ECPrivateKey) id.keys().getPrivate();
        return TestPki.pem("EC PRIVATE KEY",
                new org.bouncycastle.asn1.sec.ECPrivateKey(256, k.getS(), SECObjectIdentifiers.secp256r1).getEncoded());
    }

    /** PKCS#1 for RSA, SEC1 for EC (BouncyCastle's "traditional" OpenSSL formats). */
    private static String traditionalPem(Identity id) throws Exception {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(out)) {
            w.writeObject(id.keys().getPrivate());
        }
        return out.toString();
    }

    @BeforeAll
    static void certificates() throws Exception {
        ca = TestPki.issue("Test CA", TestPki.key("EC"), null, true);
        otherCa = TestPki.issue("Other CA", TestPki.key("EC"), null, true);
        server = TestPki.issue("localhost", TestPki.key("EC"), ca, false, "localhost", "ip:127.0.0.1");
        selfSigned = TestPki.issue("localhost", TestPki.key("EC"), null, false, "localhost", "ip:127.0.0.1");
        otherName = TestPki.issue("other.example", TestPki.key("EC"), ca, false, "other.example");
        clientEc = TestPki.issue("client-ec", TestPki.key("EC"), ca, false);
        clientRsa = TestPki.issue("client-rsa", TestPki.key("RSA"), ca, false);
    }

    @AfterAll
    static void stopServers() {
        SERVERS.forEach(s -> s.stop(0));
    }

    @Test
    void aServerSignedByTheConfiguredCaIsVerified() throws Exception {
        int port = serve(server, false);
        UpstreamTls tls = UpstreamTls.of(true, ca.certPem(), "", "", "");
        try (UpstreamClient client = new UpstreamClient()) {
            // checked against the IP address SAN (no SNI for an address)
            assertEquals("hello host=127.0.0.1:" + port + " client=none", get(client.pool("127.0.0.1", port, tls)));
            // checked against the DNS SAN, sent as SNI
            UpstreamTls bySni = UpstreamTls.of(true, ca.certPem(), "localhost", "", "");
            assertEquals("hello host=127.0.0.1:" + port + " client=none", get(client.pool("127.0.0.1", port, bySni)));
        }
    }

    @Test
    void anUnknownCaIsRefusedBeforeAnythingIsSent() throws Exception {
        AtomicInteger requests = new AtomicInteger();
        int selfSignedPort = serve(selfSigned, false, requests);
        int otherCaPort = serve(TestPki.issue("localhost", TestPki.key("EC"), otherCa, false, "ip:127.0.0.1"), false, requests);
        try (UpstreamClient client = new UpstreamClient()) {
            UpstreamException e = refused(client.pool("127.0.0.1", selfSignedPort, UpstreamTls.defaults()));
            assertTrue(e.getMessage().startsWith("TLS handshake with 127.0.0.1:" + selfSignedPort + " failed: "),
                    e.getMessage());
            // trusting our CA does not trust another one
            refused(client.pool("127.0.0.1", otherCaPort, UpstreamTls.of(true, ca.certPem(), "", "", "")));
            assertEquals(0, requests.get());
            ConnectionPool pool = client.pool("127.0.0.1", selfSignedPort, UpstreamTls.defaults());
            assertEquals(0, pool.active());
            assertEquals(0, pool.openedCount(), "a failed handshake is not an opened connection");
        }
    }

    @Test
    void aCertificateForAnotherNameIsRefused() throws Exception {
        int otherPort = serve(otherName, false);
        int serverPort = serve(server, false);
        try (UpstreamClient client = new UpstreamClient()) {
            UpstreamException e = refused(client.pool("127.0.0.1", otherPort, UpstreamTls.of(true, ca.certPem(), "", "", "")));
            assertTrue(e.getMessage().contains("127.0.0.1"), e.getMessage());
            // the configured name is what is checked, not the host as a fallback
            refused(client.pool("127.0.0.1", serverPort, UpstreamTls.of(true, ca.certPem(), "other.example", "", "")));
            // and when it names the certificate's host, the same server is accepted
            assertEquals("hello host=127.0.0.1:" + otherPort + " client=none",
                    get(client.pool("127.0.0.1", otherPort, UpstreamTls.of(true, ca.certPem(), "other.example", "", ""))));
        }
    }

    @Test
    void verifyOffAcceptsAnUnknownCaAndAnotherName() throws Exception {
        int selfSignedPort = serve(selfSigned, false);
        int otherPort = serve(otherName, false);
        UpstreamTls insecure = UpstreamTls.of(false, "", "", "", "");
        try (UpstreamClient client = new UpstreamClient()) {
            assertEquals("hello host=127.0.0.1:" + selfSignedPort + " client=none",
                    get(client.pool("127.0.0.1", selfSignedPort, insecure)));
            assertEquals("hello host=127.0.0.1:" + otherPort + " client=none",
                    get(client.pool("127.0.0.1", otherPort, insecure)));
        }
    }

    @Test
    void mutualTlsNeedsTheClientCertificate() throws Exception {
        int port = serve(server, true);
        try (UpstreamClient client = new UpstreamClient()) {
            UpstreamException e = refusedMaybeSent(client.pool("127.0.0.1", port, UpstreamTls.of(true, ca.certPem(), "", "", "")));
            assertTrue(e.getMessage().startsWith("TLS handshake with 127.0.0.1:" + port + " failed: "), e.getMessage());
            assertTrue(e.getMessage().endsWith("(the upstream asked for a client certificate and none is configured)"),
                    e.getMessage());
            // a certificate from a CA the server does not trust
            Identity stranger = TestPki.issue("stranger", TestPki.key("EC"), otherCa, false);
            e = refusedMaybeSent(client.pool("127.0.0.1", port,
                    UpstreamTls.of(true, ca.certPem(), "", stranger.certPem(), stranger.keyPem())));
            assertTrue(e.getMessage().endsWith("(the upstream asked for a client certificate; it may have refused it)"),
                    e.getMessage());

            // the key as PKCS#8, SEC1 (EC PRIVATE KEY) and PKCS#1 (RSA PRIVATE KEY)
            UpstreamTls pkcs8 = UpstreamTls.of(true, ca.certPem(), "", clientEc.certPem(), clientEc.keyPem());
            assertEquals("hello host=127.0.0.1:" + port + " client=CN=client-ec", get(client.pool("127.0.0.1", port, pkcs8)));
            String sec1 = traditionalPem(clientEc);
            assertTrue(sec1.contains("BEGIN EC PRIVATE KEY"), sec1);
            UpstreamTls ec = UpstreamTls.of(true, ca.certPem(), "", clientEc.certPem(), sec1);
            assertEquals("hello host=127.0.0.1:" + port + " client=CN=client-ec", get(client.pool("127.0.0.1", port, ec)));
            // as openssl ecparam -genkey writes it: the curve inside the key, an EC PARAMETERS block before it
            String openssl = TestPki.pem("EC PARAMETERS", SECObjectIdentifiers.secp256r1.getEncoded()) + sec1WithCurve(clientEc);
            UpstreamTls ecWithCurve = UpstreamTls.of(true, ca.certPem(), "", clientEc.certPem(), openssl);
            assertEquals("hello host=127.0.0.1:" + port + " client=CN=client-ec",
                    get(client.pool("127.0.0.1", port, ecWithCurve)));
            String pkcs1 = traditionalPem(clientRsa);
            assertTrue(pkcs1.contains("BEGIN RSA PRIVATE KEY"), pkcs1);
            UpstreamTls rsa = UpstreamTls.of(true, ca.certPem(), "", clientRsa.certPem() + ca.certPem(), pkcs1);
            assertEquals("hello host=127.0.0.1:" + port + " client=CN=client-rsa", get(client.pool("127.0.0.1", port, rsa)));
        }
    }

    @Test
    void connectionsAreReused() throws Exception {
        int port = serve(server, false);
        try (UpstreamClient client = new UpstreamClient()) {
            ConnectionPool pool = client.pool("127.0.0.1", port, UpstreamTls.of(true, ca.certPem(), "", "", ""));
            for (int i = 0; i < 5; i++) {
                get(pool);
            }
            assertEquals(1, pool.openedCount());
            assertEquals(1, pool.idleCount());
            Thread.sleep(2_200);   // past the idle probe: the probe reads the TLS socket and keeps it
            get(pool);
            assertEquals(1, pool.openedCount());
            assertSame(pool, client.pool("127.0.0.1", port, UpstreamTls.of(true, ca.certPem(), "", "", "")));
        }
    }

    @Test
    void aHandshakeThatStallsTimesOutWithinTheConnectTimeout() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
             UpstreamClient client = new UpstreamClient()) {
            ConnectionPool pool = client.pool("127.0.0.1", silent.getLocalPort(), UpstreamTls.of(false, "", "", "", ""));
            long start = System.nanoTime();
            UpstreamException e = assertThrows(UpstreamException.class, () -> pool.send(request(), 300, 5_000));
            long ms = Duration.ofNanos(System.nanoTime() - start).toMillis();
            assertEquals(UpstreamException.Kind.TIMEOUT, e.kind());
            assertFalse(e.sent());
            assertTrue(e.getMessage().contains("TLS handshake with 127.0.0.1:" + silent.getLocalPort() + " timed out"),
                    e.getMessage());
            assertTrue(ms >= 250 && ms < 3_000, ms + " ms");
        }
    }

    @Test
    void theDefaultHttpsPortIsLeftOutOfTheAuthorityAndPoolsAreKeyedByTheOptions() {
        UpstreamTls tls = UpstreamTls.of(true, ca.certPem(), "", "", "");
        try (UpstreamClient client = new UpstreamClient()) {
            assertEquals("example.com", client.pool("example.com", 443, tls).authority());
            assertEquals("example.com:8443", client.pool("example.com", 8443, tls).authority());
            assertEquals("example.com:80", client.pool("example.com", 80, tls).authority());
            assertEquals("example.com:443", client.pool("example.com", 443).authority());
            assertEquals("example.com", client.pool("example.com", 80).authority());

            UpstreamTls same = UpstreamTls.of(true, ca.certPem() + "\n", null, null, null);
            assertEquals(tls, same);
            assertEquals(tls.hashCode(), same.hashCode());
            assertSame(client.pool("example.com", 443, tls), client.pool("example.com", 443, same));
            UpstreamTls insecure = UpstreamTls.of(false, ca.certPem(), "", "", "");
            assertNotEquals(tls, insecure);
            assertNotSame(client.pool("example.com", 443, tls), client.pool("example.com", 443, insecure));
            assertNotSame(client.pool("example.com", 443, tls), client.pool("example.com", 443));
            assertNotEquals(tls, UpstreamTls.of(true, ca.certPem(), "api.example", "", ""));
        }
    }

    @Test
    void badPemIsRefusedWithAClearMessage() throws Exception {
        assertEquals("upstream TLS ca is not PEM (expected -----BEGIN CERTIFICATE----- ... -----END ...-----)",
                bad(() -> UpstreamTls.of(true, "just some text", "", "", "")));
        assertTrue(bad(() -> UpstreamTls.of(true, TestPki.pem("CERTIFICATE", new byte[] {1, 2, 3}), "", "", ""))
                .startsWith("upstream TLS ca: certificate #1 is not a valid X.509 certificate"));
        assertEquals("upstream TLS ca: the CERTIFICATE block is empty or not valid base64",
                bad(() -> UpstreamTls.of(true, "-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----", "", "", "")));
        assertEquals("upstream TLS ca: unexpected PEM block 'PRIVATE KEY' (expected CERTIFICATE)",
                bad(() -> UpstreamTls.of(true, clientEc.keyPem(), "", "", "")));
        assertEquals("upstream TLS client certificate given without its private key",
                bad(() -> UpstreamTls.of(true, "", "", clientEc.certPem(), "")));
        assertEquals("upstream TLS client key does not match the client certificate",
                bad(() -> UpstreamTls.of(true, "", "", clientEc.certPem(), server.keyPem())));
        // the curve comes from the key's own parameters, not from the (RSA) certificate
        assertEquals("upstream TLS client key does not match the client certificate",
                bad(() -> UpstreamTls.of(true, "", "", clientRsa.certPem(), sec1WithCurve(clientEc))));
        assertEquals("upstream TLS client key: the EC PRIVATE KEY has no named curve; convert it to PKCS#8 "
                        + "(openssl pkcs8 -topk8 -nocrypt)",
                bad(() -> UpstreamTls.of(true, "", "", clientRsa.certPem(), traditionalPem(clientEc))));
        assertEquals("upstream TLS client key is not a readable private key",
                bad(() -> UpstreamTls.of(true, "", "", clientEc.certPem(), TestPki.pem("PRIVATE KEY", new byte[] {0x30, 0}))));
        assertEquals("upstream TLS client key is encrypted; give it unencrypted (openssl pkcs8 -nocrypt)",
                bad(() -> UpstreamTls.of(true, "", "", clientEc.certPem(), TestPki.pem("ENCRYPTED PRIVATE KEY", new byte[] {1}))));
        assertTrue(bad(() -> UpstreamTls.of(true, "", "", clientEc.certPem(),
                "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n"
                        + "-----END RSA PRIVATE KEY-----")).contains("only unencrypted PEM is supported"));
        assertEquals("upstream TLS sni 'not a name' is not a valid host name",
                bad(() -> UpstreamTls.of(true, "", "not a name", "", "")));
    }

    // ---- helpers ----

    private static String bad(org.junit.jupiter.api.function.Executable call) {
        return assertThrows(IllegalArgumentException.class, call).getMessage();
    }

    private static UpstreamRequest request() {
        return new UpstreamRequest("GET", "/", new Headers(), RequestBody.NONE);
    }

    private static String get(ConnectionPool pool) throws Exception {
        UpstreamResponse r = pool.send(request(), 2_000, 5_000);
        assertEquals(200, r.status());
        return new String(r.readBody(1024), StandardCharsets.UTF_8);
    }

    /** A refused handshake: UNAVAILABLE, not sent, said to be TLS. */
    private static UpstreamException refused(ConnectionPool pool) {
        UpstreamException e = refusedMaybeSent(pool);
        assertFalse(e.sent(), e.getMessage());
        return e;
    }

    /**
     * A client certificate refused under TLS 1.3: the server says so after the client's side of the handshake,
     * so the refusal meets the request (as an alert, or a broken pipe when the server closed first, which does not
     * prove the request unsent).
     */
    private static UpstreamException refusedMaybeSent(ConnectionPool pool) {
        UpstreamException e = assertThrows(UpstreamException.class, () -> pool.send(request(), 2_000, 5_000));
        assertEquals(UpstreamException.Kind.UNAVAILABLE, e.kind(), e.getMessage());
        assertTrue(e.getMessage().startsWith("TLS handshake with "), e.getMessage());
        return e;
    }

    private static int serve(Identity id, boolean needClientAuth) throws Exception {
        return serve(id, needClientAuth, new AtomicInteger());
    }

    /** An HTTPS server on 127.0.0.1 that answers "hello host=&lt;Host&gt; client=&lt;client cert subject&gt;". */
    private static int serve(Identity id, boolean needClientAuth, AtomicInteger requests) throws Exception {
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry("server", id.keys().getPrivate(), new char[0], new X509Certificate[] {id.cert()});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, new char[0]);
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("ca", ca.cert());
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
        https.createContext("/", exchange -> {
            requests.incrementAndGet();
            String peer;
            try {
                peer = ((HttpsExchange) exchange).getSSLSession().getPeerPrincipal().getName();
            } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
                peer = "none";
            }
            byte[] body = ("hello host=" + exchange.getRequestHeaders().getFirst("Host") + " client=" + peer)
                    .getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        https.start();
        SERVERS.add(https);
        return https.getAddress().getPort();
    }
}
