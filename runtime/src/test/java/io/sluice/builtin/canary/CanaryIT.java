package io.sluice.builtin.canary;

import io.sluice.runtime.Node;
import io.sluice.runtime.testing.AdminClient;
import io.sluice.runtime.testing.AdminClient.Resp;
import io.sluice.runtime.testing.EchoUpstream;
import io.sluice.runtime.testing.Nodes;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** canary on a standalone node with two real upstreams: the split, stickiness, and config-time checks. */
class CanaryIT {
    /** Requests for the split check; the filter's own test runs 100,000 without the network. */
    static final int N = Integer.getInteger("sluice.canary.requests", 20_000);

    @TempDir
    Path dir;
    Node node;
    EchoUpstream stable;
    EchoUpstream canary;
    AdminClient admin;

    @BeforeEach
    void up() throws Exception {
        stable = EchoUpstream.start("stable");
        canary = EchoUpstream.start("canary");
        node = Nodes.standalone(dir.resolve("data"));
        admin = Nodes.admin(node);
    }

    @AfterEach
    void down() {
        node.close();
        stable.close();
        canary.close();
    }

    String route(String pluginConfig) {
        return """
                {"paths": ["/shop/**"],
                 "upstream": {"targets": [{"url": "%s"}]},
                 "upstreams": {"canary": {"targets": [{"url": "%s"}], "timeout_ms": 2000}},
                 "plugins": [{"name": "canary", "config": %s}]}""".formatted(stable.url(), canary.url(), pluginConfig);
    }

    HttpResponse<String> get(String path, String... headers) throws Exception {
        return Nodes.get(node, path, headers);
    }

    @Test
    void splitIsWithinOnePointOfTheWeights() throws Exception {
        Resp put = admin.put("/v1/routes/shop", route("""
                {"split": [{"upstream": "default", "weight": 95}, {"upstream": "canary", "weight": 5}],
                 "response_header": "X-Canary"}"""));
        assertEquals(201, put.status(), put.toString());
        Map<String, AtomicInteger> served = new ConcurrentHashMap<>();
        AtomicInteger mismatched = new AtomicInteger();
        try (ExecutorService pool = Executors.newFixedThreadPool(8)) {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                futures.add(pool.submit(() -> {
                    for (int i = 0; i < N / 8; i++) {
                        HttpResponse<String> r = get("/shop/item");
                        assertEquals(200, r.statusCode(), r.body());
                        String upstreamName = r.headers().firstValue("X-Upstream").orElseThrow();
                        String group = r.headers().firstValue("X-Canary").orElseThrow();
                        if (!upstreamName.equals(group.equals("default") ? "stable" : "canary")) {
                            mismatched.incrementAndGet();
                        }
                        served.computeIfAbsent(upstreamName, k -> new AtomicInteger()).incrementAndGet();
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        }
        int total = N / 8 * 8;
        double canaryShare = 100.0 * served.get("canary").get() / total;
        assertTrue(Math.abs(canaryShare - 5.0) <= 1.0, "canary served " + canaryShare + "% of " + total);
        assertEquals(total, served.get("stable").get() + served.get("canary").get());
        assertEquals(0, mismatched.get(), "the response header named the group that served");
    }

    @Test
    void stickyClientsStayOnTheirSide() throws Exception {
        assertEquals(201, admin.put("/v1/routes/shop", route("""
                {"split": [{"upstream": "default", "weight": 50}, {"upstream": "canary", "weight": 50}],
                 "sticky": {"by": "cookie", "name": "sid"}}""")).status());
        int onCanary = 0;
        for (int c = 0; c < 40; c++) {
            String first = null;
            for (int i = 0; i < 5; i++) {
                String side = get("/shop/x", "Cookie", "sid=user-" + c).headers().firstValue("X-Upstream").orElseThrow();
                if (first == null) {
                    first = side;
                }
                assertEquals(first, side, "client user-" + c + " moved");
            }
            onCanary += first.equals("canary") ? 1 : 0;
        }
        assertTrue(onCanary > 5 && onCanary < 35, onCanary + " of 40 sticky clients on the canary");
    }

    @Test
    void routeWithoutTheNamedGroupIsRefused() {
        Resp bad = admin.put("/v1/routes/shop", """
                {"paths": ["/shop/**"], "upstream": {"targets": [{"url": "%s"}]},
                 "plugins": [{"name": "canary", "config":
                   {"split": [{"upstream": "default", "weight": 9}, {"upstream": "blue", "weight": 1}]}}]}"""
                .formatted(stable.url()));
        assertEquals(400, bad.status(), bad.toString());
        assertEquals("plugins[0].config", bad.json().path("details").get(0).path("path").asText());
        assertTrue(bad.json().path("details").get(0).path("message").asText()
                .contains("upstream group 'blue'"), bad.toString());
        Resp badName = admin.put("/v1/routes/shop", """
                {"paths": ["/shop/**"], "upstream": {"targets": [{"url": "%s"}]},
                 "upstreams": {"default": {"targets": [{"url": "%s"}]}}}""".formatted(stable.url(), canary.url()));
        assertEquals(400, badName.status(), badName.toString());
        assertEquals(0, node.server().gateway().current().version());
    }
}
