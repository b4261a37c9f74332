package io.sluice.runtime.upstream;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.sluice.plugin.Headers;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Fuzzes the upstream client's response side: the response-head parser, framing, and the chunked decoder, through
 * the real {@link UpstreamClient#send} path over an in-memory socket whose bytes are the upstream's answer (read
 * back in uneven slices so lines and chunks straddle buffer fills).
 *
 * <p>Invariants: {@code send} gives a response or an {@link UpstreamException}; reading its body gives bytes or an
 * {@link IOException}; never another exception, never a hang. A response has a final status, no hop-by-hop or
 * framing headers, a body no longer than the bytes sent, exactly {@code contentLength} bytes when that is known;
 * a connection goes back to the pool only after a cleanly ended, reusable body, and is closed otherwise.
 * {@link #chunkedBody} also checks the decoded bytes against a reference decoder written from RFC 9112 §7.1.
 *
 * <p>Regression inputs: {@code src/test/resources/io/sluice/runtime/upstream/UpstreamResponseFuzzTestInputs/}.
 */
class UpstreamResponseFuzzTest {
    private static final UpstreamClient CLIENT = new UpstreamClient();
    private static final Deadlines DEADLINES = new Deadlines(() -> { });
    private static final int[] SLICES = {1, 5, 17, 4096, 3, 65536, 2, 700};
    private static final int[] READS = {8192, 1, 3, 20_000, 100};
    private static final List<String> NEVER_FORWARDED = List.of("Connection", "Keep-Alive", "Proxy-Connection",
            "Transfer-Encoding", "TE", "Trailer", "Upgrade", "Proxy-Authenticate", "Proxy-Authorization");

    /** The input is the upstream's whole answer to a GET. */
    @FuzzTest(maxDuration = "4m")
    void response(byte[] input) throws IOException {
        exchange(input, "GET", input.length % 2 == 0);
    }

    /**
     * The input's first byte pads the head (0..16 KiB) so the body crosses the connection's 16 KiB buffer at
     * varying offsets; the rest is a chunked body.
     */
    @FuzzTest(maxDuration = "4m")
    void chunkedBody(byte[] input) throws IOException {
        int pad = input.length == 0 ? 0 : (input[0] & 0xff) * 64;
        byte[] body = input.length == 0 ? input : Arrays.copyOfRange(input, 1, input.length);
        ByteArrayOutputStream wire = new ByteArrayOutputStream();
        wire.writeBytes(("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Pad: " + "p".repeat(pad) + "\r\n\r\n")
                .getBytes(StandardCharsets.ISO_8859_1));
        wire.writeBytes(body);
        Result r = exchange(wire.toByteArray(), "GET", false);
        byte[] expected = referenceDechunk(body);
        if (expected != null) {
            assertTrue(r.ended, "a chunked body valid by RFC 9112 failed: " + r.failure);
            assertArrayEquals(expected, r.body, "decoded body");
            assertEquals(1, r.idle, "a cleanly ended keep-alive chunked body returns its connection");
        }
    }

    private record Result(boolean ended, byte[] body, IOException failure, int idle) {
    }

    private static Result exchange(byte[] wire, String method, boolean readWhole) throws IOException {
        MemorySocket socket = new MemorySocket(wire);
        ConnectionPool pool = new ConnectionPool("upstream.invalid", 80, 4, 4, TimeUnit.MINUTES.toNanos(1), DEADLINES);
        HttpConnection conn = new HttpConnection(pool, socket);
        pool.release(conn, true);   // idle in the pool: send() takes it instead of connecting (requests = 0: no retry)
        UpstreamResponse r;
        try {
            r = CLIENT.send(pool, new UpstreamRequest(method, "/x", new Headers(), RequestBody.NONE), 1000, 1000);
        } catch (UpstreamException e) {
            assertTrue(socket.closed, "a failed exchange closes its connection");
            assertEquals(0, pool.idleCount());
            return new Result(false, new byte[0], e, 0);
        } catch (ClientBodyException e) {
            throw new AssertionError("no client body was sent", e);
        }
        assertTrue(r.status() >= 200 && r.status() <= 999 && r.status() != 101, "status " + r.status());
        for (String h : NEVER_FORWARDED) {
            assertFalse(r.headers().contains(h), h + " forwarded");
        }
        boolean noBody = method.equals("HEAD") || r.status() == 204 || r.status() == 304;
        if (!noBody) {
            assertFalse(r.headers().contains("Content-Length"), "Content-Length forwarded");
        }
        assertTrue(r.contentLength() >= -1, "contentLength " + r.contentLength());
        if (noBody) {
            assertEquals(0, r.contentLength());
        }
        byte[] body;
        IOException failure = null;
        boolean ended = false;
        if (readWhole) {
            try {
                body = r.readBody(1024);
                ended = true;
            } catch (IOException e) {
                failure = e;
                body = new byte[0];
            }
        } else {
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            InputStream in = r.body();
            try {
                for (int k = 0; ; k++) {
                    int size = READS[k % READS.length];
                    int n;
                    if (size == 1) {
                        int b = in.read();
                        n = b < 0 ? -1 : 1;
                        if (b >= 0) {
                            got.write(b);
                        }
                    } else {
                        byte[] buf = new byte[size];
                        n = in.read(buf, 0, size);
                        if (n > 0) {
                            got.write(buf, 0, n);
                        }
                    }
                    if (n < 0) {
                        ended = true;
                        break;
                    }
                    assertTrue(n > 0, "read returned 0");
                    assertTrue(got.size() <= wire.length, "more body bytes than the upstream sent");
                }
            } catch (IOException e) {
                failure = e;
            }
            body = got.toByteArray();
        }
        assertTrue(body.length <= wire.length, "more body bytes than the upstream sent");
        if (ended && r.contentLength() >= 0) {
            assertEquals(r.contentLength(), body.length, "body length against Content-Length");
        }
        if (!ended) {
            r.body().close();
            assertTrue(socket.closed, "a failed or abandoned body closes its connection");
            assertEquals(0, pool.idleCount(), "a failed body's connection went back to the pool");
        } else if (pool.idleCount() == 0) {
            assertTrue(socket.closed, "a connection neither pooled nor closed");
        } else {
            assertFalse(socket.closed);
            assertTrue(r.contentLength() >= 0 || !(r.body() instanceof BodyStreams.UntilClose),
                    "a close-delimited body's connection was pooled");
        }
        return new Result(ended, body, failure, pool.idleCount());
    }

    /**
     * RFC 9112 §7.1, written from the RFC rather than from the code: chunk-size (1*HEXDIG, at most 15 digits, a
     * documented limit) [BWS] [; chunk-ext] line, data, line end; last-chunk; trailer lines until an empty line.
     * A line ends in CRLF or a bare LF (§2.2). Null when the body is not a complete valid chunked body.
     */
    static byte[] referenceDechunk(byte[] b) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int[] pos = {0};
        while (true) {
            String line = line(b, pos);
            if (line == null) {
                return null;
            }
            int i = 0;
            long size = 0;
            while (i < line.length() && Character.digit(line.charAt(i), 16) >= 0 && line.charAt(i) < 0x80) {
                size = size * 16 + Character.digit(line.charAt(i), 16);
                i++;
            }
            if (i == 0 || i > 15) {
                return null;
            }
            while (i < line.length() && (line.charAt(i) == ' ' || line.charAt(i) == '\t')) {
                i++;
            }
            if (i < line.length() && line.charAt(i) != ';') {
                return null;
            }
            if (size == 0) {
                while (true) {
                    String trailer = line(b, pos);
                    if (trailer == null) {
                        return null;
                    }
                    if (trailer.isEmpty()) {
                        return out.toByteArray();
                    }
                }
            }
            if (b.length - pos[0] < size) {
                return null;
            }
            out.write(b, pos[0], (int) size);
            pos[0] += (int) size;
            String end = line(b, pos);
            if (end == null || !end.isEmpty()) {
                return null;
            }
        }
    }

    private static String line(byte[] b, int[] pos) {
        for (int i = pos[0]; i < b.length; i++) {
            if (b[i] == '\n') {
                int end = i > pos[0] && b[i - 1] == '\r' ? i - 1 : i;
                String s = new String(b, pos[0], end - pos[0], StandardCharsets.ISO_8859_1);
                pos[0] = i + 1;
                return s;
            }
        }
        return null;
    }

    /** A socket whose input is fixed bytes, read back in uneven slices; output goes nowhere. */
    private static final class MemorySocket extends Socket {
        private final InputStream in;
        volatile boolean closed;

        MemorySocket(byte[] bytes) {
            this.in = new InputStream() {
                private int pos;
                private int k;

                @Override
                public int read() {
                    return pos < bytes.length ? bytes[pos++] & 0xff : -1;
                }

                @Override
                public int read(byte[] b, int off, int len) {
                    if (closed) {
                        return -1;
                    }
                    if (pos >= bytes.length) {
                        return -1;
                    }
                    int n = Math.min(Math.min(len, SLICES[k++ % SLICES.length]), bytes.length - pos);
                    System.arraycopy(bytes, pos, b, off, n);
                    pos += n;
                    return n;
                }
            };
        }

        @Override
        public InputStream getInputStream() {
            return in;
        }

        @Override
        public OutputStream getOutputStream() {
            return OutputStream.nullOutputStream();
        }

        @Override
        public void setSoTimeout(int timeout) {
        }

        @Override
        public boolean isClosed() {
            return closed;
        }

        @Override
        public void close() {
            closed = true;
        }
    }
}
