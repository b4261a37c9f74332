package io.sluice.runtime.proxy;

import io.sluice.runtime.SluiceServer;
import io.sluice.runtime.testing.Gateways;
import io.sluice.runtime.testing.RawHttp;
import io.sluice.runtime.testing.RawUpstream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Request smuggling probes: each is answered 400 with a JSON error, the connection is closed (so no byte of it
 * can be read as a second request), and nothing reaches the upstream.
 */
class SmugglingIT {
    private static RawUpstream upstream;
    private static SluiceServer gw;

    @BeforeAll
    static void start() throws Exception {
        upstream = RawUpstream.start((q, n) -> RawUpstream.Reply.keep("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
        gw = Gateways.start(Gateways.route("r", "/**", upstream.url()));
    }

    @AfterAll
    static void stop() throws Exception {
        gw.close();
        upstream.close();
    }

    private static final String HEAD = "POST /submit HTTP/1.1\r\nHost: x\r\n";
    // a second request hidden in the body: if anything parses it, the upstream sees GET /smuggled
    private static final String SMUGGLED = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
        "Host missing",
        "Host twice",
        "Host with a space",
        "Host with a bad port",
    })
    void badHostIsRefusedAndClosed(String name) throws Exception {
        String head = switch (name) {
            case "Host missing" -> "GET /x HTTP/1.1\r\n\r\n";
            case "Host twice" -> "GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n";
            case "Host with a space" -> "GET /x HTTP/1.1\r\nHost: a b\r\n\r\n";
            default -> "GET /x HTTP/1.1\r\nHost: a:80x\r\n\r\n";
        };
        int before = upstream.requests().size();
        try (RawHttp c = new RawHttp(gw.proxyPort())) {
            RawHttp.Response r = c.send(head + SMUGGLED);
            assertEquals(400, r.status(), name + ": " + r.text());
            assertTrue(r.text().contains("\"error\":\"bad_request\""), name + ": " + r.text());
            assertTrue(c.peerClosed(), name + ": connection must be closed");
        }
        assertEquals(before, upstream.requests().size(), name);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
        "CL.TE|Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
        "TE.CL|Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n5\r\nabcde\r\n0\r\n\r\n" + SMUGGLED,
        "duplicate CL, same|Content-Length: 5\r\nContent-Length: 5\r\n\r\nabcde" + SMUGGLED,
        "duplicate CL, different|Content-Length: 5\r\nContent-Length: 40\r\n\r\nabcde" + SMUGGLED,
        "CL list|Content-Length: 5, 5\r\n\r\nabcde" + SMUGGLED,
        "CL negative|Content-Length: -1\r\n\r\n" + SMUGGLED,
        "CL plus sign|Content-Length: +5\r\n\r\nabcde" + SMUGGLED,
        "TE xchunked|Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
        "TE chunked, identity|Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n" + SMUGGLED,
        "TE identity|Transfer-Encoding: identity\r\n\r\n" + SMUGGLED,
        "TE twice|Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
        "TE space before colon|Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
        "TE vertical tab|Transfer-Encoding:\u000bchunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
        "TE folded|Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
        "chunk size not hex|Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n" + SMUGGLED,
        "chunk size negative|Transfer-Encoding: chunked\r\n\r\n-1\r\nabc\r\n0\r\n\r\n" + SMUGGLED,
        "chunk size 0x|Transfer-Encoding: chunked\r\n\r\n0x5\r\nabcde\r\n0\r\n\r\n" + SMUGGLED,
        "chunk size overflow|Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffff1\r\nabc\r\n0\r\n\r\n" + SMUGGLED,
        "chunk data too long|Transfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n" + SMUGGLED,
        // transfer-coding names in other cases: the server underneath reads no body for them (TE.0)
        "TE CHUNKED|Transfer-Encoding: CHUNKED\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + SMUGGLED,
        "TE Chunked|Transfer-Encoding: Chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + SMUGGLED,
        "TE cHuNkEd|Transfer-Encoding: cHuNkEd\r\n\r\n0\r\n\r\n" + SMUGGLED,
        "TE chunked;ext|Transfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n" + SMUGGLED,
        "TE quoted|Transfer-Encoding: \"chunked\"\r\n\r\n0\r\n\r\n" + SMUGGLED,
        "TE comma first|Transfer-Encoding: , chunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
        "TE gzip, chunked|Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
        "TE NUL|Transfer-Encoding: chunked\u0000\r\n\r\n0\r\n\r\n" + SMUGGLED,
        "TE non-ASCII|Transfer-Encoding: ch\u00fcnked\r\n\r\n0\r\n\r\n" + SMUGGLED,
        "TE name with space|Transfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
        "TE obs-fold after|Transfer-Encoding: chunked\r\n\tidentity\r\n\r\n0\r\n\r\n" + SMUGGLED,
        // the CRLF that must end each chunk's data
        "chunk data then XX|Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n" + SMUGGLED,
        "chunk data then LF|Transfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n" + SMUGGLED,
        "chunk data then CR|Transfer-Encoding: chunked\r\n\r\n5\r\nhello\rX0\r\n\r\n" + SMUGGLED,
        "chunk data then nothing|Transfer-Encoding: chunked\r\n\r\n5\r\nhello0\r\n\r\n" + SMUGGLED,
        // chunk-size forms
        "chunk size with space|Transfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n" + SMUGGLED,
        "chunk size with plus|Transfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n" + SMUGGLED,
        "chunk size empty|Transfer-Encoding: chunked\r\n\r\n\r\nhello\r\n0\r\n\r\n" + SMUGGLED,
        "chunk size bare LF|Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n" + SMUGGLED,
        "last chunk then trailer garbage|Transfer-Encoding: chunked\r\n\r\n0\r\nX\r\n\r\n" + SMUGGLED,
        // Content-Length forms
        "CL with space inside|Content-Length: 1 0\r\n\r\nabcde" + SMUGGLED,
        "CL hex|Content-Length: 0x5\r\n\r\nabcde" + SMUGGLED,
        "CL huge|Content-Length: 99999999999999999999\r\n\r\nabcde" + SMUGGLED,
        "CL empty|Content-Length: \r\n\r\nabcde" + SMUGGLED,
        "CL non-ASCII digit|Content-Length: \u0665\r\n\r\nabcde" + SMUGGLED,
        // bad bytes in the head
        "non-ASCII header value|X-Name: caf\u00e9\r\nContent-Length: 0\r\n\r\n" + SMUGGLED,
        "non-ASCII header name|X-N\u00e4me: v\r\nContent-Length: 0\r\n\r\n" + SMUGGLED,
        "NUL in header value|X-Name: a\u0000b\r\nContent-Length: 0\r\n\r\n" + SMUGGLED,
        "bare CR in header value|X-Name: a\rb\r\nContent-Length: 0\r\n\r\n" + SMUGGLED,
        "obs-fold header|X-Name: a\r\n b\r\nContent-Length: 0\r\n\r\n" + SMUGGLED,
    })
    void probeIsRefusedClosedAndNeverForwarded(String probe) throws Exception {
        String name = probe.substring(0, probe.indexOf('|'));
        String rest = probe.substring(probe.indexOf('|') + 1);
        int before = upstream.requests().size();
        try (RawHttp c = new RawHttp(gw.proxyPort())) {
            RawHttp.Response r = c.send(HEAD + rest);
            assertEquals(400, r.status(), name + ": " + r.text());
            assertTrue(r.text().contains("\"error\":\"bad_request\""), name + ": " + r.text());
            assertEquals("close", r.header("Connection"), name);
            assertTrue(c.peerClosed(), name + ": connection must be closed");
        }
        assertEquals(before, upstream.requests().size(), name + ": nothing may reach the upstream");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"close", "Close", "CLOSE", "keep-alive, close", "close, Upgrade", "Foo,close"})
    void connectionCloseEndsTheConnectionAfterTheResponse(String value) throws Exception {
        int before = upstream.requests().size();
        try (RawHttp c = new RawHttp(gw.proxyPort())) {
            RawHttp.Response r = c.send("GET /first HTTP/1.1\r\nHost: x\r\nConnection: " + value + "\r\n\r\n"
                    + SMUGGLED);
            assertEquals(200, r.status(), value);
            assertEquals("close", r.header("Connection"), value);
            assertTrue(c.peerClosed(), value + ": the connection must be closed after the response");
        }
        assertEquals(before + 1, upstream.requests().size(), value + ": only the first request may be forwarded");
        assertEquals("GET /first HTTP/1.1", upstream.requests().get(before).line());
    }
}
