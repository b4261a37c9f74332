package io.sluice.runtime.upstream;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * Response body framings of RFC 9112 §6: Content-Length, chunked, and close-delimited. Each stream gives its
 * connection back exactly once: reusable after a clean end, closed on early close or error.
 */
final class BodyStreams {
    private BodyStreams() {
    }

    private abstract static class ConnectionBody extends InputStream {
        final HttpConnection conn;
        private final boolean keepAlive;
        private boolean done;

        ConnectionBody(HttpConnection conn, boolean keepAlive) {
            this.conn = conn;
            this.keepAlive = keepAlive;
        }

        final void finish(boolean clean) {
            if (!done) {
                done = true;
                conn.requests++;
                conn.pool.release(conn, clean && keepAlive);
            }
        }

        final boolean done() {
            return done;
        }

        @Override
        public final int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public void close() {
            finish(false);
        }
    }

    /** Exactly {@code length} bytes. */
    static final class FixedLength extends ConnectionBody {
        private long remaining;

        FixedLength(HttpConnection conn, boolean keepAlive, long length) {
            super(conn, keepAlive);
            this.remaining = length;
            if (length == 0) {
                finish(true);
            }
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (remaining == 0) {
                finish(true);
                return -1;
            }
            if (done()) {
                throw new IOException("body stream closed");
            }
            int n;
            try {
                n = conn.read(b, off, (int) Math.min(len, remaining));
            } catch (IOException e) {
                finish(false);
                throw e;
            }
            if (n < 0) {
                finish(false);
                throw new EOFException("upstream closed the connection " + remaining + " bytes before the end of the body");
            }
            remaining -= n;
            if (remaining == 0) {
                finish(true);
            }
            return n;
        }

        @Override
        public int available() {
            return (int) Math.min(remaining, conn.buffered());
        }
    }

    /** {@code Transfer-Encoding: chunked}; chunk extensions ignored, trailers read and dropped. */
    static final class Chunked extends ConnectionBody {
        private long chunkLeft;
        private boolean ended;

        Chunked(HttpConnection conn, boolean keepAlive) {
            super(conn, keepAlive);
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (ended) {
                return -1;
            }
            if (done()) {
                throw new IOException("body stream closed");
            }
            try {
                if (chunkLeft == 0) {
                    chunkLeft = nextChunkSize();
                    if (chunkLeft == 0) {
                        readTrailers();
                        ended = true;
                        finish(true);
                        return -1;
                    }
                }
                int n = conn.read(b, off, (int) Math.min(len, chunkLeft));
                if (n < 0) {
                    throw new EOFException("upstream closed the connection inside a chunk");
                }
                chunkLeft -= n;
                if (chunkLeft == 0) {
                    String crlf = conn.readLine();
                    if (crlf == null || !crlf.isEmpty()) {
                        throw new UpstreamException(UpstreamException.Kind.PROTOCOL, "chunk not followed by CRLF");
                    }
                }
                return n;
            } catch (IOException e) {
                finish(false);
                throw e;
            }
        }

        private long nextChunkSize() throws IOException {
            String line = conn.readLine();
            if (line == null) {
                throw new EOFException("upstream closed the connection before the last chunk");
            }
            int end = line.indexOf(';');
            String hex = (end < 0 ? line : line.substring(0, end)).stripTrailing();
            if (hex.isEmpty() || hex.length() > 15) {
                throw new UpstreamException(UpstreamException.Kind.PROTOCOL, "bad chunk size line: " + line);
            }
            long size = 0;
            for (int i = 0; i < hex.length(); i++) {
                int d = Character.digit(hex.charAt(i), 16);
                if (d < 0) {
                    throw new UpstreamException(UpstreamException.Kind.PROTOCOL, "bad chunk size: " + hex);
                }
                size = size * 16 + d;
            }
            return size;
        }

        private void readTrailers() throws IOException {
            int total = 0;
            String line;
            while ((line = conn.readLine()) != null && !line.isEmpty()) {
                total += line.length();
                if (total > 64 * 1024) {
                    throw new UpstreamException(UpstreamException.Kind.PROTOCOL, "trailers too large");
                }
            }
            if (line == null) {
                throw new EOFException("upstream closed the connection inside the trailers");
            }
        }
    }

    /** Everything until the upstream closes the connection (never reusable). */
    static final class UntilClose extends ConnectionBody {
        UntilClose(HttpConnection conn) {
            super(conn, false);
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (done()) {
                return -1;
            }
            try {
                int n = conn.read(b, off, len);
                if (n < 0) {
                    finish(false);
                }
                return n;
            } catch (IOException e) {
                finish(false);
                throw e;
            }
        }
    }

    /** An empty body that gives the connection back at once. */
    static InputStream empty(HttpConnection conn, boolean keepAlive) {
        return new FixedLength(conn, keepAlive, 0);
    }

    /** Writes a chunked request body; {@link #finish()} writes the last chunk. */
    static final class ChunkedOut extends OutputStream {
        private final OutputStream out;

        ChunkedOut(OutputStream out) {
            this.out = out;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return;   // a zero-length chunk would end the body
            }
            out.write((Integer.toHexString(len) + "\r\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            out.write(b, off, len);
            out.write(CRLF);
        }

        void finish() throws IOException {
            out.write(LAST_CHUNK);
            out.flush();
        }

        private static final byte[] CRLF = {'\r', '\n'};
        private static final byte[] LAST_CHUNK = {'0', '\r', '\n', '\r', '\n'};
    }
}
