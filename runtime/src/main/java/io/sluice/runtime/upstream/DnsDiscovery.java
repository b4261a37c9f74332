package io.sluice.runtime.upstream;

import io.sluice.runtime.upstream.DnsResolver.Answer;
import io.sluice.runtime.upstream.DnsResolver.Resolved;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.xbill.DNS.Name;
import org.xbill.DNS.TextParseException;

/**
 * An upstream's targets as DNS says, kept fresh: {@code "discovery": {"dns": "users.internal:8080",
 * "refresh_ms": 5000}} (A/AAAA records, the port after the colon, 80 when left out) or
 * {@code {"dns": "_http._tcp.users.internal"}} (SRV records: their targets' addresses, ports and weights).
 *
 * <p>{@link #start()} resolves once before it returns (on the discovery thread; it waits {@link #START_WAIT} at
 * most), so a name that resolves has its targets before traffic comes. A virtual thread then re-resolves every
 * {@code min(TTL, refresh_ms)} ({@code refresh_ms} when the TTL is 0), never more often than every
 * {@value #MIN_INTERVAL_MS} ms. {@code onChange} is called, on that thread only, when the set of targets changed.
 * A failed resolution (NXDOMAIN, no records, SERVFAIL, no answer) changes nothing: the last good answer stays,
 * {@link #lastError()} says what failed, and it tries again after a backoff ({@value #FIRST_BACKOFF_MS} ms,
 * doubling, at most {@code refresh_ms}). A name that fails at start has no targets until it resolves.
 */
public final class DnsDiscovery implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(DnsDiscovery.class.getName());

    /** The refresh interval when the config gives none. */
    public static final long DEFAULT_REFRESH_MS = 5000;
    /** The port of A/AAAA targets when the spec gives none. */
    public static final int DEFAULT_PORT = 80;
    /** Never resolve more often than this. */
    static final long MIN_INTERVAL_MS = 100;
    /** The first retry after a failure; it doubles per failure in a row, up to refresh_ms. */
    static final long FIRST_BACKOFF_MS = 250;
    /** How long {@link #start()} waits for the first answer. */
    static final Duration START_WAIT = Duration.ofSeconds(5);

    private final DnsResolver resolver;
    private final String spec;
    private final String name;
    private final int port;
    private final long refreshMs;
    private final Consumer<List<Resolved>> onChange;
    private final CountDownLatch firstAttempt = new CountDownLatch(1);

    private volatile List<Resolved> current = List.of();
    private volatile String lastError;
    private volatile boolean closed;
    private Thread thread; // under this
    private int failuresInARow; // discovery thread only

    /**
     * @param resolver  where to ask
     * @param spec      {@code host[:port]} (A/AAAA) or {@code _service._proto.name} (SRV)
     * @param refreshMs how often to re-resolve at most (a shorter TTL re-resolves sooner), &gt; 0
     * @param onChange  called with the new sorted targets whenever they change, from the discovery thread only
     * @throws IllegalArgumentException a spec that is no DNS name (or an SRV name with a port), a bad port, or
     *                                  refreshMs ≤ 0
     */
    public DnsDiscovery(DnsResolver resolver, String spec, long refreshMs, Consumer<List<Resolved>> onChange) {
        this.resolver = Objects.requireNonNull(resolver, "resolver");
        this.onChange = Objects.requireNonNull(onChange, "onChange");
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException("discovery.dns: empty name");
        }
        if (refreshMs <= 0) {
            throw new IllegalArgumentException("discovery.refresh_ms must be > 0, not " + refreshMs);
        }
        this.spec = spec.strip();
        this.refreshMs = refreshMs;
        int colon = this.spec.lastIndexOf(':');
        if (colon >= 0) {
            this.name = this.spec.substring(0, colon);
            String p = this.spec.substring(colon + 1);
            int parsed;
            try {
                parsed = Integer.parseInt(p);
            } catch (NumberFormatException e) {
                parsed = -1;
            }
            if (parsed < 1 || parsed > 65535) {
                throw new IllegalArgumentException("discovery.dns " + spec + ": bad port " + p);
            }
            if (this.name.startsWith("_")) {
                throw new IllegalArgumentException("discovery.dns " + spec
                        + ": an SRV name takes its ports from the records; leave the port out");
            }
            this.port = parsed;
        } else {
            this.name = this.spec;
            this.port = DEFAULT_PORT;
        }
        if (name.isEmpty()) {
            throw new IllegalArgumentException("discovery.dns " + spec + ": empty name");
        }
        try {
            Name.fromString(name);
        } catch (TextParseException e) {
            throw new IllegalArgumentException("discovery.dns " + spec + ": " + e.getMessage(), e);
        }
    }

    /**
     * Resolves once (waiting {@link #START_WAIT} at most) and starts re-resolving in the background.
     *
     * @return this
     * @throws IllegalStateException started before, or closed
     */
    public DnsDiscovery start() {
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("closed");
            }
            if (thread != null) {
                throw new IllegalStateException("started already");
            }
            thread = Thread.ofVirtual().name("sluice-dns " + spec).start(this::run);
        }
        try {
            firstAttempt.await(START_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return this;
    }

    /**
     * @return the targets of the last good answer (sorted; empty before the first one)
     */
    public List<Resolved> current() {
        return current;
    }

    /**
     * @return why the last resolution failed, or null when it succeeded (or none finished yet)
     */
    public String lastError() {
        return lastError;
    }

    /**
     * @return the spec as configured
     */
    public String spec() {
        return spec;
    }

    /** Stops re-resolving: interrupts the discovery thread and waits a little for it to end. Idempotent. */
    @Override
    public void close() {
        Thread t;
        synchronized (this) {
            closed = true;
            t = thread;
        }
        if (t == null || t == Thread.currentThread()) {
            if (t != null) {
                t.interrupt();
            }
            return;
        }
        t.interrupt();
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    t.join(Duration.ofSeconds(2));
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void run() {
        long delay;
        try {
            delay = attempt();
        } finally {
            firstAttempt.countDown();
        }
        while (!closed && delay >= 0) {
            try {
                Thread.sleep(delay);
            } catch (InterruptedException e) {
                return;
            }
            delay = closed ? -1 : attempt();
        }
    }

    /**
     * Resolves once.
     *
     * @return how long to wait before the next attempt, -1 to stop (interrupted)
     */
    private long attempt() {
        Answer answer;
        try {
            answer = resolver.resolve(name, port);
        } catch (InterruptedIOException e) {
            return -1;
        } catch (IOException | RuntimeException e) {
            if (closed || Thread.currentThread().isInterrupted()) {
                return -1;
            }
            String message = e.getMessage() == null ? e.toString() : e.getMessage();
            if (failuresInARow == 0 || !message.equals(lastError)) {
                LOG.log(System.Logger.Level.WARNING, "DNS discovery of " + spec + " failed, keeping "
                        + current.size() + " target(s): " + message);
            }
            lastError = message;
            failuresInARow++;
            long backoff = FIRST_BACKOFF_MS << Math.min(failuresInARow - 1, 20);
            return Math.max(MIN_INTERVAL_MS, Math.min(refreshMs, backoff));
        }
        if (failuresInARow > 0) {
            LOG.log(System.Logger.Level.INFO, "DNS discovery of " + spec + " works again");
        }
        failuresInARow = 0;
        List<Resolved> targets = answer.targets();
        boolean changed = !targets.equals(current);
        if (changed) {
            current = targets;
        }
        lastError = null;
        if (changed) {
            try {
                onChange.accept(targets);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "DNS discovery of " + spec + ": the change listener failed", e);
            }
        }
        long ttl = answer.ttlMillis();
        return Math.max(MIN_INTERVAL_MS, ttl > 0 ? Math.min(ttl, refreshMs) : refreshMs);
    }
}
