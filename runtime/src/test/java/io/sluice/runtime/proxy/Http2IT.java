package io.sluice.runtime.proxy;

import io.helidon.webclient.api.HttpClientResponse;
import io.helidon.webclient.http2.Http2Client;
import io.sluice.runtime.SluiceServer;
import io.sluice.runtime.edge.EdgeConnections;
import io.sluice.runtime.testing.EchoUpstream;
import io.sluice.runtime.testing.Gateways;
import io.sluice.runtime.testing.H2Wire;
import io.sluice.runtime.testing.RawUpstream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * HTTP/2 by prior knowledge on the proxy port (h2c), its advertised limits, the two floods that end a connection,
 * and HTTP/1.0 on the same port.
 */
class Http2IT {
    private EchoUpstream upstream;
    private SluiceServer gw;

    @BeforeEach
    void start() throws Exception {
        upstream = EchoUpstream.start("app");
        gw = Gateways.start("""
                routes:
                  - id: r
                    paths: ["/app/**"]
                    upstream: {targets: [{url: "%s"}]}
                """.formatted(upstream.url()));
    }

    @AfterEach
    void stop() {
        gw.close();
        upstream.close();
    }

    private Http2Client client() {
        return Http2Client.builder()
                .baseUri("http://127.0.0.1:" + gw.proxyPort())
                .protocolConfig(pc -> pc.priorKnowledge(true))
                .shareConnectionCache(false)
                .readTimeout(Duration.ofSeconds(10))
                .build();
    }

    @Test
    void priorKnowledgeRequestsAreProxiedWithTheirBodies() {
        Http2Client c = client();
        try (HttpClientResponse r = c.get("/app/hello").queryParam("x", "1").header(io.helidon.http.HeaderNames.create("X-Test"), "1")
                .request()) {
            assertEquals(200, r.status().code());
            assertTrue(r.headers().contains(io.helidon.http.HeaderNames.create("X-Request-Id")));
        }
        EchoUpstream.Received got = upstream.last();
        assertEquals("GET", got.method());
        assertEquals("/app/hello?x=1", got.target());
        assertEquals("1", got.header("X-Test"));
        assertEquals("http", got.header("X-Forwarded-Proto"));
        assertTrue(got.header("Host").startsWith("127.0.0.1"), got.header("Host"));

        // a body sent as DATA frames without Content-Length reaches the upstream whole
        byte[] big = "0123456789".repeat(20_000).getBytes(StandardCharsets.US_ASCII);
        try (HttpClientResponse r = c.post("/app/upload").outputStream(os -> {
            for (int i = 0; i < big.length; i += 7_000) {
                os.write(big, i, Math.min(7_000, big.length - i));
            }
            os.close();
        })) {
            assertEquals(200, r.status().code());
            r.entity().consume();
        }
        assertEquals(big.length, upstream.last().body().length);
        assertEquals("POST", upstream.last().method());
    }

    @Test
    void unknownRoutesAndBadPathsAnswerAsOnHttp1() {
        Http2Client c = client();
        try (HttpClientResponse r = c.get("/nothing").request()) {
            assertEquals(404, r.status().code());
            assertTrue(r.as(String.class).contains("no_route"));
        }
        assertEquals(0, upstream.count());
    }

    /** The path rules of the edge apply to :path exactly as to an HTTP/1.1 request target. */
    @Test
    void pathTricksInColonPathAreRefused() throws Exception {
        for (String path : new String[] {"/app/%2e%2e/%2e%2e/etc/passwd", "/app/../../etc/passwd", "/app/a%00b",
                "/app/a\\..\\b", "app/no-slash"}) {
            try (H2Wire w = H2Wire.open(gw.proxyPort())) {
                w.frame(H2Wire.HEADERS, H2Wire.END_HEADERS | H2Wire.END_STREAM, 1, H2Wire.get(path));
                H2Wire.Frame head = w.await(H2Wire.HEADERS);
                int status = head == null ? -1 : statusOf(head);
                assertTrue(status == 400 || status == 404 || head == null, path + " answered " + status);
            }
        }
        assertEquals(0, upstream.count());
    }

    /** :status of a response HEADERS frame that starts with an indexed static-table status. */
    private static int statusOf(H2Wire.Frame head) {
        int b = head.payload()[0] & 0xff;
        return switch (b) {
            case 0x88 -> 200;
            case 0x89 -> 204;
            case 0x8a -> 206;
            case 0x8b -> 304;
            case 0x8c -> 400;
            case 0x8d -> 404;
            case 0x8e -> 500;
            default -> b;   // a literal status: not one of the above
        };
    }

    @Test
    void settingsAdvertiseTheDocumentedLimits() throws Exception {
        try (H2Wire w = H2Wire.open(gw.proxyPort())) {
            H2Wire.Frame settings = w.await(H2Wire.SETTINGS);
            assertNotNull(settings);
            assertEquals(SluiceServer.H2_MAX_CONCURRENT_STREAMS, settings.setting(0x3), "MAX_CONCURRENT_STREAMS");
            assertEquals(SluiceServer.MAX_HEADERS_BYTES, settings.setting(0x6), "MAX_HEADER_LIST_SIZE");
            assertEquals(SluiceServer.H2_INITIAL_WINDOW, settings.setting(0x4), "INITIAL_WINDOW_SIZE");
        }
    }

    /** CVE-2023-44487: streams opened and cancelled at once, as fast as the client can write. */
    @Test
    void rapidResetEndsTheConnectionWithEnhanceYourCalm() throws Exception {
        EdgeConnections edge = gw.connections().orElseThrow();
        try (H2Wire w = H2Wire.open(gw.proxyPort())) {
            var goAway = w.watchForGoAway();
            int stream = 1;
            try {
                for (int i = 0; i < 5_000; i++, stream += 2) {
                    w.frame(H2Wire.HEADERS, H2Wire.END_HEADERS | H2Wire.END_STREAM, stream, H2Wire.get("/app/r"));
                    w.reset(stream);
                }
            } catch (IOException e) {
                // the gateway closed the connection while we were still writing: expected
            }
            // the connection ends; its GOAWAY says why, unless the reset that follows it beat our reader
            var seen = goAway.get(10, java.util.concurrent.TimeUnit.SECONDS);
            seen.ifPresent(f -> assertEquals(H2Wire.ENHANCE_YOUR_CALM, f.errorCode()));
            assertTrue(w.closedByServer(), "after " + (stream / 2) + " streams");
        }
        assertEquals(1, edge.closedFor("h2_flood"), "ended by the rapid-reset rule");
        assertTrue(upstream.count() <= 2 * 200, "streams that reached the upstream: " + upstream.count());
        // others are served as before
        try (HttpClientResponse r = client().get("/app/after").request()) {
            assertEquals(200, r.status().code());
        }
    }

    /** CVE-2024-27316: a header block that never ends. */
    @Test
    void continuationFloodEndsTheConnectionWithEnhanceYourCalm() throws Exception {
        EdgeConnections edge = gw.connections().orElseThrow();
        try (H2Wire w = H2Wire.open(gw.proxyPort())) {
            var goAway = w.watchForGoAway();
            w.frame(H2Wire.HEADERS, H2Wire.END_STREAM, 1, H2Wire.headerBlock(":method", "GET", ":scheme", "http"));
            int sent = 0;
            try {
                for (; sent < 100_000; sent++) {
                    w.frame(H2Wire.CONTINUATION, 0, 1, new byte[0]);
                }
            } catch (IOException e) {
                // closed while writing
            }
            var seen = goAway.get(10, java.util.concurrent.TimeUnit.SECONDS);
            seen.ifPresent(f -> assertEquals(H2Wire.ENHANCE_YOUR_CALM, f.errorCode()));
            assertTrue(w.closedByServer(), "after " + sent + " CONTINUATION frames");
        }
        assertEquals(1, edge.closedFor("h2_flood"), "ended by the CONTINUATION rule");
        assertEquals(0, upstream.count());
        // a header block split over a few CONTINUATION frames is still fine
        try (H2Wire w = H2Wire.open(gw.proxyPort())) {
            byte[] block = H2Wire.headerBlock(":method", "GET", ":scheme", "http", ":path", "/app/split",
                    ":authority", "127.0.0.1", "x-a", "1".repeat(100), "x-b", "2".repeat(100));
            int third = block.length / 3;
            w.frame(H2Wire.HEADERS, H2Wire.END_STREAM, 1, java.util.Arrays.copyOfRange(block, 0, third));
            w.frame(H2Wire.CONTINUATION, 0, 1, java.util.Arrays.copyOfRange(block, third, 2 * third));
            w.frame(H2Wire.CONTINUATION, H2Wire.END_HEADERS, 1, java.util.Arrays.copyOfRange(block, 2 * third,
                    block.length));
            H2Wire.Frame head = w.await(H2Wire.HEADERS);
            assertNotNull(head);
            assertEquals(1, head.stream());
        }
        assertEquals("/app/split", upstream.last().target());
        assertEquals("2".repeat(100), upstream.last().header("x-b"));
    }

    @Test
    void http10IsAnsweredWithALengthThenClosed() throws Exception {
        // with and without Host
        for (String req : new String[] {"GET /app/old HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", "GET /app/old HTTP/1.0\r\n\r\n"}) {
            String resp = exchange(gw.proxyPort(), req);
            assertTrue(resp.startsWith("HTTP/1.1 200 "), resp);
            assertTrue(resp.toLowerCase().contains("\r\ncontent-length: "), resp);
            assertFalse(resp.toLowerCase().contains("transfer-encoding"), resp);
            assertTrue(resp.toLowerCase().contains("\r\nconnection: close"), resp);
        }
        assertEquals("GET", upstream.last().method());
        assertEquals("/app/old", upstream.last().target());
    }

    @Test
    void http10GetsAChunkedUpstreamBodyWithALength() throws Exception {
        try (RawUpstream chunked = RawUpstream.start((q, n) -> RawUpstream.Reply.keep(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
             SluiceServer g = Gateways.start(Gateways.route("c", "/c/**", chunked.url()))) {
            String resp = exchange(g.proxyPort(), "GET /c/x HTTP/1.0\r\n\r\n");
            assertTrue(resp.startsWith("HTTP/1.1 200 "), resp);
            assertTrue(resp.toLowerCase().contains("\r\ncontent-length: 11\r\n"), resp);
            assertTrue(resp.endsWith("\r\n\r\nhello world"), resp);
        }
    }

    /** Sends raw bytes and reads until the server closes (fails if it does not within 10 s). */
    private static String exchange(int port, String raw) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(raw.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }
}
