package io.sluice.runtime.upstream;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.runtime.testing.AdminClient.Resp;
import io.sluice.runtime.testing.Gateways;
import io.sluice.runtime.upstream.Backend.Result;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Upstream targets failing for real, end to end through a standalone node: a target killed under load (failover,
 * what non-idempotent requests may lose), active health checks taking a target out and back, the passive
 * ejection cap, and circuit breakers steering the choice of target.
 */
class UpstreamHealthIT extends UpstreamNodeFixture {
    double failovers() throws Exception {
        HttpResponse<String> r = Backend.adminGet(adminPort(), "/metrics");
        assertEquals(200, r.statusCode());
        return Backend.metric(r.body(), "sluice_upstream_failovers_total");
    }

    /** A target's entry in {@code GET /v1/upstreams/{id}/health}. */
    JsonNode target(String upstream, String url) {
        Resp r = admin.get("/v1/upstreams/" + upstream + "/health");
        assertEquals(200, r.status(), r.toString());
        for (JsonNode t : r.json().path("targets")) {
            if (t.path("url").asText().equals(url)) {
                return t;
            }
        }
        throw new AssertionError("no target " + url + " in " + r);
    }

    String state(String upstream, String url) {
        return target(upstream, url).path("state").asText();
    }

    /**
     * Load from 8 workers while a target is killed mid-way: ~1.5 s before the kill, ~1.5 s after it and until
     * {@code after} holds (at most 10 s more).
     *
     * @return every result
     */
    private List<Result> killUnderLoad(Backend victim, boolean post, int[] unansweredAtKill, BooleanSupplier after)
            throws Exception {
        AtomicBoolean go = new AtomicBoolean(true);
        try (ExecutorService driver = Executors.newSingleThreadExecutor()) {
            Future<List<Result>> load = driver.submit(() -> Backend.runWhile(proxyPort(), 8, go::get,
                    i -> post ? Backend.post("/k/x", "body-" + i) : Backend.get("/k/x")));
            try {
                int start = victim.served();
                assertTrue(Backend.await(Duration.ofSeconds(10), () -> victim.served() >= start + 300),
                        "the victim takes part in the load before it is killed");
                Thread.sleep(1_000);
                unansweredAtKill[0] = victim.kill();
                Thread.sleep(1_500);
                assertTrue(Backend.await(Duration.ofSeconds(10), after),
                        "requests failed over from the killed target (sluice_upstream_failovers_total grew)");
            } finally {
                go.set(false);
            }
            return load.get(30, TimeUnit.SECONDS);
        }
    }

    private BooleanSupplier failoversAbove(double value) {
        return () -> {
            try {
                return failovers() > value;
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        };
    }

    @Test
    void aTargetKilledUnderLoadLosesNoGetAndOnlyPostsInFlight() throws Exception {
        Backend a = backend("a");
        Backend b = backend("b");
        Backend c = backend("c");
        put("/v1/upstreams/k", """
                {"targets": [{"url": "%s"}, {"url": "%s"}, {"url": "%s"}],
                 "health": {"passive": {"consecutive_failures": 3, "eject_ms": 200}}}"""
                .formatted(a.url(), b.url(), c.url()));
        put("/v1/routes/k", """
                {"paths": ["/k/**"], "upstream": "k"}""");

        // GETs: idempotent, so whatever was in flight on the killed target goes to another one
        double before = failovers();
        int[] unanswered = new int[1];
        List<Result> gets = killUnderLoad(c, false, unanswered, failoversAbove(before));
        List<Result> failed = gets.stream().filter(r -> !r.ok()).toList();
        assertTrue(failed.isEmpty(), failed.size() + " of " + gets.size() + " GETs failed ("
                + unanswered[0] + " in flight at the kill), e.g. " + failed.subList(0, Math.min(5, failed.size())));
        Map<String, Integer> by = new TreeMap<>();
        gets.forEach(r -> by.merge(r.upstream(), 1, Integer::sum));
        assertTrue(by.getOrDefault("a", 0) > 300 && by.getOrDefault("b", 0) > 300, "load spread: " + by);

        // back on its port: ejections end and it takes traffic again
        c.restart();
        int served = c.served();
        try (Backend.Client client = new Backend.Client(proxyPort())) {
            assertTrue(Backend.await(Duration.ofSeconds(10), () -> {
                Result r = client.send(Backend.get("/k/x"));
                assertEquals(200, r.status(), r.toString());
                return c.served() > served + 10;
            }), "the restarted target is back in rotation: " + target("k", c.url()));
        }

        // POSTs: not idempotent, so one sent to the killed target is lost (502); one refused at connect is not
        // (a pooled connection the kill reset costs one POST too: its write fails, and that counts as sent)
        double beforePosts = failovers();
        List<Result> posts = killUnderLoad(c, true, unanswered, failoversAbove(beforePosts));
        List<Result> lost = posts.stream().filter(r -> !r.ok()).toList();
        long bad502 = lost.stream().filter(r -> r.status() == 502).count();
        assertEquals(lost.size(), bad502, "every lost POST is a 502: " + lost);
        assertTrue(lost.size() <= 8, lost.size() + " of " + posts.size() + " POSTs lost, more than could be in flight"
                + " at the kill (8 clients; " + unanswered[0] + " unanswered by the victim): " + lost);
        assertTrue(posts.size() - lost.size() > 500, "POSTs served: " + posts.size());
    }

    @Test
    void activeChecksTakeAnUnhealthyTargetOutAndBringItBack() throws Exception {
        Backend a = backend("a");
        Backend b = backend("b");
        // timeout_ms is given: its default (1000) is refused as longer than an interval_ms of 200
        put("/v1/upstreams/hc", """
                {"targets": [{"url": "%s"}, {"url": "%s"}],
                 "health": {"active": {"path": "/health", "interval_ms": 200, "timeout_ms": 150, "healthy": 2,
                                       "unhealthy": 2}}}"""
                .formatted(a.url(), b.url()));
        put("/v1/routes/hc", """
                {"paths": ["/hc/**"], "upstream": "hc"}""");
        assertTrue(Backend.await(Duration.ofSeconds(5), () -> a.probes() >= 2 && b.probes() >= 2),
                "both targets are probed");
        assertEquals("healthy", state("hc", b.url()));
        assertTrue(byUpstream(40).getOrDefault("b", 0) > 0, "b takes traffic while healthy");

        b.healthStatus = 500;
        long t0 = System.nanoTime();
        assertTrue(Backend.await(Duration.ofSeconds(5), () -> state("hc", b.url()).equals("unhealthy")),
                "b is marked unhealthy: " + target("hc", b.url()));
        long tookMs = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(tookMs < 2_000, "within a few intervals: " + tookMs + " ms");
        JsonNode shown = target("hc", b.url());
        assertTrue(shown.path("reason").asText().contains("500"), "the reason says why: " + shown);
        assertEquals("healthy", state("hc", a.url()));

        // the data plane's own view, on its admin port without a token, and the gauge
        HttpResponse<String> plane = Backend.adminGet(adminPort(), "/upstreams/hc/health");
        assertEquals(200, plane.statusCode(), plane.body());
        assertTrue(plane.body().contains("\"url\":\"" + b.url() + "\"") && plane.body().contains("\"unhealthy\""),
                plane.body());
        assertEquals(404, Backend.adminGet(adminPort(), "/upstreams/nope/health").statusCode());
        String metrics = Backend.adminGet(adminPort(), "/metrics").body();
        assertEquals(0.0, healthyGauge(metrics, b.url(), "unhealthy"), metrics);
        assertEquals(1.0, healthyGauge(metrics, a.url(), "healthy"), metrics);

        int before = b.served();
        Map<String, Integer> out = byUpstream(40);
        assertEquals(Map.of("a", 40), out, "an unhealthy target gets no traffic");
        assertEquals(before, b.served());

        b.healthStatus = 200;
        assertTrue(Backend.await(Duration.ofSeconds(5), () -> state("hc", b.url()).equals("healthy")),
                "b is healthy again: " + target("hc", b.url()));
        assertTrue(byUpstream(40).getOrDefault("b", 0) >= 10, "b takes traffic again");
        assertEquals(1.0, healthyGauge(Backend.adminGet(adminPort(), "/metrics").body(), b.url(), "healthy"));
    }

    /** Sends n GETs to /hc, all must answer 200; counts who answered. */
    private Map<String, Integer> byUpstream(int n) throws Exception {
        Map<String, Integer> by = new TreeMap<>();
        for (Result r : Backend.run(proxyPort(), 2, n, i -> Backend.get("/hc/x"))) {
            assertEquals(200, r.status(), r.toString());
            by.merge(r.upstream(), 1, Integer::sum);
        }
        return by;
    }

    /** The value of {@code sluice_upstream_target_healthy} for a target in a state. */
    private static double healthyGauge(String scrape, String url, String state) {
        for (String l : scrape.split("\n")) {
            if (l.startsWith("sluice_upstream_target_healthy{") && l.contains("target=\"" + url + "\"")
                    && l.contains("state=\"" + state + "\"")) {
                return Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1));
            }
        }
        throw new AssertionError("no sluice_upstream_target_healthy sample for " + url + " " + state + " in\n"
                + scrape.lines().filter(l -> l.contains("sluice_upstream_target")).toList());
    }

    @Test
    void passiveEjectionNeverTakesOutMoreThanItsShare() throws Exception {
        Backend good = backend("good");
        List<String> dead = List.of("http://127.0.0.1:" + Gateways.refusedPort(),
                "http://127.0.0.1:" + Gateways.refusedPort(), "http://127.0.0.1:" + Gateways.refusedPort());
        // retries 3: a request may meet all three dead targets before the good one
        put("/v1/upstreams/cap", """
                {"retries": 3, "targets": [{"url": "%s"}, {"url": "%s"}, {"url": "%s"}, {"url": "%s"}],
                 "health": {"passive": {"consecutive_failures": 1, "eject_ms": 10000, "max_ejected_percent": 50}}}"""
                .formatted(dead.get(0), good.url(), dead.get(1), dead.get(2)));
        put("/v1/routes/cap", """
                {"paths": ["/cap/**"], "upstream": "cap"}""");
        double before = failovers();
        for (Result r : Backend.run(proxyPort(), 2, 200, i -> Backend.get("/cap/x"))) {
            assertEquals(200, r.status(), r.toString());
            assertEquals("good", r.upstream());
        }
        assertEquals(200, good.served());
        assertTrue(failovers() > before, "requests failed over from the dead targets");

        JsonNode view = admin.get("/v1/upstreams/cap/health").json();
        int ejected = 0;
        String spared = null;
        for (JsonNode t : view.path("targets")) {
            if (t.path("state").asText().equals("ejected")) {
                ejected++;
                assertTrue(dead.contains(t.path("url").asText()), "only dead targets are ejected: " + view);
            } else if (dead.contains(t.path("url").asText())) {
                spared = t.path("reason").asText();
            }
        }
        assertEquals(2, ejected, "half of the 4 targets at most, and the dead ones that failed first: " + view);
        assertTrue(spared != null && spared.contains("max_ejected_percent"),
                "the dead target left in rotation says why: " + view);
        assertEquals("healthy", state("cap", good.url()));
    }

    @Test
    void anOpenCircuitSendsRequestsToAnotherTargetUntilAllAreOpen() throws Exception {
        Backend a = backend("a");
        Backend b = backend("b");
        put("/v1/upstreams/cb", """
                {"targets": [{"url": "%s"}, {"url": "%s"}]}""".formatted(a.url(), b.url()));
        put("/v1/routes/cb", """
                {"paths": ["/cb/**"], "upstream": "cb",
                 "plugins": [{"name": "circuit-breaker",
                              "config": {"window": 10, "minimum_calls": 5, "failure_rate_threshold": 50,
                                         "open_ms": 60000}}]}""");
        try (Backend.Client client = new Backend.Client(proxyPort())) {
            for (int i = 0; i < 10; i++) {
                Result r = client.send(Backend.get("/cb/x"));
                assertEquals(200, r.status(), r.toString());
            }

            // a fails: its 500s go through until its breaker opens, then b answers everything
            a.status = 500;
            List<Result> seen = new ArrayList<>();
            int fromBInARow = 0;
            for (int i = 0; i < 200 && fromBInARow < 20; i++) {
                Result r = client.send(Backend.get("/cb/x"));
                seen.add(r);
                fromBInARow = r.status() == 200 && "b".equals(r.upstream()) ? fromBInARow + 1 : 0;
            }
            assertEquals(20, fromBInARow, "b alone answers once a's breaker is open: " + seen);
            assertTrue(seen.stream().allMatch(r -> r.status() == 200 || r.status() == 500 && "a".equals(r.upstream())),
                    "no 503 while a target with a closed breaker is left: " + seen);
            assertTrue(seen.stream().anyMatch(r -> r.status() == 500), "a's failures were seen: " + seen);
            int aServed = a.served();
            for (int i = 0; i < 20; i++) {
                Result r = client.send(Backend.get("/cb/x"));
                assertEquals(200, r.status(), r.toString());
                assertEquals("b", r.upstream());
            }
            assertEquals(aServed, a.served(), "an open breaker's target is not called");

            // b fails too: once its breaker opens as well, the client gets the breaker's answer
            b.status = 500;
            seen.clear();
            Result r = null;
            for (int i = 0; i < 50 && (r == null || r.status() != 503); i++) {
                r = client.send(Backend.get("/cb/x"));
                seen.add(r);
            }
            assertEquals(503, r.status(), "both breakers open: " + seen);
            assertTrue(r.body().contains("\"error\":\"circuit_open\""), r.body());
            assertTrue(seen.subList(0, seen.size() - 1).stream().allMatch(x -> x.status() == 500 && "b".equals(x.upstream())),
                    "until then b's own answers: " + seen);
            int bServed = b.served();
            for (int i = 0; i < 5; i++) {
                Result again = client.send(Backend.get("/cb/x"));
                assertEquals(503, again.status(), again.toString());
                assertTrue(again.body().contains("circuit_open"), again.body());
            }
            assertEquals(aServed, a.served());
            assertEquals(bServed, b.served(), "neither target is called while both breakers are open");
        }
    }
}
