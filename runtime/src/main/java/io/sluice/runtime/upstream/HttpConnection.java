package io.sluice.runtime.upstream;

import io.sluice.plugin.Headers;

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
 *
 * <p>Timeouts are enforced by {@link Deadlines} closing the socket, not by {@code SO_TIMEOUT}: a timed socket
 * read on a virtual thread schedules and cancels a timer per read, which showed up in the proxy's profile.
 */
final class HttpConnection implements Closeable {
    private static final int BUFFER = 16 * 1024;

    final ConnectionPool pool;
    private final Socket socket;
    /** The TCP socket under {@code socket} (the same one for plain HTTP). */
    private final Socket raw;
    private final InputStream in;
    private final OutputStream out;
    private final byte[] buf = new byte[BUFFER];
    private int pos;
    private int lim;
    private volatile boolean closed;
    /** System.nanoTime() after which {@link Deadlines} closes this connection; 0 when idle. */
    volatile long deadlineNanos;
    volatile boolean timedOut;
    long timeoutNanos;
    long idleSinceNanos;
    int requests;
    /** TLS: set when the server asked for a client certificate (a failing first exchange is then likely its refusal). */
    String clientCertificateNote;

    HttpConnection(ConnectionPool pool, Socket socket) throws IOException {
        this(pool, socket, socket);
    }

    /**
     * @param socket what requests are written to: {@code raw}, or a TLS socket layered over it
     * @param raw    the TCP socket
     */
    HttpConnection(ConnectionPool pool, Socket socket, Socket raw) throws IOException {
        this.pool = pool;
        this.socket = socket;
        this.raw = raw;
        this.in = socket.getInputStream();
        this.out = new TimedOutput(socket.getOutputStream());
    }

    /** Sets the timeout for each later wait on the upstream (a read, or a write that blocks). */
    void timeout(long timeoutNanos) {
        this.timeoutNanos = timeoutNanos;
    }

    private void armed() {
        deadlineNanos = System.nanoTime() + timeoutNanos;
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
            socket.setSoTimeout(0);
            return n != 0;
        } catch (SocketTimeoutException e) {
            try {
                socket.setSoTimeout(0);
                return false;
            } catch (IOException ex) {
                return true;
            }
        } catch (IOException e) {
            return true;
        }
    }

    /** Reads more bytes after {@code lim}, keeping the unread ones; false at end of stream. */
    private boolean fill() throws IOException {
        if (pos == lim) {
            pos = 0;
            lim = 0;
        } else if (lim == buf.length) {
            if (pos == 0) {
                throw new UpstreamException(UpstreamException.Kind.PROTOCOL, "upstream header line too long");
            }
            System.arraycopy(buf, pos, buf, 0, lim - pos);
            lim -= pos;
            pos = 0;
        }
        armed();   // the timeout is per wait on the upstream, like SO_TIMEOUT, not per response
        int n;
        try {
            n = in.read(buf, lim, buf.length - lim);
        } finally {
            deadlineNanos = 0;
        }
        if (n <= 0) {
            return false;
        }
        lim += n;
        return true;
    }

    int read(byte[] b, int off, int len) throws IOException {
        if (pos == lim) {
            if (len >= buf.length) {
                armed();
                try {
                    return in.read(b, off, len);   // large reads bypass the buffer
                } finally {
                    deadlineNanos = 0;
                }
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

    /**
     * Reads with no deadline: what is buffered first, then the socket. For a connection that switched protocols,
     * whose idle time is watched by whoever relays it.
     */
    int readUntimed(byte[] b, int off, int len) throws IOException {
        if (pos < lim) {
            int n = Math.min(len, lim - pos);
            System.arraycopy(buf, pos, b, off, n);
            pos += n;
            return n;
        }
        return in.read(b, off, len);
    }

    /** Bytes already buffered, readable without blocking. */
    int buffered() {
        return lim - pos;
    }

    /** Index of the next LF at or after pos, filling the buffer as needed; -1 at end of stream before any byte. */
    private int lineEnd() throws IOException {
        int from = pos;
        while (true) {
            for (int i = from; i < lim; i++) {
                if (buf[i] == '\n') {
                    return i;
                }
            }
            int scanned = lim - pos;
            if (!fill()) {
                if (scanned == 0) {
                    return -1;
                }
                throw new EOFException("connection closed inside a line");
            }
            from = pos + scanned;
        }
    }

    /**
     * Reads one line ending in CRLF (a bare LF is tolerated, RFC 9112 §2.2), without the terminator.
     *
     * @return the line, or {@code null} at end of stream before any byte
     */
    String readLine() throws IOException {
        int nl = lineEnd();
        if (nl < 0) {
            return null;
        }
        int end = nl > pos && buf[nl - 1] == '\r' ? nl - 1 : nl;
        String line = new String(buf, pos, end - pos, StandardCharsets.ISO_8859_1);
        pos = nl + 1;
        return line;
    }

    /**
     * Reads one header field line into {@code into}, straight from the buffer.
     *
     * @return the line's length, or -1 for the empty line that ends the header section
     */
    int readHeader(Headers into) throws IOException {
        int nl = lineEnd();
        if (nl < 0) {
            throw new EOFException("connection closed inside the response head");
        }
        int start = pos;
        int end = nl > start && buf[nl - 1] == '\r' ? nl - 1 : nl;
        pos = nl + 1;
        if (end == start) {
            return -1;
        }
        byte first = buf[start];
        if (first == ' ' || first == '\t') {
            throw new UpstreamException(UpstreamException.Kind.PROTOCOL, "obsolete header line folding");
        }
        int colon = -1;
        for (int i = start; i < end; i++) {
            byte c = buf[i];
            if (c == ':') {
                colon = i;
                break;
            }
            if (!TOKEN[c & 0xff]) {
                break;
            }
        }
        if (colon <= start) {
            throw new UpstreamException(UpstreamException.Kind.PROTOCOL, "bad header line");
        }
        int vs = colon + 1;
        while (vs < end && (buf[vs] == ' ' || buf[vs] == '\t')) {
            vs++;
        }
        int ve = end;
        while (ve > vs && (buf[ve - 1] == ' ' || buf[ve - 1] == '\t')) {
            ve--;
        }
        for (int i = vs; i < ve; i++) {
            int c = buf[i] & 0xff;
            if (c < 0x20 && c != '\t' || c == 0x7f) {
                // a bare CR or a NUL inside a value: relayed, it would split or truncate the client's response
                throw new UpstreamException(UpstreamException.Kind.PROTOCOL,
                        "control character in a response header value");
            }
        }
        into.add(HeaderNameCache.name(buf, start, colon - start),
                new String(buf, vs, ve - vs, StandardCharsets.ISO_8859_1));
        return end - start;
    }

    /** Writes to the upstream under the same per-wait deadline as reads. */
    private final class TimedOutput extends OutputStream {
        private final OutputStream delegate;

        TimedOutput(OutputStream delegate) {
            this.delegate = delegate;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            armed();
            try {
                delegate.write(b, off, len);
            } finally {
                deadlineNanos = 0;
            }
        }
    }

    private static final boolean[] TOKEN = new boolean[256];

    static {
        for (int c = '0'; c <= '9'; c++) {
            TOKEN[c] = true;
        }
        for (int c = 'a'; c <= 'z'; c++) {
            TOKEN[c] = true;
            TOKEN[c - 32] = true;
        }
        for (char c : "!#$%&'*+-.^_`|~".toCharArray()) {
            TOKEN[c] = true;
        }
    }

    boolean isClosed() {
        return closed;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            deadlineNanos = 0;
            try {
                // the TCP socket, not the TLS one: SSLSocket.close() sends close_notify under the lock a blocked
                // writer holds, so closing from the Deadlines thread could wait as long as the stuck write
                raw.close();
            } catch (IOException ignored) {
                // closing anyway
            }
            pool.forget(this);
        }
    }
}
