package io.sluice.runtime.upstream;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An upstream connection that answered 101 Switching Protocols: the body of that response, read as a byte stream
 * with no deadline (bytes the upstream sent right after its head come first), and written through
 * {@link #output()}. Closing it closes the connection; it is never pooled. Safe to close from any thread, which
 * ends a read blocked on another.
 */
public final class Switched extends InputStream {
    private final HttpConnection conn;
    private final AtomicBoolean closed = new AtomicBoolean();

    Switched(HttpConnection conn) {
        this.conn = conn;
    }

    /**
     * @return the stream to the upstream; a write blocked longer than the upstream's {@code timeout_ms} closes the
     *         connection
     */
    public OutputStream output() {
        return conn.out();
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        return conn.readUntimed(b, off, len);
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            conn.pool.release(conn, false);
        }
    }
}
