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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 19: a version swap must cost no request. A JavaScript filter's route is moved to the next of 100 versions
 * while 4 threads send requests without pause; every request must answer 200. Before contexts were prepared off the
 * request path, making the new version's contexts on the workers kept them from the traffic and requests failed
 * with 500 {@code no JavaScript worker free within 50 ms}.
 *
 * <p>The node runs in its own JVM the way bin/sluice starts it (the optimizing runtime, whose compiler threads compete
 * with the workers as in production), with {@code sluice.js.warmup-s=0}: a swap is made long after a start, when
 * calls no longer get the start's cold allowance; this saves waiting the 30 s out.
 */
class JsSwapUnderLoadIT {
    static final int SWAPS = 100;
    static final int CLIENTS = 4;
    static final String TOKEN = "swap-under-load-token-0123456789";
    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    @TempDir
    Path dir;

    static String tagger(String version) {
        return """
                export default {
                  name: "tagger", version: "%s",
                  schema: {type: "object", properties: {value: {type: "string"}}},
                  onRequest(ctx, conf) {
                    ctx.request.headers.set("x-tag", (conf.value || "t") + "-%s");
                  },
                  onResponse(ctx, conf) {
                    ctx.response.headers.set("x-tagged-by", "tagger %s");
                  }
                };
                """.formatted(version, version, version);
    }

    /** One client's view: requests answered and their latencies (ns). */
    record Seen(int sent, long[] nanos) {
    }

    @Test
    void swappingAJsFilterVersion100TimesUnderLoadFailsNoRequest() throws Exception {
        try (EchoUpstream upstream = EchoUpstream.start("app");
             NodeProcess node = NodeProcess.start(dir.resolve("data"), TOKEN, "-Dsluice.js.warmup-s=0")) {
            AdminClient admin = new AdminClient(node.adminPort(), TOKEN);
            for (int v = 0; v <= SWAPS; v++) {
                Resp up = admin.send("POST", "/v1/filters", tagger("1.0." + v), "application/json",
                        "application/javascript");
                assertEquals(201, up.status(), up.toString());
            }
            put(admin, upstream, 0);
            HttpResponse<String> first = get(node, "/app/x");
            assertEquals(200, first.statusCode(), first.body());
            assertEquals("tagger 1.0.0", first.headers().firstValue("x-tagged-by").orElse(""));

            AtomicBoolean stop = new AtomicBoolean();
            ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
            Set<String> served = ConcurrentHashMap.newKeySet();
            List<Future<Seen>> clients = new ArrayList<>();
            long[] swapNanos = new long[SWAPS];
            int mainRequests = 0;
            try (ExecutorService pool = Executors.newFixedThreadPool(CLIENTS)) {
                for (int i = 0; i < CLIENTS; i++) {
                    clients.add(pool.submit(() -> {
                        long[] nanos = new long[1024];
                        int n = 0;
                        while (!stop.get()) {
                            long t0 = System.nanoTime();
                            try {
                                HttpResponse<String> r = get(node, "/app/y");
                                if (r.statusCode() != 200) {
                                    failures.add(r.statusCode() + " " + r.body());
                                } else {
                                    served.add(r.headers().firstValue("x-tagged-by").orElse("none"));
                                }
                            } catch (Exception e) {
                                failures.add(e.toString());
                            }
                            if (n == nanos.length) {
                                nanos = Arrays.copyOf(nanos, n * 2);
                            }
                            nanos[n++] = System.nanoTime() - t0;
                        }
                        return new Seen(n, Arrays.copyOf(nanos, n));
                    }));
                }
                try {
                    for (int v = 1; v <= SWAPS; v++) {
                        long t0 = System.nanoTime();
                        put(admin, upstream, v);
                        swapNanos[v - 1] = System.nanoTime() - t0;
                        // the standalone node applies a commit before the PUT answers; this request shows it did
                        HttpResponse<String> r = get(node, "/app/z");
                        mainRequests++;
                        if (r.statusCode() != 200) {
                            failures.add(r.statusCode() + " " + r.body());
                        } else {
                            assertEquals("tagger 1.0." + v, r.headers().firstValue("x-tagged-by").orElse(""),
                                    "the version just attached answers");
                            served.add("tagger 1.0." + v);
                        }
                    }
                } finally {
                    stop.set(true);
                }
            }
            int sent = mainRequests;
            List<Long> all = new ArrayList<>();
            for (Future<Seen> c : clients) {
                Seen s = c.get();   // a client's own failure surfaces here
                sent += s.sent();
                for (long x : s.nanos()) {
                    all.add(x);
                }
            }
            all.sort(null);
            Arrays.sort(swapNanos);
            System.out.printf("JsSwapUnderLoadIT: %d swaps, %d requests, %d failed; client latency p50 %.1f ms,"
                            + " p99 %.1f ms, max %.1f ms; PUT p50 %.1f ms, max %.1f ms; versions served %d%n",
                    SWAPS, sent, failures.size(), ms(all, 0.50), ms(all, 0.99), all.getLast() / 1e6,
                    swapNanos[SWAPS / 2] / 1e6, swapNanos[SWAPS - 1] / 1e6, served.size());
            assertEquals(List.of(), List.copyOf(failures), failures.size() + " of " + sent + " requests failed; node: "
                    + String.join("\n", node.output()));
            assertTrue(served.contains("tagger 1.0." + SWAPS), "the last version serves: " + served);
            assertEquals(SWAPS + 1, served.size(), "every version served: " + served);
        }
    }

    static void put(AdminClient admin, EchoUpstream upstream, int v) {
        Resp r = admin.put("/v1/routes/app", """
                {"paths": ["/app/**"], "upstream": {"targets": [{"url": "%s"}]},
                 "plugins": [{"name": "tagger", "version": "1.0.%d", "config": {"value": "v"}}]}"""
                .formatted(upstream.url(), v));
        assertTrue(r.status() == 200 || r.status() == 201, "PUT 1.0." + v + ": " + r);
    }

    static HttpResponse<String> get(NodeProcess node, String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.proxyPort() + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static double ms(List<Long> sorted, double q) {
        return sorted.get(Math.min(sorted.size() - 1, (int) (sorted.size() * q))) / 1e6;
    }
}
