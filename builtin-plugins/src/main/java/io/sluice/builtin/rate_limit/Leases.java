package io.sluice.builtin.rate_limit;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Tokens a gateway has taken from a shared Redis bucket ahead of use, so that a busy key costs one Redis call per
 * lease instead of one per request. A token is always taken from Redis before a request spends it, so the shared
 * limit (rate × time + burst across all gateways) still holds; what a lease costs is that tokens leased and not
 * spent within {@link #TTL_NANOS} lapse (the limit errs low, never high), and that up to one lease per gateway
 * may be spent in the period after the one it was taken in.
 *
 * <p>Lease size adapts per key: it doubles when a lease runs out before it lapses and halves when tokens lapse
 * unspent, between 1 and a tenth of the burst (so a handful of gateways cannot lease the bucket dry). A quiet key
 * therefore goes to Redis for every request, as without leases. While one request of a key fetches a lease,
 * others of the same key wait for it (at most the Redis timeout) and then ask Redis for a single token if it
 * did not cover them. A refusal is remembered until the bucket can have refilled
 * the wanted lease (at most one lease period), so a client hammering a limited key does not hammer Redis; the
 * tokens accrue in Redis meanwhile and are not lost.
 */
final class Leases {
    static final long TTL_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

    /** One key's tokens in hand. */
    static final class Holder {
        final AtomicLong left = new AtomicLong();
        final AtomicBoolean fetching = new AtomicBoolean();
        volatile CompletableFuture<Void> fetched = CompletableFuture.completedFuture(null);
        volatile long expires;
        volatile long refusedUntil;
        volatile double tokensAtRedis;
        volatile long wanted = 1;
        volatile boolean ranOut;
    }

    private final Cache<String, Holder> holders = Caffeine.newBuilder().maximumSize(1_000_000)
            .expireAfterAccess(Duration.ofNanos(TTL_NANOS * 50)).build();
    private final long maxLease;

    Leases(long burst) {
        this.maxLease = Math.max(1, burst / 10);
    }

    Holder holder(String key) {
        return holders.get(key, k -> new Holder());
    }

    /** Spends a token in hand or repeats a remembered refusal; null when Redis must be asked. */
    Decision spend(Holder h, long now, long capacity, double perMilli) {
        if (now - h.refusedUntil < 0) {
            return Decision.of(false, h.tokensAtRedis, capacity, perMilli);
        }
        if (now - h.expires >= 0) {
            if (h.left.getAndSet(0) > 0) {
                h.wanted = Math.max(1, h.wanted / 2);   // tokens lapsed unspent: lease less
            }
            return null;
        }
        long before = h.left.getAndUpdate(x -> x > 0 ? x - 1 : x);
        if (before > 0) {
            return Decision.of(true, h.tokensAtRedis + before - 1, capacity, perMilli);
        }
        h.ranOut = true;
        return null;
    }

    /**
     * How many tokens this request should fetch: the lease size if it got the key's fetch slot, else 0 (another
     * request is fetching the lease; ask Redis for the one token this request needs). Pass the answer to
     * {@link #granted} or {@link #failed}, which release the slot.
     */
    long want(Holder h) {
        if (!h.fetching.compareAndSet(false, true)) {
            return 0;
        }
        h.fetched = new CompletableFuture<>();
        if (h.ranOut) {
            h.ranOut = false;
            h.wanted = Math.min(maxLease, h.wanted * 2);
        }
        return h.wanted;
    }

    /** Records what Redis granted for a {@link #want} (the calling request spends the first token). */
    Decision granted(Holder h, long now, long wanted, RedisBuckets.Grant g, long capacity, double perMilli) {
        h.tokensAtRedis = g.tokens();
        if (g.granted() == 0) {
            long refillNanos = (long) Math.ceil((Math.max(1, h.wanted) - g.tokens()) / perMilli * 1_000_000);
            h.refusedUntil = now + Math.clamp(refillNanos, 1, TTL_NANOS);
            release(h, wanted);
            return Decision.of(false, g.tokens(), capacity, perMilli);
        }
        if (g.granted() > 1) {
            h.left.addAndGet(g.granted() - 1);
        }
        h.expires = now + TTL_NANOS;   // even for a single token: the next request finding none in hand doubles the lease
        release(h, wanted);
        return Decision.of(true, g.tokens() + h.left.get(), capacity, perMilli);
    }

    /**
     * Lets a request that found no token in hand, while another request of its key fetches a lease, wait for that
     * fetch (at most {@code timeoutNanos}) and spend from it.
     *
     * @return a decision, or null when it must still ask Redis itself
     */
    Decision awaitFetch(Holder h, long timeoutNanos, long capacity, double perMilli) {
        try {
            h.fetched.get(timeoutNanos, TimeUnit.NANOSECONDS);
        } catch (TimeoutException | java.util.concurrent.ExecutionException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
        return spend(h, System.nanoTime(), capacity, perMilli);
    }

    private static void release(Holder h, long wanted) {
        if (wanted > 0) {
            h.fetching.set(false);
            h.fetched.complete(null);
        }
    }

    /** Releases the fetch slot after a failed Redis call. */
    void failed(Holder h, long wanted) {
        release(h, wanted);
    }
}
