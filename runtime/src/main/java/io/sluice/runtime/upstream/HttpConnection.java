package io.sluice.runtime.upstream;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/**
 * One keep-alive HTTP/1.1 connection to an upstream, with its own read buffer. Used by one request at a time.
 */
final class HttpConnection implements Closeable {
    private static final int BUFFER = 16 * 1024;

    final ConnectionPool pool;
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final byte[] buf = new byte[BUFFER];
    private int pos;
    private int lim;
    private boolean closed;
    long idleSinceNanos;
    int requests;

    HttpConnection(ConnectionPool pool, Socket socket) throws IOException {
        this.pool = pool;
        this.socket = socket;
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
    }

    void readTimeout(int millis) throws IOException {
        socket.setSoTimeout(millis);
    }

    OutputStream out() {
        return out;
    }

    /** Whether the peer has closed an idle connection; costs one short timed read. */
    boolean peerClosed() {
        if (pos < lim) {
            return true;   // unsolicited bytes on an idle connection: unusable
        }
        try {
            socket.setSoTimeout(1);
            int n = in.read(buf, 0, buf.length);
            if (n > 0) {
                return true;
            }
            return n < 0;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    private boolean fill() throws IOException {
        pos = 0;
        lim = 0;
        int n = in.read(buf, 0, buf.length);
        if (n <= 0) {
            return false;
        }
        lim = n;
        return true;
    }

    int read() throws IOException {
        if (pos == lim && !fill()) {
            return -1;
        }
        return buf[pos++] & 0xff;
    }

    int read(byte[] b, int off, int len) throws IOException {
        if (pos == lim) {
            if (len >= buf.length) {
                return in.read(b, off, len);   // large reads bypass the buffer
            }
            if (!fill()) {
                return -1;
            }
        }
        int n = Math.min(len, lim - pos);
        System.arraycopy(buf, pos, b, off, n);
        pos += n;
        return n;
    }

    /** Bytes already buffered, readable without blocking. */
    int buffered() {
        return lim - pos;
    }

    /**
     * Reads one line ending in CRLF (a bare LF is tolerated, per RFC 9112 §2.2), without the terminator.
     *
     * @param max longest line accepted
     * @return the line, or {@code null} at end of stream before any byte
     */
    String readLine(int max) throws IOException {
        int start = pos;
        // fast path: the whole line is in the buffer
        for (int i = pos; i < lim; i++) {
            if (buf[i] == '\n') {
                int end = i > start && buf[i - 1] == '\r' ? i - 1 : i;
                if (end - start > max) {
                    throw new UpstreamException(UpstreamException.Kind.PROTOCOL, "upstream header line too long");
                }
                pos = i + 1;
                return new String(buf, start, end - start, StandardCharsets.ISO_8859_1);
            }
        }
        StringBuilder b = new StringBuilder(64);
        boolean any = false;
        while (true) {
            int c = read();
            if (c < 0) {
                if (!any) {
                    return null;
                }
                throw new EOFException("connection closed inside a line");
            }
            any = true;
            if (c == '\n') {
                int len = b.length();
                if (len > 0 && b.charAt(len - 1) == '\r') {
                    b.setLength(len - 1);
                }
                return b.toString();
            }
            if (b.length() >= max) {
                throw new UpstreamException(UpstreamException.Kind.PROTOCOL, "upstream header line too long");
            }
            b.append((char) c);
        }
    }

    boolean isClosed() {
        return closed;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }
}
