package io.sluice.runtime.observe;

import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.sluice.runtime.SluiceServer;
import io.sluice.runtime.testing.EchoUpstream;
import io.sluice.runtime.testing.Gateways;
import io.sluice.runtime.testing.RawHttp;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** OpenTelemetry spans of the request path and the traceparent sent upstream, through a real node and upstream. */
class TracingIT {
    private static final String TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
    private static final String PARENT = "00f067aa0ba902b7";

    private static EchoUpstream up;
    private static SluiceServer gw;
    private static InMemorySpanExporter spans;
    private static int deadPort;

    @BeforeAll
    static void start() throws Exception {
        up = EchoUpstream.start("up");
        deadPort = Gateways.refusedPort();
        spans = InMemorySpanExporter.create();
        OpenTelemetrySdk sdk = OpenTelemetrySdk.builder()
                .setTracerProvider(SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(spans))
                        .build())
                .build();
        gw = Gateways.start("""
                routes:
                  - id: traced
                    paths: ["/traced/**"]
                    upstream: {targets: [{url: "%1$s"}]}
                    plugins:
                      - {name: test-trace, config: {tag: a}}
                      - {name: request-size-limit, config: {max_bytes: 1000}}
                  - id: failing
                    paths: ["/failing"]
                    upstream: {targets: [{url: "%1$s"}]}
                    plugins:
                      - {name: test-fail}
                  - id: agg
                    paths: ["/agg"]
                    aggregate:
                      calls:
                        - {name: a, url: "%1$s/a"}
                        - {name: b, url: "%1$s/b"}
                  - id: down
                    paths: ["/down"]
                    upstream: {targets: [{url: "http://127.0.0.1:%2$d"}], connect_timeout_ms: 500}
                """.formatted(up.url(), deadPort), Tracing.of(sdk));
    }

    @AfterAll
    static void stop() {
        gw.close();
        up.close();
    }

    @BeforeEach
    void clear() {
        spans.reset();
    }

    private static RawHttp.Response get(String path, String... headers) throws Exception {
        return RawHttp.exchange(gw.proxyPort(), "GET " + path + " HTTP/1.1\r\nHost: x\r\n"
                + String.join("", List.of(headers).stream().map(h -> h + "\r\n").toList()) + "\r\n");
    }

    /** The spans of one trace once its SERVER span has ended (it ends after the response was written). */
    private static List<SpanData> trace(Predicate<SpanData> server) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < end) {
            List<SpanData> all = spans.getFinishedSpanItems();
            for (SpanData s : all) {
                if (s.getKind() == SpanKind.SERVER && server.test(s)) {
                    return all.stream().filter(x -> x.getTraceId().equals(s.getTraceId())).toList();
                }
            }
            Thread.sleep(10);
        }
        throw new AssertionError("no server span ended; have " + spans.getFinishedSpanItems());
    }

    private static SpanData named(List<SpanData> trace, String name) {
        return trace.stream().filter(s -> s.getName().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no span '" + name + "' in " + trace.stream()
                        .map(SpanData::getName).toList()));
    }

    private static <T> T attr(SpanData s, String key, Class<T> type) {
        Object v = type == Long.class ? s.getAttributes().get(AttributeKey.longKey(key))
                : s.getAttributes().get(AttributeKey.stringKey(key));
        return type.cast(v);
    }

    @Test
    void continuesTheClientsTraceWithASpanPerRequestFilterAndUpstreamCall() throws Exception {
        RawHttp.Response r = get("/traced/x?q=1", "traceparent: 00-" + TRACE + "-" + PARENT + "-01",
                "X-Request-Id: trace-req-1");
        assertEquals(200, r.status());
        List<SpanData> trace = trace(s -> TRACE.equals(s.getTraceId()));

        SpanData server = named(trace, "GET traced");
        assertEquals(PARENT, server.getParentSpanId(), "the client's span is the parent");
        assertEquals(200L, attr(server, "http.response.status_code", Long.class));
        assertEquals("traced", attr(server, "http.route", String.class));
        assertEquals("trace-req-1", attr(server, "sluice.request_id", String.class));
        assertEquals("/traced/x", attr(server, "url.path", String.class));

        for (String name : List.of("test-trace request", "request-size-limit request", "test-trace response")) {
            SpanData f = named(trace, name);
            assertEquals(SpanKind.INTERNAL, f.getKind());
            assertEquals(server.getSpanId(), f.getParentSpanId(), name + " is a child of the request");
        }
        assertTrue(trace.stream().noneMatch(s -> s.getName().equals("request-size-limit response")),
                "a filter without onResponse has no response span");

        SpanData client = trace.stream().filter(s -> s.getKind() == SpanKind.CLIENT).findFirst().orElseThrow();
        assertEquals(server.getSpanId(), client.getParentSpanId());
        assertEquals(up.url() + "/traced/x?q=1", attr(client, "url.full", String.class));
        assertEquals(200L, attr(client, "http.response.status_code", Long.class));

        String sent = up.last().header("traceparent");
        assertEquals("00-" + TRACE + "-" + client.getSpanId() + "-01", sent,
                "the upstream's parent is the gateway's call to it");
        assertEquals(1, up.last().headers().get("traceparent").size());
    }

    @Test
    void anUnsampledRequestMakesNoSpansButItsContextGoesUpstream() throws Exception {
        // the SDK's default sampler follows the parent: a client's trace with flags 00 is not sampled
        String unsampled = "5bf92f3577b34da6a3ce929d0e0e4736";
        RawHttp.Response r = get("/traced/x", "traceparent: 00-" + unsampled + "-" + PARENT + "-00");
        assertEquals(200, r.status());
        assertEquals("a", r.header("X-Trace-Response"), "the filters still ran");
        assertEquals("a", up.last().header("X-Trace"));
        String sent = up.last().header("traceparent");
        assertEquals(55, sent.length(), sent);
        assertEquals("00-" + unsampled + "-", sent.substring(0, 36), "the client's trace id goes on: " + sent);
        assertNotEquals(PARENT, sent.substring(36, 52), "the upstream's parent is the gateway's span");
        assertNotEquals("0000000000000000", sent.substring(36, 52));
        assertEquals("-00", sent.substring(52), "not sampled: " + sent);
        assertEquals(1, up.last().headers().get("traceparent").size());

        // a sampled request after it: its spans are there and the unsampled trace has none (spans end after the
        // response is written, so wait for the sampled one before looking)
        assertEquals(200, get("/traced/y", "traceparent: 00-" + TRACE + "-" + PARENT + "-01").status());
        trace(s -> TRACE.equals(s.getTraceId()));
        assertTrue(spans.getFinishedSpanItems().stream().noneMatch(s -> s.getTraceId().equals(unsampled)),
                "no span of the unsampled request: " + spans.getFinishedSpanItems());
    }

    @Test
    void startsATraceWhenTheClientSentNoneOrAnInvalidOne() throws Exception {
        for (String[] headers : List.of(new String[0],
                new String[] {"traceparent: 00-00000000000000000000000000000000-" + PARENT + "-01"},
                new String[] {"traceparent: garbage"})) {
            spans.reset();
            assertEquals(200, get("/traced/new", headers).status());
            List<SpanData> trace = trace(s -> true);
            SpanData server = named(trace, "GET traced");
            assertFalse(server.getParentSpanContext().isValid(), "a new trace: no parent");
            assertNotEquals("00000000000000000000000000000000", server.getTraceId());
            SpanData client = trace.stream().filter(s -> s.getKind() == SpanKind.CLIENT).findFirst().orElseThrow();
            String sent = up.last().header("traceparent");
            assertEquals("00-" + server.getTraceId() + "-" + client.getSpanId() + "-", sent.substring(0, 53));
            assertEquals(1, HexFormat.fromHexDigits(sent.substring(53)) & 1, "sampled: " + sent);
        }
    }

    @Test
    void aFailingFilterAndAnUnreachableUpstreamMarkTheirSpansAsErrors() throws Exception {
        // the gateway's warning about the failure, as a JSON log line, names the request's trace
        java.io.ByteArrayOutputStream logged = new java.io.ByteArrayOutputStream();
        java.util.logging.StreamHandler handler = new java.util.logging.StreamHandler(logged, new JsonLogFormatter());
        java.util.logging.Logger proxyLog = java.util.logging.Logger.getLogger("io.sluice.runtime.proxy.ProxyHandler");
        proxyLog.addHandler(handler);
        try {
            assertEquals(500, get("/failing").status());
        } finally {
            proxyLog.removeHandler(handler);
            handler.close();
        }
        List<SpanData> trace = trace(s -> s.getName().equals("GET failing"));
        com.fasterxml.jackson.databind.JsonNode line = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(logged.toString(java.nio.charset.StandardCharsets.UTF_8).lines().findFirst().orElseThrow());
        assertEquals("WARN", line.get("level").asText());
        assertTrue(line.get("message").asText().contains("filter 'test-fail' failed in onRequest"), line.toString());
        assertEquals(trace.getFirst().getTraceId(), line.get("trace_id").asText());
        assertEquals(named(trace, "GET failing").getSpanId(), line.get("span_id").asText());
        SpanData filter = named(trace, "test-fail request");
        assertEquals(StatusCode.ERROR, filter.getStatus().getStatusCode());
        assertEquals("filter_error", attr(filter, "error.type", String.class));
        SpanData server = named(trace, "GET failing");
        assertEquals(StatusCode.ERROR, server.getStatus().getStatusCode());
        assertEquals(500L, attr(server, "http.response.status_code", Long.class));
        assertTrue(trace.stream().noneMatch(s -> s.getKind() == SpanKind.CLIENT), "upstream never called");

        spans.reset();
        assertEquals(502, get("/down").status());
        trace = trace(s -> s.getName().equals("GET down"));
        SpanData client = trace.stream().filter(s -> s.getKind() == SpanKind.CLIENT).findFirst().orElseThrow();
        assertEquals(StatusCode.ERROR, client.getStatus().getStatusCode());
        assertEquals("upstream_error", attr(client, "error.type", String.class));
        assertEquals("upstream_error", attr(named(trace, "GET down"), "error.type", String.class));
    }

    @Test
    void eachCallOfAnAggregateRouteHasItsOwnSpanAndTraceparent() throws Exception {
        int before = up.count();
        assertEquals(200, get("/agg", "traceparent: 00-" + TRACE + "-" + PARENT + "-01").status());
        List<SpanData> trace = trace(s -> TRACE.equals(s.getTraceId()));
        SpanData server = named(trace, "GET agg");
        List<SpanData> calls = trace.stream().filter(s -> s.getKind() == SpanKind.CLIENT).toList();
        assertEquals(2, calls.size(), trace.toString());
        java.util.Set<String> sent = new java.util.HashSet<>();
        up.all().subList(before, up.count()).forEach(r -> sent.add(r.header("traceparent")));
        for (SpanData c : calls) {
            assertEquals(server.getSpanId(), c.getParentSpanId());
            // the echo upstream answers text, not JSON: the call is a bad_response
            assertEquals("bad_response", attr(c, "error.type", String.class));
            assertTrue(sent.contains("00-" + TRACE + "-" + c.getSpanId() + "-01"),
                    "call " + attr(c, "sluice.call", String.class) + " sent its own span as parent: " + sent);
        }
    }

    @Test
    void unroutedRequestsAreTracedWithTheirStatus() throws Exception {
        assertEquals(404, get("/nowhere", "traceparent: 00-" + TRACE + "-" + PARENT + "-01").status());
        SpanData server = named(trace(s -> TRACE.equals(s.getTraceId())), "GET");
        assertEquals(404L, attr(server, "http.response.status_code", Long.class));
        assertEquals(StatusCode.UNSET, server.getStatus().getStatusCode());
    }

    @Test
    void exportsOverOtlpHttpWhenConfiguredAndIsOffOtherwise() throws Exception {
        assertFalse(Tracing.fromEnvironment(Map.of()).on(), "no exporter named: no tracing");
        assertFalse(Tracing.fromEnvironment(Map.of("otel.traces.exporter", "none")).on());
        assertThrows(RuntimeException.class, () -> Tracing.fromEnvironment(Map.of("otel.traces.exporter", "bogus")),
                "a misconfigured exporter is an error at start, not silence");

        // a real OTLP/HTTP receiver: it records what the SDK's exporter posts
        LinkedBlockingQueue<Map.Entry<String, byte[]>> posts = new LinkedBlockingQueue<>();
        HttpServer collector = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        collector.createContext("/v1/traces", ex -> {
            posts.add(Map.entry(ex.getRequestHeaders().getFirst("Content-Type"), ex.getRequestBody().readAllBytes()));
            ex.sendResponseHeaders(200, -1);
            ex.close();
        });
        collector.start();
        Tracing otlp = Tracing.fromEnvironment(Map.of("otel.traces.exporter", "otlp",
                "otel.exporter.otlp.traces.endpoint",
                "http://127.0.0.1:" + collector.getAddress().getPort() + "/v1/traces",
                "otel.bsp.schedule.delay", "50"));
        String trace = "0af7651916cd43dd8448eb211c80319c";
        try (SluiceServer node = Gateways.start(Gateways.route("otlp", "/otlp", up.url()), otlp)) {
            assertTrue(otlp.on());
            RawHttp.Response r = RawHttp.exchange(node.proxyPort(), "GET /otlp HTTP/1.1\r\nHost: x\r\n"
                    + "traceparent: 00-" + trace + "-" + PARENT + "-01\r\n\r\n");
            assertEquals(200, r.status());
            byte[] traceId = HexFormat.of().parseHex(trace);
            Map.Entry<String, byte[]> post = null;
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (post == null && System.nanoTime() < end) {
                Map.Entry<String, byte[]> p = posts.poll(100, TimeUnit.MILLISECONDS);
                if (p != null && indexOf(p.getValue(), traceId) >= 0 && indexOf(p.getValue(), "GET otlp".getBytes()) >= 0) {
                    post = p;
                }
            }
            assertNotNull(post, "the collector received the request's span");
            assertEquals("application/x-protobuf", post.getKey());
            assertTrue(indexOf(post.getValue(), "sluice".getBytes()) >= 0, "service.name is sluice");
        } finally {
            collector.stop(0);
        }
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
