package io.sluice.builtin.canary;

import io.sluice.plugin.Consumer;
import io.sluice.plugin.Filter;
import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.Headers;
import io.sluice.plugin.testkit.TestExchange;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CanaryFilterTest {
    private static final int N = 100_000;

    private static Filter filter(Map<String, Object> extra, Object... split) {
        Map<String, Object> config = new HashMap<>(extra);
        List<Map<String, Object>> entries = new java.util.ArrayList<>();
        for (int i = 0; i < split.length; i += 2) {
            entries.add(Map.of("upstream", split[i], "weight", ((Integer) split[i + 1]).longValue()));
        }
        config.put("split", entries);
        return new CanaryFilterFactory().create(FilterConfig.of(config));
    }

    private static TestExchange request() {
        return TestExchange.request("GET", "/").upstreams("canary", "v3");
    }

    private static void assertShare(Map<String, Integer> counts, String group, double expectedPercent) {
        double got = 100.0 * counts.getOrDefault(group, 0) / N;
        assertTrue(Math.abs(got - expectedPercent) <= 1.0, group + ": " + got + "% of " + N + ", expected "
                + expectedPercent + " ± 1 point; all: " + counts);
    }

    @Test
    void declaresItsGroupsSoRoutesWithoutThemAreRefused() {
        assertEquals(Set.of("default", "canary"), filter(Map.of(), "default", 95, "canary", 5).upstreams());
    }

    @Test
    void randomSplitIsWithinOnePointOver100kRequests() throws Exception {
        Filter f = filter(Map.of(), "default", 95, "canary", 5);
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < N; i++) {
            TestExchange ex = request();
            f.onRequest(ex);
            counts.merge(ex.upstream(), 1, Integer::sum);
            assertEquals(ex.upstream(), ex.vars().get("upstream_group"));
        }
        assertShare(counts, "default", 95);
        assertShare(counts, "canary", 5);
    }

    @Test
    void stickySplitOverDistinctClientsIsWithinOnePointAndStable() throws Exception {
        Filter f = filter(Map.of("sticky", Map.of("by", "header", "name", "X-Client")),
                "default", 70, "canary", 20, "v3", 10);
        Map<String, Integer> counts = new HashMap<>();
        Map<String, String> first = new HashMap<>();
        for (int i = 0; i < N; i++) {
            String client = "client-" + i;
            TestExchange ex = request().header("X-Client", client);
            f.onRequest(ex);
            counts.merge(ex.upstream(), 1, Integer::sum);
            first.put(client, ex.upstream());
        }
        assertShare(counts, "default", 70);
        assertShare(counts, "canary", 20);
        assertShare(counts, "v3", 10);
        for (int i = 0; i < N; i += 97) {   // every client stays where it landed
            TestExchange ex = request().header("X-Client", "client-" + i);
            f.onRequest(ex);
            assertEquals(first.get("client-" + i), ex.upstream());
        }
    }

    @Test
    void stickyByCookieAndConsumer() throws Exception {
        Filter byCookie = filter(Map.of("sticky", Map.of("by", "cookie", "name", "sid")), "default", 50, "canary", 50);
        Filter byConsumer = filter(Map.of("sticky", Map.of("by", "consumer")), "default", 50, "canary", 50);
        for (int c = 0; c < 50; c++) {
            String sid = "s" + c;
            TestExchange a = request().header("Cookie", "theme=dark; sid=" + sid);
            byCookie.onRequest(a);
            for (int i = 0; i < 5; i++) {
                TestExchange b = request().header("Cookie", "sid=" + sid + "; x=1");
                byCookie.onRequest(b);
                assertEquals(a.upstream(), b.upstream(), sid);
            }
            TestExchange u = request();
            u.consumer(Consumer.of("user-" + c));
            byConsumer.onRequest(u);
            TestExchange v = request();
            v.consumer(Consumer.of("user-" + c));
            byConsumer.onRequest(v);
            assertEquals(u.upstream(), v.upstream());
        }
    }

    @Test
    void missingStickyKeyFallsBackToTheWeights() throws Exception {
        Filter f = filter(Map.of("sticky", Map.of("by", "header", "name", "X-Client")), "default", 0, "canary", 1);
        TestExchange ex = request();
        f.onRequest(ex);
        assertEquals("canary", ex.upstream());
    }

    @Test
    void responseHeaderNamesTheGroup() throws Exception {
        Filter f = filter(Map.of("response_header", "X-Canary"), "default", 0, "canary", 1);
        TestExchange ex = request();
        f.onRequest(ex);
        ex.respond(200, new Headers(), "ok");
        f.onResponse(ex);
        assertEquals("canary", ex.response().orElseThrow().headers().firstOrNull("X-Canary"));
    }

    @Test
    void cookieParsing() {
        assertEquals("abc", CanaryFilter.cookie(List.of("a=1; sid=abc"), "sid").orElseThrow());
        assertTrue(CanaryFilter.cookie(List.of("xsid=abc"), "sid").isEmpty());
        assertTrue(CanaryFilter.cookie(List.of("sid="), "sid").isEmpty());
    }
}
