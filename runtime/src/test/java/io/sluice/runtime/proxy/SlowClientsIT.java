package io.sluice.runtime.proxy;

import io.sluice.runtime.SluiceServer;
import io.sluice.runtime.edge.EdgeConnections;
import io.sluice.runtime.testing.Gateways;
import io.sluice.runtime.testing.RawHttp;
import io.sluice.runtime.testing.RawUpstream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Slow and greedy clients against the proxy listener's limits (set low here): a head that trickles in, a body that
 * stalls, a connection that says nothing, too many connections from one address. Each is ended by the gateway,
 * nothing of it reaches the upstream, and a well-behaved client is served meanwhile.
 */
class SlowClientsIT {
    private RawUpstream upstream;
    private SluiceServer gw;

    @BeforeEach
    void start() throws Exception {
        upstream = RawUpstream.start((q, n) -> RawUpstream.Reply.keep("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
        gw = Gateways.start("""
                settings:
                  clients: {header_timeout_ms: 600, body_idle_timeout_ms: 600, keepalive_timeout_ms: 1500,
                            max_connections: 50, max_connections_per_address: 4}
                routes:
                  - id: r
                    paths: ["/**"]
                    upstream: {targets: [{url: "%s"}]}
                """.formatted(upstream.url()));
    }

    @AfterEach
    void stop() throws Exception {
        gw.close();
        upstream.close();
    }

    private EdgeConnections edge() {
        return gw.connections().orElseThrow();
    }

    /** Writes {@code parts} one by one, {@code gapMs} apart, until the gateway closes the connection. */
    private static boolean closedWhileTrickling(Socket s, String first, String part, int gapMs, int parts)
            throws Exception {
        OutputStream out = s.getOutputStream();
        out.write(first.getBytes(StandardCharsets.ISO_8859_1));
        for (int i = 0; i < parts; i++) {
            Thread.sleep(gapMs);   // the client's pace, not a wait for the gateway
            try {
                out.write(part.getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
            } catch (IOException e) {
                return true;   // reset: the gateway closed it
            }
            if (eof(s)) {
                return true;
            }
        }
        return false;
    }

    private static boolean eof(Socket s) throws IOException {
        s.setSoTimeout(1);
        try {
            InputStream in = s.getInputStream();
            return in.read() < 0;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    @Test
    void aTricklingHeadIsCutOffAndALegitimateClientIsServed() throws Exception {
        int before = upstream.requests().size();
        try (Socket s = new Socket("127.0.0.1", gw.proxyPort())) {
            // slowloris: one header line every 200 ms, for up to 10 s; the head timeout is 600 ms
            assertTrue(closedWhileTrickling(s, "GET /slow HTTP/1.1\r\nHost: x\r\n", "X-A: b\r\n", 200, 50),
                    "the slow head must be cut off");
            assertEquals(200, RawHttp.exchange(gw.proxyPort(), "GET /fine HTTP/1.1\r\nHost: x\r\n\r\n").status());
        }
        assertTrue(edge().closedFor("head") >= 1);
        assertEquals(before + 1, upstream.requests().size(), "only the legitimate request is forwarded");
    }

    @Test
    void aConnectionThatSaysNothingIsClosed() throws Exception {
        try (Socket s = new Socket("127.0.0.1", gw.proxyPort())) {
            s.setSoTimeout(10_000);
            assertEquals(-1, s.getInputStream().read(), "closed without a response");
        }
        assertTrue(edge().closedFor("head") >= 1);
    }

    @Test
    void aStalledBodyIsCutOff() throws Exception {
        int before = upstream.requests().size();
        try (Socket s = new Socket("127.0.0.1", gw.proxyPort())) {
            // 1,000 bytes announced, one byte every 900 ms: each pause is over the 600 ms body idle limit
            assertTrue(closedWhileTrickling(s, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nab",
                    "c", 900, 12), "the stalled body must be cut off");
        }
        assertTrue(edge().closedFor("body") >= 1, "head " + edge().closedFor("head") + " idle "
                + edge().closedFor("idle"));
        assertEquals(before, upstream.requests().size(), "nothing of it reaches the upstream");
    }

    @Test
    void aSlowButSteadyKeepAliveClientIsServed() throws Exception {
        try (RawHttp c = new RawHttp(gw.proxyPort())) {
            for (int i = 0; i < 3; i++) {
                assertEquals(200, c.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n").status());
                Thread.sleep(400);   // idle between requests, under the 1.5 s keep-alive limit
            }
        }
    }

    @Test
    void connectionsPerAddressAreBounded() throws Exception {
        List<Socket> held = new ArrayList<>();
        try {
            for (int i = 0; i < 4; i++) {
                Socket s = new Socket("127.0.0.1", gw.proxyPort());
                held.add(s);
                // a served request proves the connection is counted before the next one opens
                s.getOutputStream().write("GET /h HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                s.setSoTimeout(5000);
                assertTrue(new String(s.getInputStream().readNBytes(12), StandardCharsets.US_ASCII)
                        .startsWith("HTTP/1.1 200"));
            }
            RawHttp.Response refused = RawHttp.exchange(gw.proxyPort(), "GET /fifth HTTP/1.1\r\nHost: x\r\n\r\n");
            assertEquals(503, refused.status(), refused.text());
            assertTrue(refused.text().contains("\"error\":\"too_many_connections\""), refused.text());
            assertEquals("close", refused.header("Connection"));
        } finally {
            for (Socket s : held) {
                s.close();
            }
        }
        assertTrue(edge().closedFor("refused") >= 1);
        // the freed places are given back once the gateway sees the closes
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (edge().open() > 0 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertEquals(200, RawHttp.exchange(gw.proxyPort(), "GET /again HTTP/1.1\r\nHost: x\r\n\r\n").status());
    }

    @Test
    void aBodyArrivingTwoBytesAtATimeIsForwardedWhole() throws Exception {
        int before = upstream.requests().size();
        try (Socket s = new Socket("127.0.0.1", gw.proxyPort())) {
            OutputStream out = s.getOutputStream();
            out.write("POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            for (String part : new String[] {"ab", "cd", "ef", "gh", "ij"}) {
                Thread.sleep(50);   // separate reads on the gateway's side
                out.write(part.getBytes(StandardCharsets.US_ASCII));
                out.flush();
            }
            s.setSoTimeout(5000);
            assertTrue(new String(s.getInputStream().readNBytes(12), StandardCharsets.US_ASCII)
                    .startsWith("HTTP/1.1 200"));
        }
        assertEquals("abcdefghij", new String(upstream.requests().get(before).body(), StandardCharsets.US_ASCII));
    }
}
