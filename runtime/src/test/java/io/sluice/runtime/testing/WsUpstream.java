package io.sluice.runtime.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real WebSocket upstream on a raw socket (RFC 6455, written here so that a test can also make it misbehave).
 * By request path: {@code /refuse200} and {@code /refuse403} answer the handshake without switching,
 * {@code /badaccept} switches with a wrong {@code Sec-WebSocket-Accept}, {@code /push} switches and sends a text
 * frame {@code hello} at once; any other valid handshake switches and echoes every data frame (pong for ping,
 * close for close). A request that is not a handshake is answered 200 {@code plain}.
 */
public final class WsUpstream implements AutoCloseable {
    /** A request head as received: its request line and header lines. */
    public record Head(String line, List<String> headers) {
        /** First value of a header, or null. */
        public String header(String name) {
            for (String h : headers) {
                int c = h.indexOf(':');
                if (h.substring(0, c).equalsIgnoreCase(name)) {
                    return h.substring(c + 1).strip();
                }
            }
            return null;
        }
    }

    private final ServerSocket server;
    private final ConcurrentLinkedQueue<Head> heads = new ConcurrentLinkedQueue<>();
    private final AtomicInteger switched = new AtomicInteger();
    private final AtomicInteger framesIn = new AtomicInteger();
    private final AtomicInteger ended = new AtomicInteger();

    private WsUpstream() throws IOException {
        server = new ServerSocket(0, 128, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(this::acceptLoop);
    }

    /** Starts one on a free loopback port. */
    public static WsUpstream start() throws IOException {
        return new WsUpstream();
    }

    /** @return base URL */
    public String url() {
        return "http://127.0.0.1:" + server.getLocalPort();
    }

    /** @return request heads received so far */
    public List<Head> heads() {
        return List.copyOf(heads);
    }

    /** @return connections switched to WebSocket so far */
    public int switched() {
        return switched.get();
    }

    /** @return data and control frames received on switched connections */
    public int framesIn() {
        return framesIn.get();
    }

    /** @return switched connections that have ended */
    public int ended() {
        return ended.get();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                Thread.ofVirtual().start(() -> serve(s));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket s) {
        try (s) {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            while (true) {
                String line = RawHttp.readLine(in);
                if (line == null) {
                    return;
                }
                List<String> lines = new java.util.ArrayList<>();
                String h;
                while ((h = RawHttp.readLine(in)) != null && !h.isEmpty()) {
                    lines.add(h);
                }
                Head head = new Head(line, lines);
                heads.add(head);
                String path = line.split(" ")[1];
                String key = head.header("Sec-WebSocket-Key");
                boolean upgrade = "websocket".equalsIgnoreCase(head.header("Upgrade")) && key != null;
                String cl = head.header("Content-Length");
                if (cl != null) {
                    in.readNBytes(Integer.parseInt(cl));
                }
                if (!upgrade || path.startsWith("/refuse200")) {
                    write(out, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nplain");
                    continue;
                }
                if (path.startsWith("/refuse403")) {
                    write(out, "HTTP/1.1 403 Forbidden\r\nContent-Length: 6\r\n\r\nno way");
                    continue;
                }
                String accept = path.startsWith("/badaccept") ? accept("not-the-key") : accept(key);
                String protocol = head.header("Sec-WebSocket-Protocol");
                write(out, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        + "Sec-WebSocket-Accept: " + accept + "\r\n"
                        + (protocol == null ? "" : "Sec-WebSocket-Protocol: " + protocol.split(",")[0].strip() + "\r\n")
                        + "X-Upstream: ws\r\n\r\n");
                switched.incrementAndGet();
                try {
                    if (path.startsWith("/push")) {
                        frame(out, 0x1, "hello".getBytes(StandardCharsets.UTF_8));
                    }
                    echo(in, out);
                } finally {
                    ended.incrementAndGet();
                }
                return;
            }
        } catch (Exception e) {
            // connection ends
        }
    }

    private void echo(InputStream in, OutputStream out) throws IOException {
        while (true) {
            int b0 = in.read();
            if (b0 < 0) {
                return;
            }
            int b1 = in.read();
            long len = b1 & 0x7f;
            if (len == 126) {
                len = (in.read() << 8) | in.read();
            } else if (len == 127) {
                len = 0;
                for (int i = 0; i < 8; i++) {
                    len = len << 8 | in.read();
                }
            }
            byte[] mask = (b1 & 0x80) != 0 ? in.readNBytes(4) : null;
            byte[] payload = in.readNBytes((int) len);
            if (mask != null) {
                for (int i = 0; i < payload.length; i++) {
                    payload[i] ^= mask[i & 3];
                }
            }
            framesIn.incrementAndGet();
            int opcode = b0 & 0x0f;
            switch (opcode) {
                case 0x8 -> {
                    frame(out, 0x8, payload);
                    return;
                }
                case 0x9 -> frame(out, 0xA, payload);
                case 0xA -> { }
                default -> {
                    out.write(new byte[] {(byte) b0});   // the same FIN and opcode (continuations too)
                    header(out, payload.length);
                    out.write(payload);
                    out.flush();
                }
            }
        }
    }

    /** Writes an unmasked final frame. */
    private static void frame(OutputStream out, int opcode, byte[] payload) throws IOException {
        out.write(0x80 | opcode);
        header(out, payload.length);
        out.write(payload);
        out.flush();
    }

    private static void header(OutputStream out, int length) throws IOException {
        if (length < 126) {
            out.write(length);
        } else if (length < 65536) {
            out.write(126);
            out.write(length >> 8);
            out.write(length & 0xff);
        } else {
            out.write(127);
            for (int i = 7; i >= 0; i--) {
                out.write((int) ((long) length >> (8 * i)) & 0xff);
            }
        }
    }

    private static void write(OutputStream out, String s) throws IOException {
        out.write(s.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    /** The Sec-WebSocket-Accept for a key (RFC 6455 §4.2.2). */
    public static String accept(String key) {
        try {
            return Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-1")
                    .digest((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").getBytes(StandardCharsets.US_ASCII)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A lower-case check helper for tests: whether any received header line names {@code name}. */
    public static boolean has(Head head, String name) {
        String n = name.toLowerCase(Locale.ROOT) + ":";
        return head.headers().stream().anyMatch(h -> h.toLowerCase(Locale.ROOT).startsWith(n));
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
