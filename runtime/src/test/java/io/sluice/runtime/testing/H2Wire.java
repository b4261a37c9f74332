package io.sluice.runtime.testing;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/**
 * A hand-driven HTTP/2 client connection (prior knowledge) for tests that send what a well-behaved client never
 * would: floods of resets or CONTINUATION frames. Header blocks are HPACK literals (no table, no Huffman).
 */
public final class H2Wire implements AutoCloseable {
    public static final int DATA = 0x0;
    public static final int HEADERS = 0x1;
    public static final int RST_STREAM = 0x3;
    public static final int SETTINGS = 0x4;
    public static final int GOAWAY = 0x7;
    public static final int CONTINUATION = 0x9;
    public static final int END_STREAM = 0x1;
    public static final int END_HEADERS = 0x4;
    public static final int ENHANCE_YOUR_CALM = 0xb;

    private static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    /** One frame as read. */
    public record Frame(int type, int flags, int stream, byte[] payload) {
        /** @return a GOAWAY's error code */
        public int errorCode() {
            return (payload[4] & 0xff) << 24 | (payload[5] & 0xff) << 16 | (payload[6] & 0xff) << 8 | payload[7] & 0xff;
        }

        /**
         * @param id a SETTINGS parameter id
         * @return its value in this SETTINGS frame, or -1
         */
        public long setting(int id) {
            for (int i = 0; i + 6 <= payload.length; i += 6) {
                int k = (payload[i] & 0xff) << 8 | payload[i + 1] & 0xff;
                if (k == id) {
                    return (payload[i + 2] & 0xffL) << 24 | (payload[i + 3] & 0xff) << 16 | (payload[i + 4] & 0xff) << 8
                            | payload[i + 5] & 0xff;
                }
            }
            return -1;
        }
    }

    private final Socket socket;
    private final OutputStream out;
    private final DataInputStream in;

    private H2Wire(Socket socket) throws IOException {
        this.socket = socket;
        this.out = socket.getOutputStream();
        this.in = new DataInputStream(socket.getInputStream());
    }

    /**
     * Opens a connection and sends the preface and an empty SETTINGS frame.
     *
     * @param port a plain (h2c) listener on loopback
     * @return the connection
     */
    public static H2Wire open(int port) throws IOException {
        H2Wire w = new H2Wire(new Socket("127.0.0.1", port));
        w.socket.setSoTimeout(10_000);
        w.out.write(PREFACE);
        w.frame(SETTINGS, 0, 0, new byte[0]);
        return w;
    }

    /**
     * An HPACK header block of literal fields ("literal without indexing"; pseudo-headers by their static-table
     * name, others by a new name).
     *
     * @param namesAndValues name, value, name, value, ... (each shorter than 127 bytes)
     * @return the block
     */
    public static byte[] headerBlock(String... namesAndValues) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int i = 0; i < namesAndValues.length; i += 2) {
            byte[] n = namesAndValues[i].getBytes(StandardCharsets.US_ASCII);
            byte[] v = namesAndValues[i + 1].getBytes(StandardCharsets.US_ASCII);
            int indexed = switch (namesAndValues[i]) {   // pseudo-headers name the static table's entry
                case ":authority" -> 1;
                case ":method" -> 2;
                case ":path" -> 4;
                case ":scheme" -> 6;
                default -> 0;
            };
            b.write(indexed);
            if (indexed == 0) {
                b.write(n.length);
                b.writeBytes(n);
            }
            b.write(v.length);
            b.writeBytes(v);
        }
        return b.toByteArray();
    }

    /** A GET's header block. */
    public static byte[] get(String path) {
        return headerBlock(":method", "GET", ":scheme", "http", ":path", path, ":authority", "127.0.0.1");
    }

    /** Writes one frame (buffered by the socket; flush is immediate). */
    public void frame(int type, int flags, int stream, byte[] payload) throws IOException {
        byte[] f = new byte[9 + payload.length];
        f[0] = (byte) (payload.length >>> 16);
        f[1] = (byte) (payload.length >>> 8);
        f[2] = (byte) payload.length;
        f[3] = (byte) type;
        f[4] = (byte) flags;
        f[5] = (byte) (stream >>> 24 & 0x7f);
        f[6] = (byte) (stream >>> 16);
        f[7] = (byte) (stream >>> 8);
        f[8] = (byte) stream;
        System.arraycopy(payload, 0, f, 9, payload.length);
        out.write(f);
    }

    /** RST_STREAM with CANCEL. */
    public void reset(int stream) throws IOException {
        frame(RST_STREAM, 0, stream, new byte[] {0, 0, 0, 8});
    }

    /** @return the next frame, or null at end of stream (or on a reset connection) */
    public Frame read() throws IOException {
        byte[] h = new byte[9];
        try {
            in.readFully(h);
            int len = (h[0] & 0xff) << 16 | (h[1] & 0xff) << 8 | h[2] & 0xff;
            byte[] p = new byte[len];
            in.readFully(p);
            return new Frame(h[3] & 0xff, h[4] & 0xff, (h[5] & 0x7f) << 24 | (h[6] & 0xff) << 16 | (h[7] & 0xff) << 8
                    | h[8] & 0xff, p);
        } catch (EOFException | java.net.SocketException e) {
            return null;
        }
    }

    /**
     * Reads until a frame of this type arrives.
     *
     * @return it, or null when the connection ended first
     * @throws SocketTimeoutException when nothing arrives for 10 s
     */
    public Frame await(int type) throws IOException {
        for (Frame f = read(); f != null; f = read()) {
            if (f.type == type) {
                return f;
            }
        }
        return null;
    }

    /**
     * Reads frames on a thread of its own while the test writes (a server that ends a flooded connection closes it
     * with the flood's bytes unread, so its kernel resets the connection, and a GOAWAY not read by then is lost).
     *
     * @return the GOAWAY, or empty when the connection ended (closed or reset) without one being read
     */
    public java.util.concurrent.CompletableFuture<java.util.Optional<Frame>> watchForGoAway() {
        var result = new java.util.concurrent.CompletableFuture<java.util.Optional<Frame>>();
        Thread.ofVirtual().start(() -> {
            try {
                result.complete(java.util.Optional.ofNullable(await(GOAWAY)));
            } catch (IOException e) {
                result.complete(java.util.Optional.empty());
            } catch (RuntimeException e) {
                result.completeExceptionally(e);
            }
        });
        return result;
    }

    /** @return whether the server closed the connection (reads reach end of stream within 10 s) */
    public boolean closedByServer() throws IOException {
        try {
            while (read() != null) {
                // drain
            }
            return true;
        } catch (SocketTimeoutException e) {
            return false;
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
