package io.sluice.runtime.upstream;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * Keep-alive connections to one upstream target ({@code host:port}, plain or over TLS). Bounded twice: at most
 * {@code maxActive} connections in use (past that a request fails at once with 502), at most
 * {@code maxIdle} kept idle. Idle connections are reused most-recently-used first, so a quiet period lets the
 * older ones expire.
 *
 * <p>With {@link UpstreamTls} options each new connection completes its TLS handshake (SNI, host name check,
 * ALPN {@code http/1.1}) within the connect timeout before the pool hands it out; a failed handshake is a
 * not-sent failure, so the request may go to another target.
 */
public final class ConnectionPool implements Transport {
    // a connection idle longer than this is probed before reuse (most servers close idle ones after 5-75 s)
    private static final long PROBE_AFTER_NANOS = TimeUnit.SECONDS.toNanos(2);

    private final String host;
    private final int port;
    private final UpstreamTls tls;
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
        this(host, port, null, maxActive, maxIdle, maxIdleNanos, deadlines);
    }

    ConnectionPool(String host, int port, UpstreamTls tls, int maxActive, int maxIdle, long maxIdleNanos,
                   Deadlines deadlines) {
        this.deadlines = deadlines;
        this.host = host;
        this.port = port;
        this.tls = tls;
        this.authority = port == (tls == null ? 80 : 443) ? host : host + ":" + port;
        this.maxIdle = maxIdle;
        this.maxIdleNanos = maxIdleNanos;
        this.maxActive = maxActive;
    }

    @Override
    public String authority() {
        return authority;
    }

    /**
     * @return the TLS options, or null for plain HTTP
     */
    public UpstreamTls tls() {
        return tls;
    }

    /** {@code host:port}, always with the port (for messages). */
    String hostPort() {
        return host + ":" + port;
    }

    @Override
    public UpstreamResponse send(UpstreamRequest request, int connectTimeoutMs, int readTimeoutMs)
            throws UpstreamException, ClientBodyException {
        return UpstreamClient.exchange(this, request, connectTimeoutMs, readTimeoutMs);
    }

    @Override
    public UpstreamResponse upgrade(UpstreamRequest request, int connectTimeoutMs, int readTimeoutMs)
            throws UpstreamException, ClientBodyException {
        return UpstreamClient.upgrade(this, request, connectTimeoutMs, readTimeoutMs);
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
        long start = System.nanoTime();
        Socket s = new Socket();
        try {
            s.setTcpNoDelay(true);
            s.setKeepAlive(true);
            s.connect(new InetSocketAddress(host, port), connectTimeoutMs);
            SSLSocket ssl = tls == null ? null : handshake(s, connectTimeoutMs, start);
            opened.incrementAndGet();
            HttpConnection c = new HttpConnection(this, ssl == null ? s : ssl, s);
            if (ssl != null) {
                c.clientCertificateNote = tls.clientCertificateNote(ssl);
            }
            deadlines.watch(c);
            return c;
        } catch (UpstreamException e) {
            throw e;   // the handshake's, already classified (raw socket closed)
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
     * Layers TLS over a connected socket and completes the handshake within what is left of the connect timeout.
     * Closes {@code raw} on failure.
     */
    private SSLSocket handshake(Socket raw, int connectTimeoutMs, long startNanos) throws UpstreamException {
        String name = tls.serverName(host);
        int timeout = 0;
        if (connectTimeoutMs > 0) {
            long left = connectTimeoutMs - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
            timeout = (int) Math.max(1, left);
        }
        SSLSocket ssl = null;
        try {
            // the peer host given here is what the certificate is checked against (HTTPS endpoint identification)
            ssl = (SSLSocket) tls.socketFactory().createSocket(raw, name, port, true);
            SSLParameters p = ssl.getSSLParameters();
            if (!UpstreamTls.isIpLiteral(name)) {
                try {
                    p.setServerNames(List.of(new SNIHostName(name)));
                } catch (IllegalArgumentException e) {
                    // not a valid DNS name (an underscore, say): send no SNI, as the JDK would
                }
            }
            if (tls.verify()) {
                p.setEndpointIdentificationAlgorithm("HTTPS");
            }
            p.setApplicationProtocols(new String[] {"http/1.1"});
            ssl.setSSLParameters(p);
            ssl.setSoTimeout(timeout);
            ssl.startHandshake();
            ssl.setSoTimeout(0);
            return ssl;
        } catch (SocketTimeoutException e) {
            closeQuietly(raw);
            throw UpstreamException.notSent(UpstreamException.Kind.TIMEOUT,
                    "TLS handshake with " + hostPort() + " timed out after " + connectTimeoutMs + " ms", e);
        } catch (IOException | RuntimeException e) {
            closeQuietly(raw);
            String note = ssl == null ? null : tls.clientCertificateNote(ssl);
            throw UpstreamException.notSent(UpstreamException.Kind.UNAVAILABLE, "TLS handshake with " + hostPort()
                    + " failed: " + reason(e) + (note == null ? "" : " (" + note + ")"), e);
        }
    }

    private static String reason(Throwable e) {
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
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
