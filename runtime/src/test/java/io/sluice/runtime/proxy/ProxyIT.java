package io.sluice.runtime.proxy;

import io.sluice.runtime.SluiceServer;
import io.sluice.runtime.testing.EchoUpstream;
import io.sluice.runtime.testing.Gateways;
import io.sluice.runtime.testing.RawHttp;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** End to end through a real gateway to real upstream servers: routing, headers, status codes. */
class ProxyIT {
    private static EchoUpstream users;
    private static EchoUpstream me;
    private static EchoUpstream wild;
    private static EchoUpstream api;
    private static SluiceServer gw;
    private static int deadPort;
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeAll
    static void start() throws Exception {
        users = EchoUpstream.start("users");
        me = EchoUpstream.start("me");
        wild = EchoUpstream.start("wild");
        api = EchoUpstream.start("api-host");
        deadPort = Gateways.refusedPort();
        gw = Gateways.start("""
                routes:
                  - id: wild
                    paths: ["/api/**"]
                    upstream: {targets: [{url: "%s"}]}
                  - id: users
                    paths: ["/api/users/{id}", "/api/users/{id}/orders/{order}"]
                    methods: [GET, POST]
                    strip_prefix: /api
                    upstream: {targets: [{url: "%s/base"}]}
                  - id: me
                    paths: ["/api/users/me"]
                    upstream: {targets: [{url: "%s"}]}
                  - id: api-host
                    paths: ["/api/**"]
                    hosts: [api.example.com]
                    upstream: {targets: [{url: "%s"}]}
                  - id: dead
                    paths: ["/dead"]
                    upstream: {targets: [{url: "http://127.0.0.1:%d"}], connect_timeout_ms: 500}
                  - id: slow
                    paths: ["/slow/**"]
                    upstream: {targets: [{url: "%s"}], timeout_ms: 300}
                """.formatted(wild.url(), users.url(), me.url(), api.url(), deadPort, wild.url()));
    }

    @AfterAll
    static void stop() {
        gw.close();
        for (EchoUpstream u : List.of(users, me, wild, api)) {
            u.close();
        }
    }

    private static HttpResponse<String> get(String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gw.proxyPort() + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void mostSpecificRouteWins() throws Exception {
        assertEquals("me", get("/api/users/me").headers().firstValue("X-Upstream").orElseThrow());
        assertEquals("users", get("/api/users/7").headers().firstValue("X-Upstream").orElseThrow());
        assertEquals("users", get("/api/users/7/orders/9").headers().firstValue("X-Upstream").orElseThrow());
        assertEquals("wild", get("/api/things/1").headers().firstValue("X-Upstream").orElseThrow());
    }

    @Test
    void hostRoutesMatchTheHostHeader() throws Exception {
        RawHttp.Response r = RawHttp.exchange(gw.proxyPort(),
                "GET /api/x HTTP/1.1\r\nHost: API.example.com:8080\r\n\r\n");
        assertEquals("api-host", r.header("X-Upstream"));
        r = RawHttp.exchange(gw.proxyPort(), "GET /api/x HTTP/1.1\r\nHost: other.example.com\r\n\r\n");
        assertEquals("wild", r.header("X-Upstream"));
    }

    @Test
    void stripPrefixTargetBasePathAndQueryAreApplied() throws Exception {
        HttpResponse<String> r = get("/api/users/42?expand=orders&x=%20y");
        assertEquals(200, r.statusCode());
        assertEquals("/base/users/42?expand=orders&x=%20y", users.last().target());
    }

    @Test
    void noRouteIs404AndWrongMethodIs405WithAllow() throws Exception {
        HttpResponse<String> r = get("/nothing/here");
        assertEquals(404, r.statusCode());
        assertEquals("application/json", r.headers().firstValue("Content-Type").orElseThrow());
        assertTrue(r.body().contains("\"error\":\"no_route\""), r.body());
        r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gw.proxyPort() + "/api/users/7"))
                .method("DELETE", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        // /api/users/{id} allows GET/POST only, but the less specific /api/** takes any method
        assertEquals("wild", r.headers().firstValue("X-Upstream").orElseThrow());
        r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gw.proxyPort() + "/dead"))
                .method("OPTIONS", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(502, r.statusCode(), "no methods listed: any method is routed");
    }

    @Test
    void methodNotAllowedWhenNoRouteTakesTheMethod() throws Exception {
        try (SluiceServer g = Gateways.start("""
                routes:
                  - id: ro
                    paths: ["/ro/{id}"]
                    methods: [GET]
                    upstream: {targets: [{url: "%s"}]}
                """.formatted(users.url()))) {
            RawHttp.Response r = RawHttp.exchange(g.proxyPort(),
                    "PUT /ro/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
            assertEquals(405, r.status());
            assertEquals("GET, HEAD", r.header("Allow"));
            assertTrue(r.text().contains("\"error\":\"method_not_allowed\""), r.text());
        }
    }

    @Test
    void refusedUpstreamIs502() throws Exception {
        HttpResponse<String> r = get("/dead");
        assertEquals(502, r.statusCode());
        assertTrue(r.body().contains("\"error\":\"bad_gateway\""), r.body());
    }

    @Test
    void slowUpstreamIs504() throws Exception {
        long t0 = System.nanoTime();
        HttpResponse<String> r = get("/slow/sleep/3000");
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(504, r.statusCode());
        assertTrue(r.body().contains("\"error\":\"gateway_timeout\""), r.body());
        assertTrue(ms < 2500, "answered after " + ms + " ms, timeout is 300 ms");
    }

    @Test
    void forwardingHeadersAreSetAndHopByHopHeadersRemoved() throws Exception {
        RawHttp.Response r = RawHttp.exchange(gw.proxyPort(), """
                GET /api/users/5 HTTP/1.1\r
                Host: shop.example.com\r
                Connection: keep-alive, X-Secret-Hop\r
                X-Secret-Hop: must-not-pass\r
                Keep-Alive: timeout=5\r
                TE: trailers\r
                Upgrade: websocket\r
                Proxy-Authorization: Basic Zm9vOmJhcg==\r
                X-Forwarded-For: 203.0.113.9\r
                X-Forwarded-Host: evil.example\r
                X-Request-Id: client-id-123\r
                X-Consumer-Id: admin\r
                X-User-Id: root\r
                Accept: text/plain\r
                \r
                """);
        assertEquals(200, r.status());
        EchoUpstream.Received got = users.last();
        assertNull(got.header("X-Secret-Hop"));
        assertNull(got.header("Keep-Alive"));
        assertNull(got.header("TE"));
        assertNull(got.header("Upgrade"));
        assertNull(got.header("Proxy-Authorization"));
        assertNull(got.header("X-Consumer-Id"), "client-supplied identity headers are stripped");
        assertNull(got.header("X-User-Id"));
        assertEquals("text/plain", got.header("Accept"));
        assertEquals("127.0.0.1:" + users.port(), got.header("Host"));
        assertEquals("203.0.113.9, 127.0.0.1", got.header("X-Forwarded-For"));
        assertEquals("shop.example.com", got.header("X-Forwarded-Host"));
        assertEquals("http", got.header("X-Forwarded-Proto"));
        assertEquals("client-id-123", got.header("X-Request-Id"));
        assertEquals("client-id-123", r.header("X-Request-Id"));
        assertTrue(got.header("traceparent").matches("00-[0-9a-f]{32}-[0-9a-f]{16}-01"), got.header("traceparent"));
        // response side: the upstream's hop-by-hop headers do not reach the client
        assertNull(r.header("Keep-Alive"));
        assertNull(r.header("X-Hop"), "headers named in the upstream's Connection header are removed");
        assertEquals("users", r.header("X-Upstream"));
    }

    @Test
    void requestIdIsGeneratedWhenMissingOrMalformedAndTraceIsContinued() throws Exception {
        RawHttp.Response r = RawHttp.exchange(gw.proxyPort(), """
                GET /api/users/6 HTTP/1.1\r
                Host: x\r
                X-Request-Id: bad id with spaces\r
                traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r
                \r
                """);
        String id = users.last().header("X-Request-Id");
        assertTrue(id.matches("[0-9a-f]{32}"), id);
        assertEquals(id, r.header("X-Request-Id"));
        String tp = users.last().header("traceparent");
        assertTrue(tp.startsWith("00-4bf92f3577b34da6a3ce929d0e0e4736-"), tp);
        assertFalse(tp.contains("00f067aa0ba902b7"), "the gateway is a new parent");
    }

    @Test
    void bodiesPassBothWaysWithContentLengthAndChunked() throws Exception {
        String small = "hello body";
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + gw.proxyPort() + "/api/users/1"))
                .POST(HttpRequest.BodyPublishers.ofString(small)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals("users POST /base/users/1\n" + small, r.body());
        assertEquals(String.valueOf(small.length()), users.last().header("Content-Length"));

        // a 1 MiB chunked upload is streamed upstream (chunked), and the 1 MiB answer streamed back
        String big = "0123456789abcdef".repeat(64 * 1024);
        RawHttp.Response raw;
        try (RawHttp c = new RawHttp(gw.proxyPort())) {
            StringBuilder req = new StringBuilder("POST /api/users/2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
            for (int i = 0; i < big.length(); i += 10_000) {
                String part = big.substring(i, Math.min(big.length(), i + 10_000));
                req.append(Integer.toHexString(part.length())).append("\r\n").append(part).append("\r\n");
            }
            req.append("0\r\n\r\n");
            raw = c.send(req.toString());
        }
        assertEquals(200, raw.status());
        assertEquals("users POST /base/users/2\n" + big, raw.text());
        assertEquals(big, users.last().bodyText());
    }

    @Test
    void headersTooLargeIs431() throws Exception {
        RawHttp.Response r = RawHttp.exchange(gw.proxyPort(),
                "GET /api/users/1 HTTP/1.1\r\nHost: x\r\nX-Big: " + "a".repeat(SluiceServer.MAX_HEADERS_BYTES + 10)
                        + "\r\n\r\n");
        assertEquals(431, r.status());
        assertTrue(r.text().contains("\"error\":\"headers_too_large\""), r.text());
    }

    @Test
    void upstreamConnectionsAreReused() throws Exception {
        int before = gw.gateway().client().pool("127.0.0.1", me.port()).openedCount();
        for (int i = 0; i < 50; i++) {
            assertEquals(200, get("/api/users/me").statusCode());
        }
        int opened = gw.gateway().client().pool("127.0.0.1", me.port()).openedCount() - before;
        assertTrue(opened <= 1, "50 sequential requests opened " + opened + " upstream connections");
    }

    @Test
    void readinessReportsTheLoadedVersion() throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + gw.adminPort() + "/ready")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        assertNotNull(r.body());
        assertTrue(r.body().contains("\"ready\":true"), r.body());
    }
}
