package io.sluice.runtime.proxy;

import io.sluice.registry.admin.Secrets;
import io.sluice.runtime.SluiceServer;
import io.sluice.runtime.observe.Telemetry;
import io.sluice.runtime.testing.Gateways;
import io.sluice.runtime.testing.RawHttp;
import io.sluice.runtime.testing.WsUpstream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * WebSocket proxying (issue 18), with the JDK's WebSocket client and a real WebSocket upstream: the handshake goes
 * through the route's chain (key-auth here), frames are relayed both ways and counted, idle connections are closed;
 * malformed or foreign upgrades are never tunnelled, and an upstream's refusal passes through.
 */
class WebSocketIT {
    private static final String KEY = "ws-test-key-0123456789";
    private static final String SAMPLE_KEY = "dGhlIHNhbXBsZSBub25jZQ==";

    private WsUpstream upstream;
    private SluiceServer gw;
    private HttpClient http;

    @BeforeEach
    void start() throws Exception {
        upstream = WsUpstream.start();
        gw = Gateways.start("""
                settings:
                  clients: {websocket_idle_timeout_ms: 1500, websocket_max_frame_bytes: 4096}
                consumers:
                  - id: app-1
                    api_keys: [{id: k1, hash: "%2$s"}]
                routes:
                  - id: ws
                    paths: ["/ws/**"]
                    upstream: {targets: [{url: "%1$s"}]}
                    plugins: [{name: key-auth, config: {}}]
                  - id: open
                    paths: ["/**"]
                    upstream: {targets: [{url: "%1$s"}]}
                  - id: down
                    paths: ["/down/**"]
                    upstream: {targets: [{url: "http://127.0.0.1:%3$d"}], connect_timeout_ms: 500}
                """.formatted(upstream.url(), Secrets.hash(KEY), Gateways.refusedPort()));
        http = HttpClient.newHttpClient();
    }

    @AfterEach
    void stop() throws Exception {
        http.close();
        gw.close();
        upstream.close();
    }

    /** Collects what the client's WebSocket receives. */
    private static final class Inbox implements WebSocket.Listener {
        final LinkedBlockingQueue<String> texts = new LinkedBlockingQueue<>();
        final CompletableFuture<String> ended = new CompletableFuture<>();
        private final StringBuilder part = new StringBuilder();

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            part.append(data);
            if (last) {
                texts.add(part.toString());
                part.setLength(0);
            }
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket ws, int status, String reason) {
            ended.complete("close " + status);
            return null;
        }

        @Override
        public void onError(WebSocket ws, Throwable error) {
            ended.complete("error " + error.getClass().getSimpleName());
        }
    }

    private WebSocket.Builder client(String... headers) {
        WebSocket.Builder b = http.newWebSocketBuilder().connectTimeout(java.time.Duration.ofSeconds(5));
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return b;
    }

    private URI uri(String path) {
        return URI.create("ws://127.0.0.1:" + gw.proxyPort() + path);
    }

    private static double metric(String name, String labels) {
        for (String line : Telemetry.scrape().split("\n")) {
            if ((line.startsWith(name + "{") || line.startsWith(name + " ")) && line.contains(labels)) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return 0;
    }

    @Test
    void echoThroughKeyAuthIsRefusedWithoutAKeyRelayedWithOneAndClosedOnIdle() throws Exception {
        // refused without a key: the handshake is answered by key-auth, nothing reaches the upstream
        CompletionException refused = assertThrows(CompletionException.class,
                () -> client().buildAsync(uri("/ws/echo"), new Inbox()).join());
        WebSocketHandshakeException e = assertInstanceOf(WebSocketHandshakeException.class, refused.getCause());
        assertEquals(401, e.getResponse().statusCode());
        assertEquals(0, upstream.heads().size(), "a refused handshake never reaches the upstream");

        double toUpstream = metric("sluice_websocket_frames_total", "direction=\"client_to_upstream\",route=\"ws\"");
        double toClient = metric("sluice_websocket_frames_total", "direction=\"upstream_to_client\",route=\"ws\"");
        double idleBefore = metric("sluice_websocket_closed_total", "reason=\"idle\"");
        awaitOpen(0);   // tunnels of other tests (other gateways in this JVM) have ended

        // relayed with one
        Inbox inbox = new Inbox();
        WebSocket ws = client("X-API-Key", KEY).buildAsync(uri("/ws/echo"), inbox).get(10, TimeUnit.SECONDS);
        for (int i = 0; i < 5; i++) {
            ws.sendText("hello " + i, true).get(5, TimeUnit.SECONDS);
            assertEquals("hello " + i, inbox.texts.poll(5, TimeUnit.SECONDS));
        }
        String big = "x".repeat(3000);   // a 16-bit length, under the 4096-byte frame limit
        ws.sendText(big, true).get(5, TimeUnit.SECONDS);
        assertEquals(big, inbox.texts.poll(5, TimeUnit.SECONDS));
        assertEquals(1, upstream.switched());
        WsUpstream.Head head = upstream.heads().getFirst();
        assertEquals("app-1", head.header("X-Consumer-Id"), "key-auth ran on the handshake");
        assertEquals("websocket", head.header("Upgrade"));
        assertEquals(1, metric("sluice_websocket_connections", ""), "one open");
        assertTrue(metric("sluice_websocket_frames_total", "direction=\"client_to_upstream\",route=\"ws\"")
                >= toUpstream + 6);
        assertTrue(metric("sluice_websocket_frames_total", "direction=\"upstream_to_client\",route=\"ws\"")
                >= toClient + 6);
        assertTrue(metric("sluice_requests_seconds_count", "route=\"ws\",status=\"101\"") >= 1,
                "the handshake is measured as a 101");

        // closed on idle: nothing either way for 1.5 s
        String how = inbox.ended.get(10, TimeUnit.SECONDS);
        assertTrue(how.startsWith("error") || how.startsWith("close"), how);
        assertEquals(idleBefore + 1, metric("sluice_websocket_closed_total", "reason=\"idle\""));
        assertEquals(1, gw.connections().orElseThrow().closedFor("websocket_idle"));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (upstream.ended() < 1 && System.nanoTime() < deadline) {
            Thread.sleep(20);   // the upstream side closes just after the client side
        }
        assertEquals(1, upstream.ended(), "the upstream connection is closed too");
        awaitOpen(0);
    }

    private static void awaitOpen(double n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (metric("sluice_websocket_connections", "") != n && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(n, metric("sluice_websocket_connections", ""));
    }

    @Test
    void aCloseHandshakePassesBothWays() throws Exception {
        Inbox inbox = new Inbox();
        WebSocket ws = client().subprotocols("chat", "superchat").buildAsync(uri("/echo"), inbox)
                .get(10, TimeUnit.SECONDS);
        assertEquals("chat", ws.getSubprotocol(), "Sec-WebSocket-Protocol passes both ways");
        ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(5, TimeUnit.SECONDS);
        assertEquals("close 1000", inbox.ended.get(5, TimeUnit.SECONDS));
    }

    @Test
    void bytesTheUpstreamSendsRightAfterItsHeadArriveFirst() throws Exception {
        Inbox inbox = new Inbox();
        WebSocket ws = client().buildAsync(uri("/push"), inbox).get(10, TimeUnit.SECONDS);
        assertEquals("hello", inbox.texts.poll(5, TimeUnit.SECONDS));
        ws.abort();
    }

    @Test
    void clientIdentityHeadersAreStrippedOnTheHandshake() throws Exception {
        Inbox inbox = new Inbox();
        WebSocket ws = client("X-API-Key", KEY, "X-Consumer-Id", "admin", "X-User-Id", "root")
                .buildAsync(uri("/ws/echo"), inbox).get(10, TimeUnit.SECONDS);
        WsUpstream.Head head = upstream.heads().getFirst();
        assertEquals("app-1", head.header("X-Consumer-Id"));
        assertNull(head.header("X-User-Id"));
        ws.abort();

        Inbox open = new Inbox();
        WebSocket ws2 = client("X-Consumer-Id", "admin").buildAsync(uri("/open"), open).get(10, TimeUnit.SECONDS);
        assertNull(upstream.heads().get(1).header("X-Consumer-Id"), "no auth on the route: none at all");
        ws2.abort();
    }

    /** A raw handshake head for {@code path} with these extra header lines. */
    private static String handshake(String method, String path, String extra) {
        return method + " " + path + " HTTP/1.1\r\nHost: gw\r\n" + extra + "\r\n";
    }

    @ParameterizedTest
    @ValueSource(strings = {
            // no Sec-WebSocket-Key
            "GET|Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n",
            // a key that is not 16 bytes
            "GET|Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: c2hvcnQ=\r\n",
            // another version
            "GET|Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 8\r\nSec-WebSocket-Key: "
                    + SAMPLE_KEY + "\r\n",
            // Upgrade without Connection: upgrade
            "GET|Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + SAMPLE_KEY + "\r\n",
            // POST with a body
            "POST|Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "
                    + SAMPLE_KEY + "\r\nContent-Length: 4\r\n\r\nbody",
            // another protocol
            "GET|Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n",
    })
    void aHandshakeThatIsNotAValidWebSocketOneIsAnOrdinaryRequest(String spec) throws Exception {
        String[] p = spec.split("\\|", 2);
        String extra = p[1];
        String body = "";
        int blank = extra.indexOf("\r\n\r\n");
        if (blank >= 0) {
            body = extra.substring(blank + 4);
            extra = extra.substring(0, blank + 2);
        }
        try (RawHttp c = new RawHttp(gw.proxyPort())) {
            RawHttp.Response r = c.send(handshake(p[0], "/echo", extra) + body);
            assertEquals(200, r.status(), r.text());
            assertEquals("plain", r.text(), "answered as a normal request");
            WsUpstream.Head head = upstream.heads().getLast();
            assertFalse(WsUpstream.has(head, "Upgrade"), "no upgrade is asked of the upstream: " + head);
            assertFalse(WsUpstream.has(head, "HTTP2-Settings"), "named in Connection: dropped");
            // the connection is still HTTP: a second request on it is answered
            assertEquals(200, c.send("GET /after HTTP/1.1\r\nHost: gw\r\n\r\n").status());
        }
        assertEquals(0, upstream.switched());
    }

    @ParameterizedTest
    @ValueSource(strings = {"/refuse200 200 plain", "/refuse403 403 no way"})
    void anUpstreamThatRefusesTheUpgradeIsPassedThroughAndNothingIsTunnelled(String spec) throws Exception {
        String[] p = spec.split(" ", 3);
        try (RawHttp c = new RawHttp(gw.proxyPort())) {
            RawHttp.Response r = c.send(handshake("GET", p[0], wsHeaders()));
            assertEquals(Integer.parseInt(p[1]), r.status(), r.text());
            assertEquals(p[2], r.text());
            assertNull(r.header("Upgrade"));
            assertEquals(200, c.send("GET /after HTTP/1.1\r\nHost: gw\r\n\r\n").status(), "still HTTP");
        }
        assertEquals(0, upstream.switched());
        CompletionException e = assertThrows(CompletionException.class,
                () -> client().buildAsync(uri(p[0]), new Inbox()).join());
        assertEquals(Integer.parseInt(p[1]),
                assertInstanceOf(WebSocketHandshakeException.class, e.getCause()).getResponse().statusCode());
    }

    @Test
    void aWrongAcceptFromTheUpstreamIsABadGateway() throws Exception {
        RawHttp.Response r = RawHttp.exchange(gw.proxyPort(), handshake("GET", "/badaccept", wsHeaders()));
        assertEquals(502, r.status(), r.text());
        assertTrue(r.text().contains("\"error\":\"bad_gateway\""), r.text());
    }

    @Test
    void anUpstreamThatIsDownIsABadGateway() throws Exception {
        RawHttp.Response r = RawHttp.exchange(gw.proxyPort(), handshake("GET", "/down/x", wsHeaders()));
        assertEquals(502, r.status(), r.text());
    }

    private static String wsHeaders() {
        return "Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                + "Sec-WebSocket-Key: " + SAMPLE_KEY + "\r\n";
    }

    /** A client frame, masked with a fixed key (or not masked). */
    private static byte[] frame(int opcode, byte[] payload, boolean masked) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.write(0x80 | opcode);
        int m = masked ? 0x80 : 0;
        if (payload.length < 126) {
            b.write(m | payload.length);
        } else {
            b.write(m | 126);
            b.write(payload.length >> 8);
            b.write(payload.length & 0xff);
        }
        byte[] mask = {1, 2, 3, 4};
        if (masked) {
            b.writeBytes(mask);
        }
        for (int i = 0; i < payload.length; i++) {
            b.write(masked ? payload[i] ^ mask[i & 3] : payload[i]);
        }
        return b.toByteArray();
    }

    /** Opens a raw connection, sends the handshake and {@code early} bytes in one write, reads the 101's head. */
    private Socket rawSwitch(byte[] early) throws IOException {
        Socket s = new Socket("127.0.0.1", gw.proxyPort());
        s.setSoTimeout(5000);
        OutputStream out = s.getOutputStream();
        ByteArrayOutputStream first = new ByteArrayOutputStream();
        first.writeBytes(handshake("GET", "/echo", wsHeaders()).getBytes(StandardCharsets.ISO_8859_1));
        first.writeBytes(early);
        out.write(first.toByteArray());
        out.flush();
        InputStream in = s.getInputStream();
        String status = readLine(in);
        assertTrue(status.startsWith("HTTP/1.1 101 "), status);
        boolean accept = false;
        String line;
        while (!(line = readLine(in)).isEmpty()) {
            accept |= line.equalsIgnoreCase("Sec-WebSocket-Accept: " + WsUpstream.accept(SAMPLE_KEY));
        }
        assertTrue(accept, "the upstream's accept is relayed");
        return s;
    }

    private static String readLine(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0 && c != '\n') {
            if (c != '\r') {
                b.append((char) c);
            }
        }
        return b.toString();
    }

    @Test
    void aFrameSentWithTheHandshakeIsRelayedAfterTheSwitch() throws Exception {
        try (Socket s = rawSwitch(frame(0x1, "early".getBytes(StandardCharsets.UTF_8), true))) {
            InputStream in = s.getInputStream();
            assertEquals(0x81, in.read());
            assertEquals(5, in.read());
            assertEquals("early", new String(in.readNBytes(5), StandardCharsets.UTF_8));
        }
    }

    @Test
    void anUnmaskedClientFrameEndsTheConnectionBeforeTheUpstreamSeesIt() throws Exception {
        double before = metric("sluice_websocket_closed_total", "reason=\"unmasked_frame\"");
        try (Socket s = rawSwitch(new byte[0])) {
            s.getOutputStream().write(frame(0x1, "bare".getBytes(StandardCharsets.UTF_8), false));
            assertEquals(-1, s.getInputStream().read(), "closed");
        }
        assertEquals(0, upstream.framesIn());
        assertEquals(before + 1, metric("sluice_websocket_closed_total", "reason=\"unmasked_frame\""));
    }

    @Test
    void aFrameOverTheLimitEndsTheConnectionBeforeTheUpstreamSeesIt() throws Exception {
        double before = metric("sluice_websocket_closed_total", "reason=\"frame_too_large\"");
        try (Socket s = rawSwitch(new byte[0])) {
            OutputStream out = s.getOutputStream();
            out.write(frame(0x2, new byte[100], true));
            InputStream in = s.getInputStream();
            assertEquals(0x82, in.read());
            assertEquals(100, in.read());
            in.readNBytes(100);
            out.write(frame(0x2, new byte[5000], true));
            assertEquals(-1, in.read(), "closed");
        }
        assertEquals(1, upstream.framesIn(), "only the first frame reached the upstream");
        assertEquals(before + 1, metric("sluice_websocket_closed_total", "reason=\"frame_too_large\""));
        assertNotNull(upstream.heads().getFirst().header("Sec-WebSocket-Key"));
    }
}
