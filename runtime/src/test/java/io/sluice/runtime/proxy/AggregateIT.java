package io.sluice.runtime.proxy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.Timer;
import io.sluice.registry.admin.Secrets;
import io.sluice.runtime.SluiceServer;
import io.sluice.runtime.observe.Telemetry;
import io.sluice.runtime.testing.Gateways;
import io.sluice.runtime.testing.RawHttp;
import io.sluice.runtime.testing.RawUpstream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Aggregate routes end to end: a real gateway fanning out to real upstream sockets that answer JSON, late, with
 * errors, or not at all.
 */
class AggregateIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String KEY = "test-key-0123456789";
    /** Requests per upstream path prefix (the part before the second '/'). */
    private static final ConcurrentHashMap<String, AtomicInteger> HITS = new ConcurrentHashMap<>();
    private static RawUpstream services;
    private static RawUpstream other;
    private static int deadPort;
    private static SluiceServer gw;

    @BeforeAll
    static void start() throws Exception {
        services = RawUpstream.start((req, n) -> {
            String target = req.line().split(" ")[1];
            String first = target.split("[/?]")[1];
            HITS.computeIfAbsent(first, k -> new AtomicInteger()).incrementAndGet();
            Matcher sleep = Pattern.compile("/sleep/(\\d+)").matcher(target);
            if (sleep.find()) {
                Thread.sleep(Long.parseLong(sleep.group(1)));
            }
            if (target.startsWith("/status500")) {
                return RawUpstream.Reply.keep(json(500, "{\"oops\":true}"));
            }
            if (target.startsWith("/text")) {
                return RawUpstream.Reply.keep("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello");
            }
            if (target.startsWith("/big")) {
                return RawUpstream.Reply.keep(json(200, "[" + "1,".repeat(600) + "1]"));
            }
            // echo what a call needs to check: its target, and the headers it got
            return RawUpstream.Reply.keep(json(200, JSON.createObjectNode()
                    .put("target", target)
                    .put("request_id", header(req, "X-Request-Id"))
                    .put("consumer", header(req, "X-Consumer-Id"))
                    .put("host", header(req, "Host"))
                    .put("accept", header(req, "Accept"))
                    .put("api_key", header(req, "X-API-Key"))
                    .put("connection", req.connection()).toString()));
        });
        other = RawUpstream.start((req, n) -> RawUpstream.Reply.keep(json(200, "{\"other\":true}")));
        deadPort = Gateways.refusedPort();
        String svc = services.url();
        gw = Gateways.start("""
                consumers:
                  - id: app-1
                    api_keys: [{id: k1, hash: "%4$s"}]
                routes:
                  - id: home
                    paths: ["/home/{id}"]
                    aggregate:
                      calls:
                        - {name: user, url: "%1$s/users/sleep/200/{id}", timeout_ms: 2000}
                        - {name: orders, url: "%1$s/orders/sleep/200?user={id}&x=1", timeout_ms: 2000}
                        - {name: recs, url: "%2$s/recs/sleep/200", timeout_ms: 2000}
                  - id: late
                    paths: ["/late"]
                    aggregate:
                      calls:
                        - {name: fast, url: "%1$s/fast"}
                        - {name: slow, url: "%1$s/slowpath/sleep/1500", timeout_ms: 300}
                  - id: broken
                    paths: ["/broken"]
                    aggregate:
                      max_body_bytes: 1000
                      calls:
                        - {name: ok, url: "%1$s/ok"}
                        - {name: failing, url: "%1$s/status500"}
                        - {name: refused, url: "http://127.0.0.1:%3$d/x", connect_timeout_ms: 200}
                        - {name: text, url: "%1$s/text"}
                        - {name: big, url: "%1$s/big"}
                  - id: required-late
                    paths: ["/required-late"]
                    aggregate:
                      calls:
                        - {name: main, url: "%1$s/main/sleep/1500", timeout_ms: 200, required: true}
                        - {name: side, url: "%1$s/side/sleep/1200", timeout_ms: 2000}
                  - id: required-down
                    paths: ["/required-down"]
                    aggregate:
                      calls:
                        - {name: ok, url: "%1$s/ok"}
                        - {name: main, url: "http://127.0.0.1:%3$d/main", required: true}
                  - id: guarded
                    paths: ["/guarded/{id}"]
                    plugins:
                      - name: key-auth
                    aggregate:
                      calls:
                        - {name: a, url: "%1$s/guarded-a/{id}"}
                        - {name: b, url: "%1$s/guarded-b/{id}"}
                  - id: breaker
                    paths: ["/breaker"]
                    plugins:
                      - name: circuit-breaker
                        config: {window: 4, minimum_calls: 2, failure_rate_threshold: 50, open_ms: 60000}
                    aggregate:
                      calls:
                        - {name: ok, url: "%1$s/ok"}
                        - {name: down, url: "http://127.0.0.1:%3$d/down", connect_timeout_ms: 200}
                """.formatted(svc, other.url(), deadPort, Secrets.hash(KEY)));
    }

    @AfterAll
    static void stop() throws Exception {
        gw.close();
        services.close();
        other.close();
    }

    private static String json(int status, String body) {
        byte[] b = body.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        return "HTTP/1.1 " + status + " X\r\nContent-Type: application/json\r\nContent-Length: " + b.length
                + "\r\n\r\n" + body;
    }

    private static String header(RawUpstream.Request req, String name) {
        for (String line : req.headers().split("\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).equalsIgnoreCase(name)) {
                return line.substring(colon + 1).strip();
            }
        }
        return null;
    }

    private static RawHttp.Response get(String path, String extraHeaders) throws Exception {
        return RawHttp.exchange(gw.proxyPort(), "GET " + path + " HTTP/1.1\r\nHost: gw\r\n" + extraHeaders + "\r\n");
    }

    private static JsonNode body(RawHttp.Response r) throws Exception {
        return JSON.readTree(r.body());
    }

    private static int hits(String prefix) {
        AtomicInteger n = HITS.get(prefix);
        return n == null ? 0 : n.get();
    }

    @Test
    void callsRunInParallelAndMergeUnderTheirNames() throws Exception {
        get("/home/0", "");   // warm-up: connections and code paths
        long t0 = System.nanoTime();
        RawHttp.Response r = get("/home/a%20b", "X-Request-Id: agg-req-0001\r\n");
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(200, r.status(), r.text());
        assertEquals("application/json", r.header("Content-Type"));
        assertEquals("agg-req-0001", r.header("X-Request-Id"));
        JsonNode b = body(r);
        assertEquals("/users/sleep/200/a%20b", b.path("user").path("target").asText());
        assertEquals("/orders/sleep/200?user=a%20b&x=1", b.path("orders").path("target").asText());
        assertEquals(JSON.readTree("{\"other\":true}"), b.path("recs"));
        assertFalse(b.has("errors"), b.toString());
        assertEquals(List.of("user", "orders", "recs"), List.copyOf(iterable(b.fieldNames())));
        // three calls of 200 ms each: in parallel ≈ 200 ms, in sequence ≥ 600 ms
        assertTrue(ms < 500, "took " + ms + " ms");
        // each call gets the forwarded headers, its own Host, and asks for JSON
        assertEquals("agg-req-0001", b.path("user").path("request_id").asText());
        assertEquals("agg-req-0001", b.path("orders").path("request_id").asText());
        assertEquals("127.0.0.1:" + services.url().replaceAll(".*:", ""), b.path("user").path("host").asText());
        assertEquals("application/json", b.path("user").path("accept").asText());
    }

    @Test
    void aLateOptionalCallIsNullWithAnErrorAndTheResponseWaitsOnlyItsTimeout() throws Exception {
        long t0 = System.nanoTime();
        RawHttp.Response r = get("/late", "");
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(200, r.status(), r.text());
        JsonNode b = body(r);
        assertEquals("/fast", b.path("fast").path("target").asText());
        assertTrue(b.get("slow").isNull(), b.toString());
        JsonNode err = b.path("errors").path("slow");
        assertEquals("gateway_timeout", err.path("error").asText(), b.toString());
        assertEquals(504, err.path("status").asInt());
        assertTrue(err.path("message").asText().contains("300 ms"), err.toString());
        assertFalse(b.path("errors").has("fast"));
        assertTrue(ms >= 280 && ms < 1200, "took " + ms + " ms; the slow call's timeout is 300, its delay 1500");
    }

    @Test
    void failingOptionalCallsAreNullWithTheirErrorKinds() throws Exception {
        RawHttp.Response r = get("/broken", "");
        assertEquals(200, r.status(), r.text());
        JsonNode b = body(r);
        assertEquals("/ok", b.path("ok").path("target").asText());
        JsonNode errors = b.path("errors");
        for (String name : List.of("failing", "refused", "text", "big")) {
            assertTrue(b.get(name).isNull(), name + " in " + b);
        }
        assertEquals("upstream_status", errors.path("failing").path("error").asText());
        assertEquals(500, errors.path("failing").path("status").asInt());
        assertEquals("bad_gateway", errors.path("refused").path("error").asText());
        assertEquals(502, errors.path("refused").path("status").asInt());
        assertEquals("bad_response", errors.path("text").path("error").asText());
        assertEquals("bad_response", errors.path("big").path("error").asText());
        assertTrue(errors.path("big").path("message").asText().contains("max_body_bytes"), errors.toString());
        assertEquals(4, errors.size(), errors.toString());
    }

    @Test
    void aLateRequiredCallFailsTheWholeResponseWith504AndDoesNotWaitForTheOthers() throws Exception {
        long t0 = System.nanoTime();
        RawHttp.Response r = get("/required-late", "");
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(504, r.status(), r.text());
        JsonNode b = body(r);
        assertEquals("gateway_timeout", b.path("error").asText());
        assertEquals("calls.main", b.path("details").get(0).path("path").asText(), b.toString());
        assertTrue(b.path("details").get(0).path("message").asText().contains("200 ms"), b.toString());
        assertTrue(ms < 1000, "took " + ms + " ms: the side call (1200 ms) was cancelled, not awaited");
    }

    @Test
    void aRefusedRequiredCallFailsTheWholeResponseWith502() throws Exception {
        RawHttp.Response r = get("/required-down", "");
        assertEquals(502, r.status(), r.text());
        JsonNode b = body(r);
        assertEquals("bad_gateway", b.path("error").asText());
        assertEquals("calls.main", b.path("details").get(0).path("path").asText());
        assertTrue(b.path("details").get(0).path("message").asText().startsWith("bad_gateway: "), b.toString());
    }

    @Test
    void requestSideFiltersRunFirstAndTheirHeadersReachEveryCall() throws Exception {
        int before = hits("guarded-a") + hits("guarded-b");
        RawHttp.Response denied = get("/guarded/7", "");
        assertEquals(401, denied.status(), denied.text());
        assertEquals(before, hits("guarded-a") + hits("guarded-b"), "a rejected request makes no call");

        RawHttp.Response r = get("/guarded/7", "X-API-Key: " + KEY + "\r\nX-Consumer-Id: forged\r\n"
                + "X-Request-Id: guarded-req-1\r\nAccept-Encoding: gzip\r\n");
        assertEquals(200, r.status(), r.text());
        JsonNode b = body(r);
        for (String call : List.of("a", "b")) {
            JsonNode c = b.path(call);
            assertEquals("/guarded-" + call + "/7", c.path("target").asText());
            assertEquals("app-1", c.path("consumer").asText(), "identity header injected by key-auth: " + c);
            assertEquals("guarded-req-1", c.path("request_id").asText());
            assertTrue(c.path("api_key").isNull(), "the credential is hidden from calls too: " + c);
        }
        assertEquals(before + 2, hits("guarded-a") + hits("guarded-b"));
    }

    @Test
    void abandonedLateCallsDoNotPoisonThePool() throws Exception {
        int lateBefore = hits("slowpath");
        for (int i = 0; i < 3; i++) {
            // leaves idle connections in the pool, so the late call is sent on a reused one: the case where a
            // connection closed under it could be mistaken for a stale keep-alive connection and retried
            assertEquals(200, get("/home/w" + i, "").status());
            RawHttp.Response r = get("/late", "");
            assertEquals(200, r.status());
            assertEquals("gateway_timeout", body(r).path("errors").path("slow").path("error").asText());
        }
        // the abandoned calls' connections are closed, never pooled: the next calls all get whole, fresh answers
        for (int i = 0; i < 20; i++) {
            RawHttp.Response r = get("/home/" + i, "");
            assertEquals(200, r.status(), r.text());
            JsonNode b = body(r);
            assertEquals("/users/sleep/200/" + i, b.path("user").path("target").asText(), b.toString());
            assertEquals("/orders/sleep/200?user=" + i + "&x=1", b.path("orders").path("target").asText());
            assertFalse(b.has("errors"), b.toString());
        }
        // seconds later: each abandoned call reached the upstream once (its closed socket is not taken for a stale
        // keep-alive connection and the call is not sent again)
        assertEquals(lateBefore + 3, hits("slowpath"));
        // and connections are reused: far fewer than the 40 calls those requests made to this upstream
        int opened = services.connections();
        for (int i = 0; i < 10; i++) {
            assertEquals(200, get("/broken", "").status());
        }
        assertTrue(services.connections() - opened <= 14,
                "about one new connection per request (the oversized body is not read, its connection is closed; "
                        + "500 and non-JSON bodies are read and pooled): " + (services.connections() - opened));
    }

    @Test
    void aCircuitBreakerGuardsEachCallsOriginAndTheMetricCountsOutcomes() throws Exception {
        for (int i = 0; i < 4; i++) {
            assertEquals(200, get("/breaker", "").status());
        }
        RawHttp.Response r = get("/breaker", "");
        assertEquals(200, r.status());
        JsonNode b = body(r);
        assertEquals("/ok", b.path("ok").path("target").asText(), "the healthy call's origin is not affected");
        assertEquals("circuit_open", b.path("errors").path("down").path("error").asText(), b.toString());
        assertEquals(503, b.path("errors").path("down").path("status").asInt());

        Timer ok = Telemetry.registry().find("sluice.aggregate.calls")
                .tags("route", "breaker", "call", "ok", "outcome", "ok").timer();
        Timer refused = Telemetry.registry().find("sluice.aggregate.calls")
                .tags("route", "breaker", "call", "down", "outcome", "refused").timer();
        assertEquals(5, ok.count());
        assertTrue(refused.count() >= 1, "refused: " + refused.count());
    }

    private static <T> List<T> iterable(java.util.Iterator<T> it) {
        List<T> out = new java.util.ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }
}
