package io.sluice.registry.admin;

import io.sluice.registry.store.AuditEntry;
import io.sluice.registry.store.Store;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The admin audit log as the admin API writes it.
 *
 * <p>Changes and refusals of authenticated callers are one row each. Refusals of unauthenticated callers
 * (401) are folded, because anyone who can reach the admin port can send them: they are counted in memory
 * per (source address, minute) and written as one row with a {@code count} once the minute is over (and on
 * shutdown), so a flood costs no database write per request. Memory is bounded: past {@code maxSources}
 * distinct sources in a minute, further sources share one {@value #OTHER} bucket. IPv6 callers are keyed by
 * their /64, since one host can use a whole /64.
 *
 * <p>It also applies the retention: rows older than {@link Retention#days()} and rows beyond
 * {@link Retention#maxRows()} are deleted at start and hourly.
 */
public final class AuditLog implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(AuditLog.class.getName());
    /** Distinct sources counted per minute before further ones share one bucket. */
    public static final int DEFAULT_MAX_SOURCES = 512;
    /** The source of the bucket shared by sources past the limit. */
    public static final String OTHER = "other";
    private static final Duration PRUNE_EVERY = Duration.ofHours(1);

    /**
     * How long audit rows are kept.
     *
     * @param days    rows older than this many days are deleted; 0 keeps them regardless of age
     * @param maxRows at most this many newest rows are kept; 0 for no limit
     */
    public record Retention(int days, long maxRows) {
        /** 90 days, at most a million rows. */
        public static final Retention DEFAULT = new Retention(90, 1_000_000);

        /**
         * @throws IllegalArgumentException when negative
         */
        public Retention {
            if (days < 0 || maxRows < 0) {
                throw new IllegalArgumentException("audit retention must not be negative");
            }
        }
    }

    private record Key(String source, long minute) {
    }

    /** One source's refusals in one minute; changed only inside {@link ConcurrentMap#compute}. */
    private static final class Bucket {
        final Instant first;
        long withoutToken;
        long withBadToken;
        String lastAction = "";
        String lastMessage = "";

        Bucket(Instant first) {
            this.first = first;
        }

        long count() {
            return withoutToken + withBadToken;
        }
    }

    private final Store store;
    private final Clock clock;
    private final int maxSources;
    private final Retention retention;
    private final ConcurrentMap<Key, Bucket> buckets = new ConcurrentHashMap<>();
    private ScheduledExecutorService timer;

    /**
     * A log that flushes only when told ({@link #flush}, {@link #close}); {@link #start} adds the timer.
     *
     * @param store      where rows go
     * @param clock      time source
     * @param maxSources distinct sources folded per minute before the {@value #OTHER} bucket
     * @param retention  how long rows are kept
     */
    public AuditLog(Store store, Clock clock, int maxSources, Retention retention) {
        if (maxSources < 1) {
            throw new IllegalArgumentException("maxSources must be ≥ 1");
        }
        this.store = store;
        this.clock = clock;
        this.maxSources = maxSources;
        this.retention = retention;
    }

    /**
     * @param store     where rows go
     * @param retention how long rows are kept
     * @return a started log (flushes each finished minute, prunes at start and hourly)
     */
    public static AuditLog start(Store store, Retention retention) {
        AuditLog log = new AuditLog(store, Clock.systemUTC(), DEFAULT_MAX_SOURCES, retention);
        log.start();
        return log;
    }

    /** Starts flushing finished minutes (checked each second) and pruning (now, then hourly). */
    public synchronized void start() {
        if (timer != null) {
            return;
        }
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "sluice-audit");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleWithFixedDelay(() -> flush(false), 1, 1, TimeUnit.SECONDS);
        timer.scheduleWithFixedDelay(this::pruneQuietly, 0, PRUNE_EVERY.toSeconds(), TimeUnit.SECONDS);
    }

    /**
     * Writes one row.
     *
     * @param entry the entry
     */
    public void write(AuditEntry entry) {
        try {
            store.audit(entry);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "cannot write audit entry for " + entry.action() + ": " + e.getMessage());
        }
    }

    /**
     * Counts a refused unauthenticated request (no database write).
     *
     * @param source    the caller's address
     * @param withToken whether it sent a token (an unknown one) rather than none
     * @param action    method and path
     * @param message   why it was refused
     */
    public void refused(Optional<InetAddress> source, boolean withToken, String action, String message) {
        Instant now = clock.instant();
        long minute = now.getEpochSecond() / 60;
        Key key = new Key(source.map(AuditLog::sourceOf).orElse("unknown"), minute);
        if (!buckets.containsKey(key) && buckets.size() >= maxSources) {
            key = new Key(OTHER, minute);
        }
        buckets.compute(key, (k, b) -> {
            Bucket out = b == null ? new Bucket(now) : b;
            if (withToken) {
                out.withBadToken++;
            } else {
                out.withoutToken++;
            }
            out.lastAction = action;
            out.lastMessage = message;
            return out;
        });
    }

    /**
     * Writes the folded rows of finished minutes (all of them when {@code all}).
     *
     * @param all also the current minute (shutdown)
     * @return rows written
     */
    public int flush(boolean all) {
        long current = clock.instant().getEpochSecond() / 60;
        List<Key> due = buckets.keySet().stream().filter(k -> all || k.minute() < current)
                .sorted(Comparator.comparingLong(Key::minute)).toList();
        int written = 0;
        for (Key k : due) {
            Bucket b = buckets.remove(k);
            if (b == null) {
                continue;
            }
            try {
                store.audit(entry(k, b));
                written++;
            } catch (RuntimeException e) {
                // the log line is then the only record; keeping buckets for a store that stays down would grow
                LOG.log(Level.WARNING, "cannot write folded audit row (" + b.count() + " refused requests from "
                        + k.source() + "): " + e.getMessage());
            }
        }
        return written;
    }

    /**
     * The folded rows not written yet, newest first.
     *
     * @return entries with id 0
     */
    public List<AuditEntry> pending() {
        List<AuditEntry> out = new ArrayList<>();
        buckets.forEach((k, b) -> {
            // read under the bucket's lock so counts are consistent
            Bucket[] copy = new Bucket[1];
            buckets.computeIfPresent(k, (kk, bb) -> {
                Bucket c = new Bucket(bb.first);
                c.withoutToken = bb.withoutToken;
                c.withBadToken = bb.withBadToken;
                c.lastAction = bb.lastAction;
                c.lastMessage = bb.lastMessage;
                copy[0] = c;
                return bb;
            });
            if (copy[0] != null) {
                out.add(entry(k, copy[0]));
            }
        });
        out.sort(Comparator.comparing(AuditEntry::at).reversed());
        return out;
    }

    /**
     * Applies the retention now.
     *
     * @return rows deleted
     */
    public long prune() {
        Optional<Instant> cutoff = retention.days() == 0 ? Optional.empty()
                : Optional.of(clock.instant().minus(Duration.ofDays(retention.days())));
        return store.pruneAudit(cutoff, retention.maxRows());
    }

    private void pruneQuietly() {
        try {
            long n = prune();
            if (n > 0) {
                LOG.info("audit retention deleted " + n + " rows");
            }
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "audit retention failed (retried in an hour): " + e.getMessage());
        }
    }

    /** Stops the timer and writes every folded row, the current minute's too. */
    @Override
    public void close() {
        synchronized (this) {
            if (timer != null) {
                timer.shutdownNow();
                try {
                    timer.awaitTermination(5, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                timer = null;
            }
        }
        flush(true);
    }

    private static AuditEntry entry(Key k, Bucket b) {
        String actor = b.withBadToken == 0 ? "anonymous" : b.withoutToken == 0 ? "invalid-token" : "unauthenticated";
        String message = "refused " + b.count() + " unauthenticated request" + (b.count() == 1 ? "" : "s")
                + " from " + k.source() + " in the minute from " + Instant.ofEpochSecond(k.minute() * 60)
                + " (" + b.withoutToken + " without a token, " + b.withBadToken + " with an unknown one); last: "
                + b.lastMessage;
        return new AuditEntry(0, b.first, actor, Optional.empty(), b.lastAction, 401, Optional.empty(), message,
                Optional.of(k.source()), b.count());
    }

    /**
     * The key a caller's address is folded under: IPv4 as is, IPv6 by its /64.
     *
     * @param address the address
     * @return the key
     */
    static String sourceOf(InetAddress address) {
        if (address instanceof Inet6Address v6) {
            byte[] b = v6.getAddress();
            StringBuilder s = new StringBuilder();
            for (int i = 0; i < 8; i += 2) {
                s.append(Integer.toHexString(((b[i] & 0xff) << 8) | (b[i + 1] & 0xff))).append(':');
            }
            return s.append(":/64").toString();
        }
        return address.getHostAddress();
    }
}
