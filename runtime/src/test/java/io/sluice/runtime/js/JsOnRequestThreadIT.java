package io.sluice.runtime.js;

import io.sluice.runtime.testing.AdminClient;
import io.sluice.runtime.testing.AdminClient.Resp;
import io.sluice.runtime.testing.EchoUpstream;
import io.sluice.runtime.testing.NodeProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 19: a warm JavaScript filter runs on the request's own thread, pinned to its carrier, instead of being handed
 * to a worker; its budgets must hold there as on a worker. A script that behaves until a request header turns it
 * hostile is warmed on three routes (one per budget), then each budget is broken by a call that runs on a request
 * thread ({@code sluice_js_invocations_total{thread="request"}} counts it): the allocation bomb is stopped by the
 * carrier's allocation counter, the endless loop by the statement limit, and, with statements allowed, by the
 * deadline. A filter whose calls were slow three times in a row runs on the workers afterwards, and the gateway
 * keeps serving.
 *
 * <p>The node runs in its own JVM as bin/sluice starts it, with {@code sluice.js.inline=true} (off by default) and
 * {@code sluice.js.warmup-s=0} (no 30 s wait).
 */
class JsOnRequestThreadIT {
    static final String TOKEN = "on-request-thread-token-0123456789";
    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    static final String MOODY = """
            export default {
              name: "moody", version: "1.0.0", schema: {type: "object"},
              onRequest(ctx, conf) {
                const mode = ctx.request.headers.get("x-mode");
                if (mode === "alloc") { const a = []; while (true) { a.push(new ArrayBuffer(1 << 20)); } }
                if (mode === "spin") { while (true) {} }
                if (mode === "slow") { const end = Date.now() + 60; while (Date.now() < end) {} }
                ctx.request.headers.set("x-moody", "calm");
              }
            };
            """;

    @TempDir
    Path dir;

    @Test
    void budgetsHoldOnTheRequestThreadAndASlowFilterMovesToTheWorkers() throws Exception {
        try (EchoUpstream upstream = EchoUpstream.start("app");
             NodeProcess node = NodeProcess.start(dir.resolve("data"), TOKEN, "-Dsluice.js.inline=true",
                     "-Dsluice.js.warmup-s=0", "-Dsluice.js.inline-bar-ms=2000",
                     // a calm call on a busy machine must not count as slow and bar its filter: only the slow mode's
                     // 60 ms does (30 ms here, 2 ms by default)
                     "-Dsluice.js.inline-max-us=30000")) {
            AdminClient admin = new AdminClient(node.adminPort(), TOKEN);
            Resp up = admin.send("POST", "/v1/filters", MOODY, "application/json", "application/javascript");
            assertEquals(201, up.status(), up.toString());
            route(admin, upstream, "plain", "[]");
            // deadline as JsFiltersIT's bomb: 32 MiB must be what stops it, not time
            route(admin, upstream, "mem", "[{\"name\": \"moody\", \"limits\": {\"deadline_ms\": 500}}]");
            // 10^6 statements (the default), and time enough that they, not the deadline, stop the loop
            route(admin, upstream, "stmts", "[{\"name\": \"moody\", \"limits\": {\"deadline_ms\": 2000}}]");
            route(admin, upstream, "deadline",
                    "[{\"name\": \"moody\", \"limits\": {\"statements\": 100000000, \"deadline_ms\": 20}}]");
            route(admin, upstream, "slow",
                    "[{\"name\": \"moody\", \"limits\": {\"statements\": 100000000, \"deadline_ms\": 2000}}]");
            String[][] cases = {{"mem", "alloc", "memory"}, {"stmts", "spin", "statements"},
                    {"deadline", "spin", "deadline"}};
            for (String[] c : cases) {
                Attempt a = onRequestThread(admin, node, upstream, c[0], c[1], c[2]);
                assertEquals(500, a.response().statusCode(), c[0] + ": " + a.response().body());
                assertTrue(a.response().body().contains("filter_error"), c[0] + ": " + a.response().body());
                assertEquals(1.0, a.breaches(), () -> c[0] + ": stopped by its " + c[2] + " budget; breaches: "
                        + admin.get("/metrics").body().lines()
                                .filter(l -> l.startsWith("sluice_js_budget_breaches_total{")).toList());
                assertTrue(a.ms() < 5_000, c[0] + ": answered in " + a.ms() + " ms");
            }

            // calls that took 60 ms (within their budgets) three times in a row held the carrier too long: the filter
            // moves to the workers. One or two slow calls do not (the OS or a GC may have stopped a fast one).
            Attempt slow = onRequestThread(admin, node, upstream, "slow", "slow", "deadline");
            assertEquals(200, slow.response().statusCode(), slow.response().body());
            assertEquals(0.0, slow.breaches(), "60 ms is within the slow route's budgets");
            for (int i = 2; i <= 3; i++) {
                double before = metric(admin, "sluice_js_invocations_total", "thread=\"request\"");
                HttpResponse<String> again = get(node, "/slow/slow", "slow");
                assertEquals(200, again.statusCode(), again.body());
                assertEquals(1.0, metric(admin, "sluice_js_invocations_total", "thread=\"request\"") - before,
                        "slow call " + i + " still ran on its request's thread");
            }
            double requestBefore = metric(admin, "sluice_js_invocations_total", "thread=\"request\"");
            double workerBefore = metric(admin, "sluice_js_invocations_total", "thread=\"worker\"");
            HttpResponse<String> calm = get(node, "/slow/again", null);
            assertEquals(200, calm.statusCode(), calm.body());
            assertEquals("calm", upstream.last().header("x-moody"));
            assertEquals(0.0, metric(admin, "sluice_js_invocations_total", "thread=\"request\"") - requestBefore);
            assertEquals(1.0, metric(admin, "sluice_js_invocations_total", "thread=\"worker\"") - workerBefore);

            // nothing hostile reached the upstream, and everything else still serves
            for (String r : new String[] {"plain", "mem", "stmts", "deadline"}) {
                HttpResponse<String> ok = get(node, "/" + r + "/after", null);
                assertEquals(200, ok.statusCode(), r + ": " + ok.body());
            }
            assertEquals(0, upstream.all().stream()
                    .filter(x -> x.target().endsWith("/alloc") || x.target().endsWith("/spin")).count());
        }
    }

    /**
     * Sends a request with {@code mode} to the route once its filter runs on request threads, and returns the answer
     * of the first such call that ran there, with how many budget breaches of {@code breachKind} it made. Calm calls
     * go first until one runs on a request thread (the first 20 are cold and go to the workers, and a binding's
     * contexts are made off the request path); should the call with {@code mode} still go to a worker, the attempt is
     * repeated, for up to a minute.
     */
    static Attempt onRequestThread(AdminClient admin, NodeProcess node, EchoUpstream upstream, String route,
                                   String mode, String breachKind) throws Exception {
        String breachLabel = "kind=\"" + breachKind + "\"";
        long giveUp = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() - giveUp < 0) {
            double before = metric(admin, "sluice_js_invocations_total", "thread=\"request\"");
            HttpResponse<String> ok = get(node, "/" + route + "/warm", null);
            assertEquals(200, ok.statusCode(), () -> route + ": " + ok.body() + "; the node printed: "
                    + node.output().stream().skip(Math.max(0, node.output().size() - 30)).toList());
            assertEquals("calm", upstream.last().header("x-moody"));
            if (metric(admin, "sluice_js_invocations_total", "thread=\"request\"") == before) {
                continue;   // cold, barred, or its slot's context is being made
            }
            before = metric(admin, "sluice_js_invocations_total", "thread=\"request\"");
            double breachesBefore = metric(admin, "sluice_js_budget_breaches_total", breachLabel);
            long t0 = System.nanoTime();
            HttpResponse<String> r = get(node, "/" + route + "/" + mode, mode);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            if (metric(admin, "sluice_js_invocations_total", "thread=\"request\"") - before == 1.0) {
                return new Attempt(r, metric(admin, "sluice_js_budget_breaches_total", breachLabel) - breachesBefore,
                        ms);
            }
        }
        throw new AssertionError(route + ": no call with x-mode " + mode + " ran on a request thread in 60 s");
    }

    /** A call that ran on a request thread: its answer, the budget breaches of the kind asked for, its time. */
    record Attempt(HttpResponse<String> response, double breaches, long ms) {
    }

    static void route(AdminClient admin, EchoUpstream upstream, String id, String plugins) {
        Resp r = admin.put("/v1/routes/" + id, """
                {"paths": ["/%s/**"], "upstream": {"targets": [{"url": "%s"}]}, "plugins": %s}"""
                .formatted(id, upstream.url(), plugins));
        assertTrue(r.status() == 200 || r.status() == 201, id + ": " + r);
    }

    static HttpResponse<String> get(NodeProcess node, String path, String mode) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.proxyPort() + path))
                .timeout(Duration.ofSeconds(10));
        if (mode != null) {
            b.header("x-mode", mode);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The sum of a Prometheus metric's samples whose labels contain {@code label}. */
    static double metric(AdminClient admin, String name, String label) {
        double sum = 0;
        for (String line : admin.get("/metrics").body().split("\n")) {
            if (line.startsWith(name + "{") && line.contains(label)) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }
}
