package io.sluice.runtime.observe;

import io.sluice.plugin.Completion;
import io.sluice.runtime.SluiceServer;
import io.sluice.runtime.testing.EchoUpstream;
import io.sluice.runtime.testing.Gateways;
import io.sluice.runtime.testing.RawHttp;
import io.sluice.runtime.testing.TestFilters;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Metrics at /metrics and Filter.onComplete, through a real node and a real upstream. */
class ObservabilityIT {
    private static EchoUpstream up;
    private static SluiceServer gw;
    private static int deadPort;

    @BeforeAll
    static void start() throws Exception {
        up = EchoUpstream.start("up");
        deadPort = Gateways.refusedPort();
        gw = Gateways.start("""
                routes:
                  - id: obs
                    paths: ["/obs/**"]
                    upstream: {targets: [{url: "%1$s"}]}
                    plugins:
                      - {name: test-complete, config: {tag: first}}
                      - {name: test-trace, config: {tag: a}}
                      - {name: test-complete, config: {tag: second}}
                  - id: answered
                    paths: ["/answered"]
                    upstream: {targets: [{url: "%1$s"}]}
                    plugins:
                      - {name: test-complete, config: {tag: before}}
                      - {name: test-respond, config: {status: 418}}
                      - {name: test-complete, config: {tag: never}}
                  - id: failing
                    paths: ["/failing"]
                    upstream: {targets: [{url: "%1$s"}]}
                    plugins:
                      - {name: test-complete, config: {tag: failing}}
                      - {name: test-fail}
                  - id: down
                    paths: ["/down"]
                    upstream: {targets: [{url: "http://127.0.0.1:%2$d"}], connect_timeout_ms: 500}
                    plugins:
                      - {name: test-complete, config: {tag: down}}
                """.formatted(up.url(), deadPort));
    }

    @AfterAll
    static void stop() {
        gw.close();
        up.close();
    }

    private static RawHttp.Response get(String path) throws Exception {
        return RawHttp.exchange(gw.proxyPort(), "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n");
    }

    /** Completions of one request, in the order the filters got them. */
    private static List<Map.Entry<String, Completion>> completions(String requestId, int expected) throws Exception {
        List<Map.Entry<String, Completion>> out = new java.util.ArrayList<>();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (out.size() < expected && System.nanoTime() < end) {
            Map.Entry<String, Completion> e = TestFilters.Complete.SEEN.poll(100, TimeUnit.MILLISECONDS);
            if (e != null && e.getKey().endsWith(" " + requestId)) {
                out.add(e);
            }
        }
        return out;
    }

    @Test
    void everyFilterThatRanIsToldHowTheRequestEndedInReverseOrder() throws Exception {
        RawHttp.Response r = get("/obs/x");
        assertEquals(200, r.status());
        String id = r.header("X-Request-Id");
        List<Map.Entry<String, Completion>> seen = completions(id, 2);
        assertEquals(List.of("second " + id, "first " + id), seen.stream().map(Map.Entry::getKey).toList());
        Completion c = seen.getFirst().getValue();
        assertEquals(200, c.status());
        assertNull(c.error());
        assertEquals(up.url(), c.upstreamTarget());
        assertTrue(c.upstreamNanos() > 0 && c.durationNanos() > c.upstreamNanos(), c.toString());
        assertEquals(List.of("test-complete", "test-trace", "test-complete"),
                c.filters().stream().map(Completion.FilterTime::name).toList());
        assertEquals(r.body().length, c.responseBytes());
    }

    @Test
    void aShortCircuitCompletesOnlyTheFiltersThatRanAndNoUpstream() throws Exception {
        RawHttp.Response r = get("/answered");
        assertEquals(418, r.status());
        String id = r.header("X-Request-Id");
        // reverse order: had the filter after the answering one been called, it would come first
        List<Map.Entry<String, Completion>> seen = completions(id, 1);
        assertEquals(List.of("before " + id), seen.stream().map(Map.Entry::getKey).toList());
        Completion c = seen.getFirst().getValue();
        assertEquals(418, c.status());
        assertEquals(-1, c.upstreamNanos());
        assertNull(c.upstreamTarget());
        assertEquals(2, c.filters().size());
    }

    @Test
    void anUpstreamFailureIsReportedAsSuch() throws Exception {
        RawHttp.Response r = get("/down");
        assertEquals(502, r.status());
        Completion c = completions(r.header("X-Request-Id"), 1).getFirst().getValue();
        assertEquals(502, c.status());
        assertEquals("upstream_error", c.error());
    }

    @Test
    void aFailingFilterIsReportedToTheOthersAndCounted() throws Exception {
        String series = "filter=\"test-fail\",phase=\"onRequest\",route=\"failing\"";
        double before = value(scrape(), "sluice_filter_errors_total", series);
        RawHttp.Response r = get("/failing");
        assertEquals(500, r.status());
        Completion c = completions(r.header("X-Request-Id"), 1).getFirst().getValue();
        assertEquals(500, c.status());
        assertEquals("filter_error", c.error());
        assertEquals(-1, c.upstreamNanos(), "fail_closed: the upstream is not called");
        assertEquals(before + 1, value(scrape(), "sluice_filter_errors_total", series));
    }

    @Test
    void metricsCountRequestsByRouteStatusAndFilterInPrometheusText() throws Exception {
        double before = value(scrape(), "sluice_requests_seconds_count", "route=\"obs\",status=\"200\"");
        double filterBefore = value(scrape(), "sluice_filter_seconds_count", "filter=\"test-trace\",route=\"obs\"");
        double noRouteBefore = value(scrape(), "sluice_requests_seconds_count", "route=\"\",status=\"404\"");
        for (int i = 0; i < 5; i++) {
            assertEquals(200, get("/obs/" + i).status());
        }
        assertEquals(404, get("/nowhere").status());
        String text = scrape();
        assertEquals(before + 5, value(text, "sluice_requests_seconds_count", "route=\"obs\",status=\"200\""));
        assertEquals(filterBefore + 5, value(text, "sluice_filter_seconds_count", "filter=\"test-trace\",route=\"obs\""));
        assertEquals(noRouteBefore + 1, value(text, "sluice_requests_seconds_count", "route=\"\",status=\"404\""));
        assertTrue(value(text, "sluice_upstream_seconds_count", "route=\"obs\"") >= 5, text);
        assertTrue(text.contains("sluice_requests_seconds_bucket{route=\"obs\",status=\"200\",le=\"0.005\"}"), text);
        assertEquals(gw.gateway().current().version(), (long) value(text, "sluice_config_version", null));
        assertTrue(text.contains("jvm_memory_used_bytes"), "JVM metrics are exported too");
    }

    @Test
    void metricsShowHeapUsedAndMax() throws Exception {
        String text = scrape();
        double used = heap(text, "jvm_memory_used_bytes");
        double max = heap(text, "jvm_memory_max_bytes");
        assertTrue(used > 0, text);
        assertEquals(Runtime.getRuntime().maxMemory(), max, Runtime.getRuntime().maxMemory() * 0.1,
                "the heap maximum is the -Xmx (pools without a maximum of their own report -1 and are left out)");
        assertTrue(used <= max, used + " > " + max);
        assertTrue(text.contains("jvm_gc_pause_seconds") || text.contains("jvm_gc_memory_allocated_bytes_total"),
                "GC metrics are exported too");
    }

    /** Sum over the heap's pools of a jvm_memory_* gauge, leaving out -1 (no maximum). */
    private static double heap(String text, String name) {
        double sum = 0;
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^" + name + "\\{area=\"heap\",[^}]*} (\\S+)$")
                .matcher(text);
        int n = 0;
        while (m.find()) {
            double v = Double.parseDouble(m.group(1));
            sum += v > 0 ? v : 0;
            n++;
        }
        assertTrue(n > 0, name + "{area=\"heap\"} missing: " + text);
        return sum;
    }

    private static String scrape() throws Exception {
        try (HttpClient c = HttpClient.newHttpClient()) {
            HttpResponse<String> r = c.send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + gw.adminPort() + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode());
            assertTrue(r.headers().firstValue("Content-Type").orElseThrow().startsWith("text/plain"));
            return r.body();
        }
    }

    /** A sample's value; 0 when the series does not exist yet. */
    private static double value(String text, String name, String labels) {
        Pattern p = Pattern.compile("^" + Pattern.quote(name) + (labels == null ? "(\\{[^}]*})?"
                : "\\{" + Pattern.quote(labels) + "}") + " (\\S+)$", Pattern.MULTILINE);
        Matcher m = p.matcher(text);
        if (!m.find()) {
            return 0;   // no such series yet
        }
        return Double.parseDouble(m.group(m.groupCount()));
    }
}
