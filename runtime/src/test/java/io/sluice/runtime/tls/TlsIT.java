package io.sluice.runtime.tls;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.runtime.Node;
import io.sluice.runtime.SluiceServer;
import io.sluice.runtime.testing.AdminClient;
import io.sluice.runtime.testing.AdminClient.Resp;
import io.sluice.runtime.testing.EchoUpstream;
import io.sluice.runtime.testing.TestPki;
import io.sluice.runtime.testing.TestPki.Identity;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * TLS termination on a standalone node: certificates managed through the admin API and chosen by SNI, a default
 * certificate from files, a hot swap under load, mTLS per route, HTTPS redirects, HTTP/2 by ALPN. Every handshake
 * is real, against a CA the test makes.
 */
class TlsIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    Node node;
    AdminClient admin;
    EchoUpstream upstream;
    Identity ca;
    Identity fallback;

    @BeforeEach
    void start() throws Exception {
        ca = TestPki.ca("Test Root");
        fallback = TestPki.leaf("default.test", ca, "default.test", "ip:127.0.0.1");
        Path cert = Files.writeString(dir.resolve("default.pem"), fallback.certPem());
        Path key = Files.writeString(dir.resolve("default.key"), fallback.keyPem());
        upstream = EchoUpstream.start("app");
        node = Node.start(new Node.Options("standalone", dir.resolve("data"),
                new SluiceServer.Listeners("127.0.0.1", 0, "127.0.0.1", 0, true,
                        new SluiceServer.TlsOptions(0, Optional.of(cert), Optional.of(key), Optional.empty(),
                                Optional.empty())),
                Optional.empty(), Optional.empty(), Optional.empty(), Duration.ofSeconds(5)));
        admin = new AdminClient(node.server().adminPort(), node.generatedToken().orElseThrow());
        route("app", "/app/**", "{}");
    }

    @AfterEach
    void stop() {
        node.close();
        upstream.close();
    }

    private int tlsPort() {
        return node.server().tlsPort();
    }

    private void route(String id, String path, String tls) {
        Resp r = admin.put("/v1/routes/" + id, """
                {"paths": ["%s"], "upstream": {"targets": [{"url": "%s"}]}, "tls": %s}"""
                .formatted(path, upstream.url(), tls));
        assertTrue(r.status() == 200 || r.status() == 201, r.toString());
    }

    private Resp putCertificate(String id, Identity leaf, String... snis) throws Exception {
        ObjectNode body = JSON.createObjectNode().put("cert", leaf.certPem()).put("key", leaf.keyPem());
        var arr = body.putArray("snis");
        for (String s : snis) {
            arr.add(s);
        }
        return admin.put("/v1/certificates/" + id, body.toString());
    }

    private SSLContext trusting(Identity clientIdentity) throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("ca", ca.cert());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        KeyManagerFactory kmf = null;
        if (clientIdentity != null) {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("me", clientIdentity.keys().getPrivate(), new char[0],
                    new X509Certificate[] {clientIdentity.cert()});
            kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, new char[0]);
        }
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        return ctx;
    }

    /** A TLS connection to the gateway sending {@code sni} (none when null). */
    private SSLSocket connect(String sni, SSLContext ctx) throws IOException {
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", tlsPort());
        s.setSoTimeout(10_000);
        SSLParameters p = s.getSSLParameters();
        if (sni != null) {
            p.setServerNames(List.of(new SNIHostName(sni)));
        }
        s.setSSLParameters(p);
        s.startHandshake();
        return s;
    }

    /** The CN of the certificate the gateway presents for this SNI. */
    private String servedFor(String sni) throws Exception {
        try (SSLSocket s = connect(sni, trusting(null))) {
            return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSubjectX500Principal().getName();
        }
    }

    /** One HTTP/1.1 request on an open TLS connection; returns the status line and headers and body. */
    private static String request(SSLSocket s, String path, String host, String... extraHeaders) throws IOException {
        StringBuilder req = new StringBuilder("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n");
        for (String h : extraHeaders) {
            req.append(h).append("\r\n");
        }
        OutputStream out = s.getOutputStream();
        out.write(req.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
        InputStream in = s.getInputStream();
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("closed after " + head);
            }
            head.append((char) b);
        }
        int length = 0;
        for (String line : head.toString().split("\r\n")) {
            if (line.toLowerCase().startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(15).strip());
            }
        }
        return head + new String(in.readNBytes(length), StandardCharsets.UTF_8);
    }

    @Test
    void sniPicksTheCertificateAndAWildcardMatchesOneLabel() throws Exception {
        Identity api = TestPki.leaf("api.example.test", ca, "api.example.test");
        Identity wild = TestPki.leaf("wild.example.test", ca, "*.example.test");
        assertEquals(201, putCertificate("api", api, "api.example.test").status());
        assertEquals(201, putCertificate("wild", wild, "*.example.test").status());

        assertEquals("CN=api.example.test", servedFor("api.example.test"), "the exact name wins over the wildcard");
        assertEquals("CN=wild.example.test", servedFor("www.example.test"));
        assertEquals("CN=wild.example.test", servedFor("WWW.Example.TEST"), "names are case-insensitive");
        assertEquals("CN=default.test", servedFor("a.b.example.test"), "a wildcard covers one label only");
        assertEquals("CN=default.test", servedFor("example.test"), "nor the bare domain");
        assertEquals("CN=default.test", servedFor(null), "no SNI: the default certificate");

        // requests go through the same request path, and the upstream learns the scheme
        try (SSLSocket s = connect("api.example.test", trusting(null))) {
            String resp = request(s, "/app/x", "api.example.test");
            assertTrue(resp.startsWith("HTTP/1.1 200"), resp);
            assertEquals("https", upstream.last().header("X-Forwarded-Proto"));
            assertTrue(request(s, "/app/again", "api.example.test").startsWith("HTTP/1.1 200"), "keep-alive");
        }
        // metrics show expiries; reads never show keys
        String metrics = node.server().gateway() == null ? "" : scrape();
        assertTrue(metrics.contains("sluice_tls_certificate_expiry_seconds{certificate=\"api\"}"), metrics);
        assertTrue(metrics.contains("sluice_tls_certificate_expiry_seconds{certificate=\"default\"}"), metrics);
        Resp read = admin.get("/v1/certificates/api");
        assertEquals(200, read.status());
        assertEquals("<redacted>", read.json().path("key").asText());
        assertEquals(api.certPem(), read.json().path("cert").asText());
        for (String path : List.of("/v1/certificates", "/v1/config/export", "/v1/config/versions/"
                + admin.get("/v1/config").json().path("version").asLong(), "/v1/audit")) {
            String body = admin.get(path).body();
            assertFalse(body.contains("PRIVATE KEY"), path + " shows a private key");
        }
    }

    private String scrape() throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                + node.server().adminPort() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    @Test
    void badCertificatesAreRefusedWithTheirField() throws Exception {
        Identity api = TestPki.leaf("api.example.test", ca, "api.example.test");
        Identity other = TestPki.leaf("other.example.test", ca, "other.example.test");
        assertEquals(201, putCertificate("api", api, "api.example.test").status());

        Resp mismatched = admin.put("/v1/certificates/bad", JSON.createObjectNode().put("cert", api.certPem())
                .put("key", other.keyPem()).set("snis", JSON.createArrayNode().add("x.test")).toString());
        assertEquals(400, mismatched.status(), mismatched.toString());
        assertTrue(mismatched.body().contains("does not match the certificate"), mismatched.body());
        assertTrue(mismatched.body().contains("\"key\"") || mismatched.body().contains(".key"), mismatched.body());

        Resp notPem = admin.put("/v1/certificates/bad", JSON.createObjectNode().put("cert", "hello")
                .put("key", other.keyPem()).set("snis", JSON.createArrayNode().add("x.test")).toString());
        assertEquals(400, notPem.status(), notPem.toString());
        assertTrue(notPem.body().contains("not PEM"), notPem.body());

        Resp taken = putCertificate("dup", other, "API.example.test");
        assertEquals(409, taken.status(), taken.toString());
        assertTrue(taken.body().contains("already served by certificate 'api'"), taken.body());

        Resp placeholder = admin.put("/v1/certificates/api", JSON.createObjectNode().put("cert", api.certPem())
                .put("key", "<redacted>").set("snis", JSON.createArrayNode().add("api.example.test")).toString());
        assertEquals(400, placeholder.status(), placeholder.toString());

        for (String sni : List.of("*.*.example.test", "exa mple.test", "*example.test", "", "a..b")) {
            Resp r = putCertificate("odd", other, sni);
            assertEquals(400, r.status(), sni + ": " + r);
        }
        Resp noSnis = admin.put("/v1/certificates/odd", JSON.createObjectNode().put("cert", other.certPem())
                .put("key", other.keyPem()).set("snis", JSON.createArrayNode()).toString());
        assertEquals(400, noSnis.status());
        // nothing partial: the good certificate is still served, the refused ones are not stored
        assertEquals("CN=api.example.test", servedFor("api.example.test"));
        assertEquals(1, admin.get("/v1/certificates").json().path("certificates").size(),
                admin.get("/v1/certificates").body());
    }

    /** A replaced certificate serves the next handshake, under 8 threads of new connections, none failing. */
    @Test
    void hotSwapUnderLoadFailsNoRequest() throws Exception {
        Identity v1 = TestPki.leaf("v1", ca, "api.example.test");
        assertEquals(201, putCertificate("api", v1, "api.example.test").status());
        SSLContext client = trusting(null);
        AtomicBoolean stop = new AtomicBoolean();
        List<String> failures = new CopyOnWriteArrayList<>();
        Set<String> seen = ConcurrentHashMap.newKeySet();
        AtomicInteger sent = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(9);
        List<Future<?>> workers = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            workers.add(pool.submit(() -> {
                while (!stop.get()) {
                    try (SSLSocket s = connect("api.example.test", client)) {
                        seen.add(((X509Certificate) s.getSession().getPeerCertificates()[0])
                                .getSubjectX500Principal().getName());
                        String resp = request(s, "/app/load", "api.example.test");
                        sent.incrementAndGet();
                        if (!resp.startsWith("HTTP/1.1 200")) {
                            failures.add(resp.lines().findFirst().orElse(resp));
                        }
                    } catch (Exception e) {
                        failures.add(e.toString());
                    }
                }
            }));
        }
        // and one keep-alive connection opened before the swaps, used throughout
        SSLSocket kept = connect("api.example.test", client);
        workers.add(pool.submit(() -> {
            while (!stop.get()) {
                try {
                    String resp = request(kept, "/app/kept", "api.example.test");
                    if (!resp.startsWith("HTTP/1.1 200")) {
                        failures.add("kept: " + resp.lines().findFirst().orElse(resp));
                    }
                } catch (Exception e) {
                    failures.add("kept: " + e);
                    return;
                }
            }
        }));
        for (int i = 2; i <= 11; i++) {
            Identity next = TestPki.leaf("v" + i, ca, "api.example.test");
            Resp r = putCertificate("api", next, "api.example.test");
            assertEquals(200, r.status(), r.toString());
            assertEquals("CN=v" + i, servedFor("api.example.test"), "the next handshake gets the new one");
            // let the load run on this certificate for a while: 20 more requests (bounded by a deadline)
            int target = sent.get() + 20;
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (sent.get() < target && failures.isEmpty() && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
        }
        stop.set(true);
        for (Future<?> f : workers) {
            f.get();
        }
        pool.shutdown();
        kept.close();
        assertEquals(List.of(), failures, "of " + sent.get() + " requests");
        assertTrue(sent.get() >= 200, "requests sent: " + sent.get());
        assertTrue(seen.size() >= 3, "certificates seen under load: " + seen);
    }

    @Test
    void mutualTlsPerRoute() throws Exception {
        Identity clientCa = TestPki.ca("Client CA");
        Identity good = TestPki.leaf("client-1", clientCa);
        Identity stranger = TestPki.leaf("client-2", TestPki.ca("Other CA"));
        route("secure", "/secure/**", JSON.createObjectNode().put("client_ca", clientCa.certPem()).toString());

        try (SSLSocket s = connect("default.test", trusting(good))) {
            String resp = request(s, "/secure/x", "default.test", "X-Client-Cert-Subject: CN=admin");
            assertTrue(resp.startsWith("HTTP/1.1 200"), resp);
            assertEquals("CN=client-1", upstream.last().header("X-Client-Cert-Subject"), "the verified subject only");
        }
        int before = upstream.count();
        try (SSLSocket s = connect("default.test", trusting(null))) {
            String resp = request(s, "/secure/x", "default.test", "X-Client-Cert-Subject: CN=client-1");
            assertTrue(resp.startsWith("HTTP/1.1 401"), resp);
            assertTrue(resp.contains("client_certificate_required"), resp);
        }
        try (SSLSocket s = connect("default.test", trusting(stranger))) {
            String resp = request(s, "/secure/x", "default.test");
            assertTrue(resp.startsWith("HTTP/1.1 403"), resp);
            assertTrue(resp.contains("client_certificate_invalid"), resp);
        }
        HttpResponse<String> plain = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                "http://127.0.0.1:" + node.server().proxyPort() + "/secure/x")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(401, plain.statusCode(), "no certificate on the plain port");
        assertEquals(before, upstream.count(), "refused requests never reach the upstream");

        // a route without mTLS never passes a client's copy of the identity header
        try (SSLSocket s = connect("default.test", trusting(good))) {
            assertTrue(request(s, "/app/y", "default.test", "X-Client-Cert-Subject: CN=admin", "X-Helidon-Cn: root")
                    .startsWith("HTTP/1.1 200"));
            assertEquals(null, upstream.last().header("X-Client-Cert-Subject"));
            assertEquals(null, upstream.last().header("X-Helidon-Cn"));
        }
    }

    @Test
    void httpsRedirectPerRoute() throws Exception {
        route("shop", "/shop/**", "{\"https_redirect\": true}");
        HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();
        HttpResponse<String> get = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                + node.server().proxyPort() + "/shop/cart?id=7")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(301, get.statusCode());
        assertEquals("https://127.0.0.1:" + tlsPort() + "/shop/cart?id=7", get.headers().firstValue("Location")
                .orElseThrow());
        HttpResponse<String> post = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                + node.server().proxyPort() + "/shop/cart")).POST(HttpRequest.BodyPublishers.ofString("x")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(308, post.statusCode(), "the method and body are kept");
        assertEquals(0, upstream.count());
        try (SSLSocket s = connect("default.test", trusting(null))) {
            assertTrue(request(s, "/shop/cart", "default.test").startsWith("HTTP/1.1 200"), "served on TLS");
        }
    }

    @Test
    void adminListenerOverTls() throws Exception {
        Identity adminId = TestPki.leaf("admin.test", ca, "ip:127.0.0.1");
        Path cert = Files.writeString(dir.resolve("admin.pem"), adminId.certPem());
        Path key = Files.writeString(dir.resolve("admin.key"), adminId.keyPem());
        try (Node n = Node.start(new Node.Options("standalone", dir.resolve("data2"),
                new SluiceServer.Listeners("127.0.0.1", 0, "127.0.0.1", 0, true,
                        new SluiceServer.TlsOptions(-1, Optional.empty(), Optional.empty(), Optional.of(cert),
                                Optional.of(key))),
                Optional.empty(), Optional.empty(), Optional.of("admin-secret"), Duration.ofSeconds(5)))) {
            HttpClient https = HttpClient.newBuilder().sslContext(trusting(null)).build();
            String base = "https://127.0.0.1:" + n.server().adminPort();
            HttpResponse<String> health = https.send(HttpRequest.newBuilder(URI.create(base + "/health")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, health.statusCode());
            HttpResponse<String> routes = https.send(HttpRequest.newBuilder(URI.create(base + "/v1/routes"))
                    .header("Authorization", "Bearer admin-secret").build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, routes.statusCode(), routes.body());
            // plain HTTP gets no answer from it
            assertThrows(IOException.class, () -> HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + n.server().adminPort() + "/health"))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()));
            assertEquals(-1, n.server().tlsPort(), "no TLS proxy listener without --tls-port");
        }
    }

    @Test
    void http2ByAlpnAndOnlyModernTls() throws Exception {
        HttpClient h2 = HttpClient.newBuilder().sslContext(trusting(null)).version(HttpClient.Version.HTTP_2)
                .build();
        HttpResponse<String> r = h2.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + tlsPort()
                + "/app/h2")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        assertEquals(HttpClient.Version.HTTP_2, r.version());
        assertEquals("https", upstream.last().header("X-Forwarded-Proto"));

        // TLS 1.2 is fine; CBC suites and TLS 1.1 are not
        SSLSocket tls12 = (SSLSocket) trusting(null).getSocketFactory().createSocket("127.0.0.1", tlsPort());
        tls12.setEnabledProtocols(new String[] {"TLSv1.2"});
        tls12.startHandshake();
        assertEquals("TLSv1.2", tls12.getSession().getProtocol());
        tls12.close();
        SSLSocket cbc = (SSLSocket) trusting(null).getSocketFactory().createSocket("127.0.0.1", tlsPort());
        cbc.setEnabledProtocols(new String[] {"TLSv1.2"});
        cbc.setEnabledCipherSuites(new String[] {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"});
        assertThrows(SSLHandshakeException.class, cbc::startHandshake);
        cbc.close();
    }
}
