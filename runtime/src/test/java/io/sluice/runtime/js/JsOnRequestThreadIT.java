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
 * deadline. A filter whose call was slow runs on the workers afterwards, and the gateway keeps serving.
 *
 * <p>The node runs in its own JVM as bin/sluice starts it, with {@code sluice.js.warmup-s=0} (no 30 s wait).
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
                if (mode === "slow") { const end = Date.now() + 10; while (Date.now() < end) {} }
                ctx.request.headers.set("x-moody", "calm");
              }
            };
            """;

    @TempDir
    Path dir;

    @Test
    void budgetsHoldOnTheRequestThreadAndASlowFilterMovesToTheWorkers() throws Exception {
        try (EchoUpstream upstream = EchoUpstream.start("app");
             NodeProcess node = NodeProcess.start(dir.resolve("data"), TOKEN, "-Dsluice.js.warmup-s=0",
                     "-Dsluice.js.inline-bar-ms=2000")) {
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
                    "[{\"name\": \"moody\", \"limits\": {\"statements\": 100000000, \"deadline_ms\": 200}}]");
            for (String r : new String[] {"mem", "stmts", "deadline", "slow"}) {
                // the first 20 calls are cold and run on the workers; on a JVM this fresh a first call on a request
                // thread may itself be slow and bar the filter for 2 s: call until one runs on the request thread
                long giveUp = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                boolean onRequestThread = false;
                while (!onRequestThread && System.nanoTime() - giveUp < 0) {
                    double before = metric(admin, "sluice_js_invocations_total", "thread=\"request\"");
                    HttpResponse<String> ok = get(node, "/" + r + "/warm", null);
                    assertEquals(200, ok.statusCode(), r + ": " + ok.body());
                    assertEquals("calm", upstream.last().header("x-moody"));
                    onRequestThread = metric(admin, "sluice_js_invocations_total", "thread=\"request\"") > before;
                }
                assertTrue(onRequestThread, r + ": its warm calls run on request threads");
            }

            String[][] cases = {{"mem", "alloc", "memory"}, {"stmts", "spin", "statements"},
                    {"deadline", "spin", "deadline"}};
            for (String[] c : cases) {
                double before = metric(admin, "sluice_js_invocations_total", "thread=\"request\"");
                double breachesBefore = metric(admin, "sluice_js_budget_breaches_total", "kind=\"" + c[2] + "\"");
                long t0 = System.nanoTime();
                HttpResponse<String> r = get(node, "/" + c[0] + "/x", c[1]);
                long ms = (System.nanoTime() - t0) / 1_000_000;
                assertEquals(500, r.statusCode(), c[0] + ": " + r.body());
                assertTrue(r.body().contains("filter_error"), c[0] + ": " + r.body());
                assertEquals(1.0, metric(admin, "sluice_js_invocations_total", "thread=\"request\"") - before,
                        c[0] + ": the hostile call ran on its request's thread");
                assertEquals(1.0, metric(admin, "sluice_js_budget_breaches_total", "kind=\"" + c[2] + "\"")
                        - breachesBefore, () -> c[0] + ": stopped by its " + c[2] + " budget; breaches: "
                        + admin.get("/metrics").body().lines()
                                .filter(l -> l.startsWith("sluice_js_budget_breaches_total{")).toList());
                assertTrue(ms < 5_000, c[0] + ": answered in " + ms + " ms");
            }

            // a call that took 10 ms (within its budgets) held its carrier too long: the filter moves to the workers
            double requestBefore = metric(admin, "sluice_js_invocations_total", "thread=\"request\"");
            HttpResponse<String> slow = get(node, "/slow/y", "slow");
            assertEquals(200, slow.statusCode(), slow.body());
            assertEquals(1.0, metric(admin, "sluice_js_invocations_total", "thread=\"request\"") - requestBefore,
                    "the slow call ran on its request's thread");
            requestBefore = metric(admin, "sluice_js_invocations_total", "thread=\"request\"");
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
            assertEquals(0, upstream.all().stream().filter(x -> x.target().endsWith("/x")).count());
        }
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
