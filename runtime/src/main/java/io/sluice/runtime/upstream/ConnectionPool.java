package io.sluice.runtime.upstream;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Keep-alive connections to one upstream target ({@code host:port}). Bounded twice: at most
 * {@code maxActive} connections in use (past that a request fails at once with 502), at most
 * {@code maxIdle} kept idle. Idle connections are reused most-recently-used first, so a quiet period lets the
 * older ones expire.
 */
public final class ConnectionPool implements Transport {
    // a connection idle longer than this is probed before reuse (most servers close idle ones after 5-75 s)
    private static final long PROBE_AFTER_NANOS = TimeUnit.SECONDS.toNanos(2);

    private final String host;
    private final int port;
    private final String authority;
    private final int maxIdle;
    private final long maxIdleNanos;
    private final int maxActive;
    private final AtomicInteger active = new AtomicInteger();
    private final ConcurrentLinkedDeque<HttpConnection> idle = new ConcurrentLinkedDeque<>();
    private final AtomicInteger idleCount = new AtomicInteger();
    private final AtomicInteger opened = new AtomicInteger();
    private final Deadlines deadlines;
    private volatile boolean closed;

    ConnectionPool(String host, int port, int maxActive, int maxIdle, long maxIdleNanos, Deadlines deadlines) {
        this.deadlines = deadlines;
        this.host = host;
        this.port = port;
        this.authority = port == 80 ? host : host + ":" + port;
        this.maxIdle = maxIdle;
        this.maxIdleNanos = maxIdleNanos;
        this.maxActive = maxActive;
    }

    @Override
    public String authority() {
        return authority;
    }

    @Override
    public UpstreamResponse send(UpstreamRequest request, int connectTimeoutMs, int readTimeoutMs)
            throws UpstreamException, ClientBodyException {
        return UpstreamClient.exchange(this, request, connectTimeoutMs, readTimeoutMs);
    }

    @Override
    public int active() {
        return active.get();
    }

    @Override
    public void drain() {
        close();
    }

    /**
     * Connections opened so far (a measure of reuse).
     *
     * @return the count
     */
    public int openedCount() {
        return opened.get();
    }

    /**
     * Connections idle in the pool now.
     *
     * @return the count
     */
    public int idleCount() {
        return idleCount.get();
    }

    /**
     * Takes a pooled connection or opens one. Every successful call is paired with one {@link #release}.
     */
    HttpConnection acquire(int connectTimeoutMs, boolean fresh) throws UpstreamException {
        // fail fast at the limit rather than queue: a saturated target should shed load, not pile it up
        if (active.incrementAndGet() > maxActive) {
            active.decrementAndGet();
            throw UpstreamException.notSent(UpstreamException.Kind.POOL_EXHAUSTED,
                    "all " + maxActive + " connections to " + authority + " are busy", null);
        }
        try {
            if (!fresh) {
                HttpConnection c;
                while ((c = idle.pollFirst()) != null) {
                    idleCount.decrementAndGet();
                    long age = System.nanoTime() - c.idleSinceNanos;
                    if (age > maxIdleNanos || (age > PROBE_AFTER_NANOS && c.peerClosed())) {
                        c.close();
                        continue;
                    }
                    return c;
                }
            }
            return connect(connectTimeoutMs);
        } catch (UpstreamException | RuntimeException e) {
            active.decrementAndGet();
            throw e;
        }
    }

    private HttpConnection connect(int connectTimeoutMs) throws UpstreamException {
        Socket s = new Socket();
        try {
            s.setTcpNoDelay(true);
            s.setKeepAlive(true);
            s.connect(new InetSocketAddress(host, port), connectTimeoutMs);
            opened.incrementAndGet();
            HttpConnection c = new HttpConnection(this, s);
            deadlines.watch(c);
            return c;
        } catch (SocketTimeoutException e) {
            closeQuietly(s);
            throw UpstreamException.notSent(UpstreamException.Kind.TIMEOUT, "connect to " + authority + " timed out", e);
        } catch (ConnectException e) {
            closeQuietly(s);
            throw UpstreamException.notSent(UpstreamException.Kind.UNAVAILABLE,
                    "connect to " + authority + " failed: " + e.getMessage(), e);
        } catch (IOException e) {
            closeQuietly(s);
            throw UpstreamException.notSent(UpstreamException.Kind.UNAVAILABLE,
                    "connect to " + authority + " failed: " + e, e);
        }
    }

    /**
     * Returns a connection: kept for reuse when {@code reusable}, closed otherwise.
     */
    void release(HttpConnection c, boolean reusable) {
        if (reusable && !closed && !c.isClosed() && idleCount.incrementAndGet() <= maxIdle) {
            c.idleSinceNanos = System.nanoTime();
            idle.offerFirst(c);
            if (closed && idle.remove(c)) {  // raced with close(): do not strand it
                idleCount.decrementAndGet();
                c.close();
            }
        } else {
            if (reusable && !closed && !c.isClosed()) {
                idleCount.decrementAndGet();
            }
            c.close();
        }
        active.decrementAndGet();
    }

    /** Closes idle connections past their idle time (the oldest sit at the tail). */
    void evictIdle(long now) {
        HttpConnection c;
        while ((c = idle.peekLast()) != null && now - c.idleSinceNanos > maxIdleNanos) {
            if (idle.removeLastOccurrence(c)) {
                idleCount.decrementAndGet();
                c.close();
            }
        }
    }

    void forget(HttpConnection c) {
        deadlines.forget(c);
    }

    /** Closes idle connections and refuses to keep more. */
    void close() {
        closed = true;
        HttpConnection c;
        while ((c = idle.pollFirst()) != null) {
            idleCount.decrementAndGet();
            c.close();
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // nothing to do
        }
    }
}
