package io.sluice.runtime.edge;

import io.helidon.common.buffers.BufferData;
import io.helidon.common.buffers.DataReader;
import io.helidon.common.buffers.DataWriter;
import io.helidon.common.concurrency.limits.Limit;
import io.helidon.common.socket.HelidonSocket;
import io.helidon.common.socket.PeerInfo;
import io.helidon.http.DirectHandler;
import io.helidon.http.RequestException;
import io.helidon.http.Status;
import io.helidon.webserver.ConnectionContext;
import io.helidon.webserver.ListenerContext;
import io.helidon.webserver.ProxyProtocolData;
import io.helidon.webserver.Router;
import io.helidon.webserver.http1.Http1Config;
import io.helidon.webserver.http1.Http1ConnectionSelector;
import io.helidon.webserver.http2.Http2Config;
import io.helidon.webserver.http2.Http2ConnectionSelector;
import io.helidon.webserver.spi.ServerConnection;
import io.helidon.webserver.spi.ServerConnectionSelector;
import io.sluice.registry.config.GatewayConfig.Settings;

import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * The proxy listener's connections: Helidon's HTTP/1.1 and HTTP/2 connections, given a stricter reader and
 * watched. It is the listener's only connection selector, so a connection is watched from its first moment: the
 * protocol is the one ALPN chose on TLS, else HTTP/2 when the first bytes are the HTTP/2 preface (prior knowledge),
 * else HTTP/1.x.
 *
 * <ul>
 *   <li>Chunked request bodies: the CRLF after each chunk's data is checked (Helidon skips two bytes unread), so
 *       {@code 5\r\nhelloXX0\r\n\r\n} is refused instead of being read one way here and another upstream.</li>
 *   <li>Slow clients: a request head must arrive within {@code header_timeout_ms} of its first byte (of the
 *       connection's start, for the first request); a request body may not pause longer than
 *       {@code body_idle_timeout_ms}; an idle keep-alive connection is closed after {@code keepalive_timeout_ms}.
 *       A watchdog thread closes the socket of a connection past its limit, which ends the blocked read.</li>
 *   <li>Greedy clients: at most {@code max_connections} open connections, and {@code max_connections_per_address}
 *       from one peer address (trusted proxies exempt); over either, the connection is answered 503
 *       {@code too_many_connections} and closed.</li>
 *   <li>HTTP/1.0: Helidon refuses it; a connection whose first request line says {@code HTTP/1.0} is read as
 *       HTTP/1.1 and marked ({@link #http10()}), and the proxy answers it as HTTP/1.0 wants (Content-Length,
 *       then close).</li>
 *   <li>HTTP/2 (prior knowledge, or ALPN {@code h2} on TLS): {@link H2Guard} reads the frame headers as they
 *       arrive and ends a connection with GOAWAY {@code ENHANCE_YOUR_CALM} on a rapid-reset flood (CVE-2023-44487)
 *       or a CONTINUATION flood (CVE-2024-27316); the head timeout covers the connection preface, and an idle
 *       HTTP/2 connection is closed by the listener's idle-connection check.</li>
 *   <li>Tunnels: an HTTP/1.1 connection the proxy switched to another protocol (WebSocket) is handed over whole
 *       ({@link #takeOver()}) and closed after {@code websocket_idle_timeout_ms} without a byte either way.</li>
 * </ul>
 * Limits are read from the current config on every check, so a change applies to open connections too.
 */
public final class EdgeConnections implements ServerConnectionSelector, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(EdgeConnections.class.getName());
    private static final ThreadLocal<Conn> CURRENT = new ThreadLocal<>();
    private static final long TICK_MS = 100;

    private static final byte[] H2_PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    private final Http1ConnectionSelector http1;
    private final Http2ConnectionSelector http2;
    private final Supplier<EdgePolicy> policy;
    private final ConcurrentHashMap<String, AtomicInteger> perAddress = new ConcurrentHashMap<>();
    private final AtomicInteger total = new AtomicInteger();
    private final Set<Conn> live = ConcurrentHashMap.newKeySet();
    private final Thread watchdog;
    private volatile boolean closed;
    /** Connections closed by a limit, by reason (for metrics and tests). */
    private final LongAdder headTimeouts = new LongAdder();
    private final LongAdder bodyTimeouts = new LongAdder();
    private final LongAdder idleTimeouts = new LongAdder();
    private final LongAdder refused = new LongAdder();
    private final LongAdder h2Floods = new LongAdder();
    private final LongAdder tunnelTimeouts = new LongAdder();

    /**
     * @param http1  the HTTP/1.1 settings of the listener
     * @param http2  the HTTP/2 settings of the listener
     * @param policy the current edge settings
     */
    public EdgeConnections(Http1Config http1, Http2Config http2, Supplier<EdgePolicy> policy) {
        this.http1 = Http1ConnectionSelector.builder().config(http1).build();
        this.http2 = Http2ConnectionSelector.builder().http2Config(http2).build();
        this.policy = policy;
        this.watchdog = Thread.ofPlatform().daemon().name("sluice-edge-watchdog").unstarted(this::watch);
        this.watchdog.start();
    }

    /** Marks the current connection's request head as received (called by the proxy handler). */
    public static void headReceived() {
        Conn c = CURRENT.get();
        if (c != null) {
            c.phase(Phase.HANDLING);
        }
    }

    /** Marks the current connection's request as answered: the next bytes start a new head. */
    public static void requestDone() {
        Conn c = CURRENT.get();
        if (c != null) {
            c.phase(Phase.IDLE);
        }
    }

    /**
     * @return whether the current connection could be {@linkplain #takeOver() taken over}
     */
    public static boolean canTakeOver() {
        Conn c = CURRENT.get();
        return c != null && !c.h2 && !c.http10 && c.reader != null;
    }

    /**
     * Hands the current HTTP/1.1 connection over to the caller, for a protocol the proxy switched to: from now on
     * its bytes are the caller's, and it is watched only for {@code websocket_idle_timeout_ms}. The caller must
     * end the connection when done (Helidon must not read or write it again).
     *
     * @return the connection, or empty when there is none to take over (HTTP/2, HTTP/1.0, not a proxy connection)
     */
    public static Optional<Tunnel> takeOver() {
        if (!canTakeOver()) {
            return Optional.empty();
        }
        Conn c = CURRENT.get();
        c.phase(Phase.TUNNEL);
        return Optional.of(new Tunnel(c));
    }

    /**
     * A client connection taken over from Helidon: its bytes both ways, raw. One thread reads, one writes.
     */
    public static final class Tunnel {
        private final Conn c;

        private Tunnel(Conn c) {
            this.c = c;
        }

        /**
         * Reads what the client sent: first the bytes Helidon read ahead of the request head's end, then the socket.
         *
         * @return bytes read, -1 when the client closed the connection
         * @throws IOException when the connection broke (or was closed by the idle timeout)
         */
        public int read(byte[] b, int off, int len) throws java.io.IOException {
            DataReader r = c.reader;
            try {
                int n = r.available();
                if (n == 0) {
                    r.ensureAvailable();
                    n = r.available();
                }
                n = Math.min(n, len);
                System.arraycopy(r.readBytes(n), 0, b, off, n);
                return n;
            } catch (DataReader.InsufficientDataAvailableException e) {
                return -1;
            } catch (RuntimeException e) {
                throw new java.io.IOException("client connection broke: " + e.getMessage(), e);
            }
        }

        /**
         * Writes to the client, now.
         *
         * @throws IOException when the connection broke
         */
        public void write(byte[] b, int off, int len) throws java.io.IOException {
            try {
                c.ctx.dataWriter().writeNow(BufferData.create(b, off, len));
            } catch (RuntimeException e) {
                throw new java.io.IOException("client connection broke: " + e.getMessage(), e);
            }
        }

        /** Something passed: the idle timeout starts again. */
        public void active() {
            c.since = System.nanoTime();
        }

        /** @return whether the idle timeout closed it */
        public boolean timedOut() {
            return c.killed;
        }

        /** Closes the connection (ending a read blocked on it). */
        public void close() {
            c.ctx.serverSocket().close();
        }
    }

    /**
     * @return whether the current request (on this thread) came on a connection that spoke HTTP/1.0
     */
    public static boolean http10() {
        Conn c = CURRENT.get();
        return c != null && c.http10;
    }

    /** @return connections open now */
    public int open() {
        return total.get();
    }

    /**
     * @param reason {@code head}, {@code body}, {@code idle}, {@code refused}, {@code h2_flood} or
     *               {@code websocket_idle}
     * @return connections closed (or refused) for that reason so far
     */
    public long closedFor(String reason) {
        return switch (reason) {
            case "head" -> headTimeouts.sum();
            case "body" -> bodyTimeouts.sum();
            case "idle" -> idleTimeouts.sum();
            case "refused" -> refused.sum();
            case "h2_flood" -> h2Floods.sum();
            case "websocket_idle" -> tunnelTimeouts.sum();
            default -> throw new IllegalArgumentException(reason);
        };
    }

    @Override
    public int bytesToIdentifyConnection() {
        return 0;
    }

    @Override
    public Support supports(BufferData data) {
        return Support.SUPPORTED;   // the listener's only selector: it tells HTTP/2 from HTTP/1.x itself
    }

    @Override
    public Set<String> supportedApplicationProtocols() {
        return Set.of("h2", "http/1.1");
    }

    @Override
    public ServerConnection connection(ConnectionContext ctx) {
        Conn c = new Conn(ctx, address(ctx.remotePeer()));
        SocketSupplier socket = new SocketSupplier(ctx.dataReader(), ctx.serverSocket(), c);
        Context context = new Context(ctx, new StrictReader(socket));
        c.reader = context.reader();
        return new Edge(c, socket, context);
    }

    @Override
    public void close() {
        closed = true;
        watchdog.interrupt();
    }

    private static String address(PeerInfo peer) {
        if (peer.address() instanceof InetSocketAddress inet && inet.getAddress() != null) {
            return inet.getAddress().getHostAddress();
        }
        return peer.host();
    }

    private void watch() {
        while (!closed) {
            try {
                Thread.sleep(TICK_MS);
            } catch (InterruptedException e) {
                return;
            }
            Settings s = policy.get().settings();
            long now = System.nanoTime();
            long head = s.headerTimeoutMs() * 1_000_000L;
            long body = s.bodyIdleTimeoutMs() * 1_000_000L;
            long idle = s.keepaliveTimeoutMs() * 1_000_000L;
            long tunnelIdle = s.websocketIdleTimeoutMs() * 1_000_000L;
            for (Conn c : live) {
                Phase p = c.phase;
                if (c.h2 && p != Phase.HEAD) {
                    continue;   // HTTP/2 after its preface: streams, flow control and idle are Helidon's
                }
                long since = c.since;
                long reading = c.readingSince;
                if (p == Phase.HEAD && now - since > head) {
                    c.kill(headTimeouts, "request head not received within " + s.headerTimeoutMs() + " ms");
                } else if (p == Phase.HANDLING && reading != 0 && now - reading > body) {
                    c.kill(bodyTimeouts, "request body paused longer than " + s.bodyIdleTimeoutMs() + " ms");
                } else if (p == Phase.IDLE && reading != 0 && now - since > idle) {
                    c.kill(idleTimeouts, "idle longer than " + s.keepaliveTimeoutMs() + " ms");
                } else if (p == Phase.TUNNEL && now - since > tunnelIdle) {
                    c.kill(tunnelTimeouts, "tunnel idle longer than " + s.websocketIdleTimeoutMs() + " ms");
                }
            }
        }
    }

    private enum Phase {
        /** Waiting for the first byte of a request head (keep-alive). */
        IDLE,
        /** Some of a request head has arrived (or, for the first request, the connection is open). */
        HEAD,
        /** The head is parsed; the request is being handled (its body may be read). */
        HANDLING,
        /** Switched to another protocol and relayed by the proxy ({@link #takeOver()}). */
        TUNNEL
    }

    /** One client connection's state, written by its own thread, read by the watchdog. */
    private static final class Conn {
        final ConnectionContext ctx;
        final String address;
        /** HTTP/2 (set once the protocol is known). */
        volatile boolean h2;
        /** The first request line said HTTP/1.0 (rewritten to HTTP/1.1 for Helidon's parser). */
        volatile boolean http10;
        volatile Phase phase = Phase.HEAD;
        volatile long since = System.nanoTime();
        /** When the current blocking socket read started, 0 when not reading. */
        volatile long readingSince;
        /** What Helidon's parser reads from (HTTP/1.x), with what it read ahead. */
        volatile DataReader reader;
        private volatile boolean killed;

        Conn(ConnectionContext ctx, String address) {
            this.ctx = ctx;
            this.address = address;
        }

        void phase(Phase p) {
            since = System.nanoTime();
            phase = p;
        }

        void kill(LongAdder counter, String why) {
            if (killed) {
                return;
            }
            killed = true;
            counter.increment();
            LOG.log(Level.DEBUG, () -> "closing connection from " + address + ": " + why);
            ctx.serverSocket().close();
        }
    }

    /** The connection as Helidon runs it, counted and watched while it runs. */
    private final class Edge implements ServerConnection {
        private final Conn c;
        private final SocketSupplier socket;
        private final Context ctx;
        private volatile ServerConnection inner;

        Edge(Conn c, SocketSupplier socket, Context ctx) {
            this.c = c;
            this.socket = socket;
            this.ctx = ctx;
        }

        /** HTTP/2 or HTTP/1.x: ALPN's choice on TLS, else whether the first bytes are the HTTP/2 preface. */
        private ServerConnection open() {
            HelidonSocket s = ctx.serverSocket();
            boolean h2 = s.protocolNegotiated() ? "h2".equals(s.protocol()) : ctx.dataReader().startsWith(H2_PREFACE);
            if (h2) {
                c.h2 = true;
                socket.guard(new H2Guard(() -> c.phase(Phase.IDLE), h2Floods));
                return http2.connection(ctx);
            }
            socket.early = null;
            return http1.connection(ctx);
        }

        @Override
        public void handle(Limit limit) throws InterruptedException {
            Settings s = policy.get().settings();
            AtomicInteger mine = perAddress.computeIfAbsent(c.address, a -> new AtomicInteger());
            int fromHere = mine.incrementAndGet();
            int all = total.incrementAndGet();
            try {
                if (all > s.maxConnections()
                        || fromHere > s.maxConnectionsPerAddress() && !policy.get().trusted(c.address)) {
                    refuse(all > s.maxConnections() ? "the gateway has too many open connections"
                            : "too many open connections from " + c.address);
                    return;
                }
                CURRENT.set(c);
                live.add(c);
                try {
                    inner = open();
                } catch (DataReader.InsufficientDataAvailableException e) {
                    return;   // closed before saying anything
                }
                inner.handle(limit);
            } finally {
                live.remove(c);
                CURRENT.remove();
                total.decrementAndGet();
                if (mine.decrementAndGet() == 0) {
                    perAddress.remove(c.address, mine);
                }
            }
        }

        private void refuse(String message) {
            refused.increment();
            byte[] body = io.sluice.plugin.Json.error("too_many_connections", message)
                    .getBytes(StandardCharsets.UTF_8);
            byte[] head = ("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + body.length + "\r\nConnection: close\r\nRetry-After: 1\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII);
            try {
                BufferData out = BufferData.create(head.length + body.length);
                out.write(head);
                out.write(body);
                c.ctx.dataWriter().writeNow(out);
            } catch (RuntimeException e) {
                // the client is gone already
            }
        }

        @Override
        public Duration idleTime() {
            ServerConnection i = inner;
            return i == null ? Duration.ofNanos(System.nanoTime() - c.since) : i.idleTime();
        }

        @Override
        public void close(boolean interrupt) {
            ServerConnection i = inner;
            if (i != null) {
                i.close(interrupt);
            } else {
                c.ctx.serverSocket().close();
            }
        }
    }

    /**
     * Reads the socket for Helidon's parser (noting when a read blocks and when a head begins, for the watchdog)
     * and checks what Helidon's chunked decoder does not: each chunk-size line is 1*HEXDIG (its number parser also
     * takes {@code +5}), and the two bytes after a chunk's data, which it {@code skip(2)}s unread, are CRLF. The
     * decoder reads a chunk as {@code readLine()} (the size), {@code readBuffer(size)}, {@code skip(2)};
     * {@code readLine} is used for nothing else, so a non-zero size line arms the check of the next skip.
     */
    private static final class StrictReader extends DataReader {
        /** A chunk's data was announced: the next parser skip passes over its terminator. */
        private boolean chunkEndNext;
        /** Inside {@link #readBuffer(int)}, which skips what it read: those skips are not the parser's. */
        private boolean reading;

        StrictReader(SocketSupplier socket) {
            super(socket);
        }

        @Override
        public String readLine() {
            String line = super.readLine();
            int n = line.length();
            if (n > 16) {
                throw badChunk("chunk size too long");
            }
            boolean nonZero = false;
            for (int i = 0; i < n; i++) {
                char c = line.charAt(i);
                if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F')) {
                    throw badChunk("a chunk size is hex digits only");
                }
                nonZero |= c != '0';
            }
            chunkEndNext = nonZero;
            return line;
        }

        @Override
        public void skip(int lenToSkip) {
            if (chunkEndNext && !reading) {
                chunkEndNext = false;
                if (lenToSkip != 2 || !startsWithNewLine()) {
                    throw badChunk("chunk data must end in CRLF");
                }
            }
            super.skip(lenToSkip);
        }

        @Override
        public BufferData readBuffer(int length) {
            reading = true;
            try {
                return super.readBuffer(length);
            } finally {
                reading = false;
            }
        }

        private static RequestException badChunk(String message) {
            return RequestException.builder()
                    .type(DirectHandler.EventType.BAD_REQUEST)
                    .status(Status.BAD_REQUEST_400)
                    .setKeepAlive(false)
                    .message(message)
                    .build();
        }
    }

    private static final class SocketSupplier implements Supplier<byte[]> {
        private DataReader original;
        private final HelidonSocket socket;
        private final Conn c;
        private H2Guard guard;
        private boolean first = true;
        /** What was read before the protocol was known, for the HTTP/2 guard to see too. */
        private java.util.List<byte[]> early = new java.util.ArrayList<>(2);

        SocketSupplier(DataReader original, HelidonSocket socket, Conn c) {
            this.original = original;
            this.socket = socket;
            this.c = c;
        }

        /** The connection is HTTP/2: the guard sees every byte from the first. */
        void guard(H2Guard g) {
            this.guard = g;
            for (byte[] b : early) {
                g.accept(b, b.length);
            }
            early = null;
        }

        @Override
        public byte[] get() {
            byte[] bytes = read();
            if (bytes != null) {
                if (guard != null) {
                    guard.accept(bytes, bytes.length);
                } else {
                    if (first && Http10.rewrite(bytes)) {
                        c.http10 = true;
                    }
                    if (early != null) {
                        early.add(bytes);   // until the protocol is known: at most the 24-byte preface's reads
                    }
                }
                first = false;
            }
            return bytes;
        }

        private byte[] read() {
            if (original != null) {
                DataReader o = original;
                original = null;
                int n = o.available();
                if (n > 0) {
                    return o.readBytes(n);   // bytes Helidon read before handing us the connection
                }
            }
            c.readingSince = System.nanoTime();
            byte[] bytes;
            try {
                bytes = socket.get();
            } catch (java.io.UncheckedIOException e) {
                throw new io.helidon.webserver.ServerConnectionException("Failed to get data from socket", e);
            } finally {
                c.readingSince = 0;
            }
            if (bytes != null && c.phase == Phase.IDLE) {
                c.phase(Phase.HEAD);
            }
            return bytes;
        }
    }

    /** The connection's context, with the strict reader in place of Helidon's. */
    private record Context(ConnectionContext delegate, DataReader reader) implements ConnectionContext {
        @Override
        public ListenerContext listenerContext() {
            return delegate.listenerContext();
        }

        @Override
        public ExecutorService executor() {
            return delegate.executor();
        }

        @Override
        public DataWriter dataWriter() {
            return delegate.dataWriter();
        }

        @Override
        public DataReader dataReader() {
            return reader;
        }

        @Override
        public Router router() {
            return delegate.router();
        }

        @Override
        public Optional<ProxyProtocolData> proxyProtocolData() {
            return delegate.proxyProtocolData();
        }

        @Override
        public HelidonSocket serverSocket() {
            return delegate.serverSocket();
        }

        @Override
        public PeerInfo remotePeer() {
            return delegate.remotePeer();
        }

        @Override
        public PeerInfo localPeer() {
            return delegate.localPeer();
        }

        @Override
        public boolean isSecure() {
            return delegate.isSecure();
        }

        @Override
        public String socketId() {
            return delegate.socketId();
        }

        @Override
        public String childSocketId() {
            return delegate.childSocketId();
        }
    }
}
