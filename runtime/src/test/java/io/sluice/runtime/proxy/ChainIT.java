package io.sluice.runtime.proxy;

import io.sluice.runtime.SluiceServer;
import io.sluice.runtime.testing.EchoUpstream;
import io.sluice.runtime.testing.Gateways;
import io.sluice.runtime.testing.RawHttp;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The chain executor end to end: order, short-circuit, on_error, body access, global plugins. */
class ChainIT {
    private static EchoUpstream up;
    private static SluiceServer gw;

    @BeforeAll
    static void start() throws Exception {
        up = EchoUpstream.start("up");
        gw = Gateways.start("""
                global_plugins:
                  - name: test-trace
                    config: {tag: g}
                routes:
                  - id: ordered
                    paths: ["/ordered"]
                    upstream: {targets: [{url: "%1$s"}]}
                    plugins:
                      - {name: test-trace, config: {tag: a}}
                      - {name: test-trace, config: {tag: b}}
                  - id: short
                    paths: ["/short"]
                    upstream: {targets: [{url: "%1$s"}]}
                    plugins:
                      - {name: test-trace, config: {tag: a}}
                      - {name: test-respond, config: {status: 418}}
                      - {name: test-trace, config: {tag: never}}
                  - id: closed
                    paths: ["/closed"]
                    upstream: {targets: [{url: "%1$s"}]}
                    plugins:
                      - {name: test-fail}
                  - id: open
                    paths: ["/open"]
                    upstream: {targets: [{url: "%1$s"}]}
                    plugins:
                      - {name: test-fail, on_error: fail_open}
                      - {name: test-trace, config: {tag: after}}
                  - id: failing-response
                    paths: ["/failing-response"]
                    upstream: {targets: [{url: "%1$s"}]}
                    plugins:
                      - {name: test-fail, config: {phase: response}}
                  - id: body
                    paths: ["/body"]
                    upstream: {targets: [{url: "%1$s"}]}
                    plugins:
                      - {name: test-upper-body}
                  - id: limited
                    paths: ["/limited"]
                    upstream: {targets: [{url: "%1$s"}]}
                    plugins:
                      - {name: request-size-limit, config: {max_bytes: 10}}
                  - id: headers
                    paths: ["/headers"]
                    upstream: {targets: [{url: "%1$s"}]}
                    plugins:
                      - name: transform
                        config:
                          request: {headers: {remove: [X-Drop], rename: {X-Old: X-New}, set: {X-Set: "1"}, add: {X-Add: "2"}}}
                          response: {headers: {remove: [X-Upstream], set: {X-Served-By: sluice}}}
                """.formatted(up.url()));
    }

    @AfterAll
    static void stop() {
        gw.close();
        up.close();
    }

    private static RawHttp.Response get(String path) throws Exception {
        return RawHttp.exchange(gw.proxyPort(), "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n");
    }

    @Test
    void globalThenRouteFiltersInOrderAndResponseSideInReverse() throws Exception {
        RawHttp.Response r = get("/ordered");
        assertEquals(200, r.status());
        assertEquals(List.of("g", "a", "b"), up.last().headers().get("X-Trace"));
        assertEquals(List.of("b", "a", "g"), r.headers("X-Trace-Response"));
    }

    @Test
    void shortCircuitSkipsTheRestAndTheUpstream() throws Exception {
        int before = up.count();
        RawHttp.Response r = get("/short");
        assertEquals(418, r.status());
        assertTrue(r.text().contains("\"error\":\"short_circuit\""), r.text());
        assertEquals(List.of("a", "g"), r.headers("X-Trace-Response"), "filters before it still see the response");
        assertEquals(before, up.count());
    }

    @Test
    void failClosedIs500FilterError() throws Exception {
        int before = up.count();
        RawHttp.Response r = get("/closed");
        assertEquals(500, r.status());
        assertTrue(r.text().contains("\"error\":\"filter_error\""), r.text());
        assertEquals(before, up.count());
    }

    @Test
    void failOpenSkipsTheFailingFilter() throws Exception {
        RawHttp.Response r = get("/open");
        assertEquals(200, r.status());
        assertEquals(List.of("g", "after"), up.last().headers().get("X-Trace"));
    }

    @Test
    void failureOnTheResponseSideReplacesTheResponse() throws Exception {
        RawHttp.Response r = get("/failing-response");
        assertEquals(500, r.status());
        assertTrue(r.text().contains("\"error\":\"filter_error\""), r.text());
    }

    @Test
    void aFilterThatAsksForTheBodyCanReplaceIt() throws Exception {
        RawHttp.Response r = RawHttp.exchange(gw.proxyPort(),
                "POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
        assertEquals(200, r.status());
        assertEquals("HELLO", up.last().bodyText());
        assertEquals("5", up.last().header("Content-Length"));
    }

    @Test
    void requestSizeLimitAnswers413ForDeclaredAndChunkedBodies() throws Exception {
        int before = up.count();
        RawHttp.Response declared = RawHttp.exchange(gw.proxyPort(),
                "POST /limited HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world");
        assertEquals(413, declared.status());
        assertTrue(declared.text().contains("\"error\":\"payload_too_large\""), declared.text());
        RawHttp.Response chunked = RawHttp.exchange(gw.proxyPort(),
                "POST /limited HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n");
        assertEquals(413, chunked.status());
        assertEquals(before, up.count(), "over-limit bodies never reach the upstream");
        RawHttp.Response ok = RawHttp.exchange(gw.proxyPort(),
                "POST /limited HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhelloworld");
        assertEquals(200, ok.status());
        assertEquals("helloworld", up.last().bodyText());
    }

    @Test
    void transformChangesRequestAndResponseHeaders() throws Exception {
        RawHttp.Response r = RawHttp.exchange(gw.proxyPort(),
                "GET /headers HTTP/1.1\r\nHost: x\r\nX-Drop: 1\r\nX-Old: v\r\nX-Set: 0\r\nX-Add: 1\r\n\r\n");
        EchoUpstream.Received got = up.last();
        assertEquals(null, got.header("X-Drop"));
        assertEquals(null, got.header("X-Old"));
        assertEquals("v", got.header("X-New"));
        assertEquals(List.of("1"), got.headers().get("X-Set"));
        assertEquals(List.of("1", "2"), got.headers().get("X-Add"));
        assertEquals(null, r.header("X-Upstream"));
        assertEquals("sluice", r.header("X-Served-By"));
    }
}
