package io.sluice.runtime.proxy;

import io.sluice.runtime.SluiceServer;
import io.sluice.runtime.testing.EchoUpstream;
import io.sluice.runtime.testing.Gateways;
import io.sluice.runtime.testing.RawHttp;
import io.sluice.runtime.testing.RawUpstream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutorService;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * circuit-breaker end to end: a real upstream that fails, hangs, then recovers; a bulkhead that keeps a hanging
 * upstream from taking everything; retries of idempotent requests.
 */
class CircuitBreakerIT {
    enum Mode { OK, FAIL, HANG, FLAKY }

    private static volatile Mode mode = Mode.OK;
    private static final CountDownLatch RELEASE = new CountDownLatch(1);
    private static final java.util.Set<String> SEEN = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private static RawUpstream flaky;
    private static EchoUpstream healthy;
    private static SluiceServer gw;

    @BeforeAll
    static void start() throws Exception {
        flaky = RawUpstream.start((req, n) -> {
            switch (mode) {
                case FAIL -> {
                    return RawUpstream.Reply.keep("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nfail");
                }
                case HANG -> RELEASE.await(10, TimeUnit.SECONDS);
                case FLAKY -> {
                    // the first attempt of each request fails; its retry carries the same X-Request-Id and succeeds
                    java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?im)^x-request-id:\\s*(\\S+)")
                            .matcher(req.headers());
                    if (m.find() && SEEN.add(m.group(1))) {
                        return RawUpstream.Reply.keep("HTTP/1.1 503 Unavailable\r\nContent-Length: 4\r\n\r\nbusy");
                    }
                }
                default -> {
                }
            }
            return RawUpstream.Reply.keep("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        });
        healthy = EchoUpstream.start("healthy");
        gw = Gateways.start("""
                routes:
                  - id: guarded
                    paths: ["/guarded/**"]
                    upstream: {targets: [{url: "%1$s"}], timeout_ms: 300}
                    plugins:
                      - name: circuit-breaker
                        config: {window: 10, minimum_calls: 5, failure_rate_threshold: 50, open_ms: 400,
                                 half_open_probes: 2}
                  - id: bulkhead
                    paths: ["/bulkhead/**"]
                    upstream: {targets: [{url: "%1$s"}], timeout_ms: 3000}
                    plugins:
                      - name: circuit-breaker
                        config: {max_concurrent: 2, minimum_calls: 100, window: 100}
                  - id: retrying
                    paths: ["/retrying/**"]
                    upstream: {targets: [{url: "%1$s"}]}
                    plugins:
                      - name: circuit-breaker
                        config: {minimum_calls: 100, window: 100, retry: {max_retries: 1, budget_ratio: 1, budget_min: 10}}
                  - id: other
                    paths: ["/other/**"]
                    upstream: {targets: [{url: "%2$s"}]}
                  - id: streamed
                    paths: ["/streamed/**"]
                    upstream: {targets: [{url: "%2$s"}]}
                    plugins:
                      - name: circuit-breaker
                        config: {max_concurrent: 1, minimum_calls: 100, window: 100}
                """.formatted(flaky.url(), healthy.url()));
    }

    @AfterAll
    static void stop() throws Exception {
        RELEASE.countDown();
        gw.close();
        flaky.close();
        healthy.close();
    }

    private static RawHttp.Response send(String method, String path, String extra) throws Exception {
        return RawHttp.exchange(gw.proxyPort(), method + " " + path + " HTTP/1.1\r\nHost: x\r\n" + extra
                + "Content-Length: 0\r\n\r\n");
    }

    @Test
    void failingThenHangingUpstreamIsCutOffAndComesBackWhenItRecovers() throws Exception {
        mode = Mode.OK;
        for (int i = 0; i < 3; i++) {
            assertEquals(200, send("GET", "/guarded/a", "").status());
        }
        mode = Mode.FAIL;
        RawHttp.Response r = null;
        for (int i = 0; i < 20 && (r == null || r.status() != 503); i++) {
            r = send("GET", "/guarded/a", "");
        }
        assertEquals(503, r.status(), "the breaker opened on the failure rate");
        assertTrue(r.text().contains("\"error\":\"circuit_open\""), r.text());
        assertEquals("1", r.header("Retry-After"));
        int calls = flaky.requests().size();
        for (int i = 0; i < 5; i++) {
            assertEquals(503, send("GET", "/guarded/a", "").status());
        }
        assertEquals(calls, flaky.requests().size(), "an open breaker does not call the upstream");

        // hanging: each probe times out (504) and reopens the breaker; requests in between are refused at once
        mode = Mode.HANG;
        List<Integer> statuses = new ArrayList<>();
        long slowest = 0;
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        while (System.nanoTime() < until) {
            long t0 = System.nanoTime();
            statuses.add(send("GET", "/guarded/a", "").status());
            long took = System.nanoTime() - t0;
            if (statuses.getLast() == 503) {
                slowest = Math.max(slowest, took);
            }
        }
        assertTrue(statuses.contains(504), "probes reached the hanging upstream and timed out: " + statuses);
        assertTrue(statuses.stream().filter(s -> s == 503).count() > statuses.size() / 2,
                "most requests refused without waiting: " + statuses);
        assertTrue(slowest < TimeUnit.MILLISECONDS.toNanos(250), "a refusal waits for nothing: " + slowest / 1000 + " µs");

        // recovered: after open_ms a probe succeeds and the breaker closes
        mode = Mode.OK;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        int status = 0;
        while (status != 200 && System.nanoTime() < deadline) {
            status = send("GET", "/guarded/a", "").status();
        }
        assertEquals(200, status);
        for (int i = 0; i < 10; i++) {
            assertEquals(200, send("GET", "/guarded/a", "").status(), "closed again");
        }
        String metrics = scrape();
        assertTrue(metrics.contains("sluice_circuit_state{"), metrics);
        assertTrue(metrics.contains("sluice_circuit_refused_total{reason=\"circuit_open\""), metrics);
    }

    @Test
    void aBulkheadKeepsAHangingUpstreamFromTakingEverything() throws Exception {
        mode = Mode.HANG;
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            int before = flaky.requests().size();
            List<Future<RawHttp.Response>> hung = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                hung.add(pool.submit(() -> send("GET", "/bulkhead/h", "")));
            }
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
            while (flaky.requests().size() - before < 2 && System.nanoTime() < until) {
                Thread.onSpinWait();   // both hanging calls hold their places once the upstream has them
            }
            long t0 = System.nanoTime();
            RawHttp.Response third = send("GET", "/bulkhead/h", "");
            assertEquals(503, third.status());
            assertTrue(System.nanoTime() - t0 < TimeUnit.MILLISECONDS.toNanos(500), "refused at once");
            assertTrue(third.text().contains("bulkhead_full"), third.text());
            assertEquals(200, send("GET", "/other/x", "").status(), "other upstreams are served meanwhile");
            for (Future<RawHttp.Response> f : hung) {
                assertEquals(504, f.get(5, TimeUnit.SECONDS).status());
            }
        } finally {
            mode = Mode.OK;
        }
    }

    @Test
    void aClientBodyBrokenOffWhileStreamedGivesItsBulkheadPlaceBack() throws Exception {
        for (int i = 0; i < 3; i++) {
            // more than the gateway reads before calling the upstream (64 KiB): the rest is streamed, and breaks off
            try (java.net.Socket s = new java.net.Socket("127.0.0.1", gw.proxyPort())) {
                java.io.OutputStream o = s.getOutputStream();
                o.write("POST /streamed/x HTTP/1.1\r\nHost: x\r\nContent-Length: 300000\r\n\r\n".getBytes());
                o.write(new byte[100_000]);
                o.flush();
            }
        }
        // the bulkhead has one place: had a broken-off request kept it, every later request would be refused
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        RawHttp.Response r;
        do {
            r = send("GET", "/streamed/y", "");
        } while (r.status() != 200 && System.nanoTime() < end);
        assertEquals(200, r.status(), r.text());
        assertEquals(200, send("GET", "/streamed/z", "").status());
    }

    @Test
    void idempotentRequestsAreRetriedOthersAreNot() throws Exception {
        mode = Mode.FLAKY;
        try {
            int before = flaky.requests().size();
            assertEquals(200, send("GET", "/retrying/a", "").status(), "GET retried after a 503");
            assertEquals(2, flaky.requests().size() - before);
            assertEquals(200, send("POST", "/retrying/a", "Idempotency-Key: k-1\r\n").status());
            assertEquals(4, flaky.requests().size() - before);
            assertEquals(503, send("POST", "/retrying/a", "").status(), "a POST without a key is not retried");
            assertEquals(5, flaky.requests().size() - before);
        } finally {
            mode = Mode.OK;
        }
    }

    private static String scrape() throws Exception {
        try (java.net.http.HttpClient c = java.net.http.HttpClient.newHttpClient()) {
            return c.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(
                    "http://127.0.0.1:" + gw.adminPort() + "/metrics")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString()).body();
        }
    }
}
