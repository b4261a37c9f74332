package io.sluice.builtin.rate_limit;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.sluice.plugin.Exchange;
import io.sluice.plugin.Filter;
import io.sluice.plugin.Headers;
import io.sluice.plugin.Outcome;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Takes a token per request from the bucket of the request's key. With {@code policy: redis} the bucket lives
 * in Redis and is shared by every gateway (busy keys take tokens in small {@link Leases leases}); when Redis cannot answer (down, slow, not yet connected) the request
 * is decided by a local bucket at half the configured rate, so an outage never fails requests and never lifts
 * the limit entirely. The fallback is logged once per outage and counted.
 */
final class RateLimitFilter implements Filter {
    private static final System.Logger LOG = System.getLogger(RateLimitFilter.class.getName());
    private static final String DECISION = "rate-limit.decision";

    private final RateLimitConfig config;
    private final RedisBuckets redis;
    private final Cache<String, TokenBucket> local;
    private final Cache<String, TokenBucket> fallback;
    private final Leases leases;
    private final AtomicBoolean degraded = new AtomicBoolean();
    private final AtomicLong fallbackDecisions = new AtomicLong();

    RateLimitFilter(RateLimitConfig config) {
        this.config = config;
        this.redis = config.redis() ? RedisBuckets.forUrl(config.redisUrl(), config.redisTimeout()) : null;
        long idleMillis = Math.max(60_000, (long) Math.ceil(config.burst() / config.perMilli()) * 2);
        this.local = config.redis() ? null : buckets(idleMillis);
        this.fallback = config.redis() ? buckets(idleMillis) : null;
        this.leases = config.redis() ? new Leases(config.burst()) : null;
    }

    private static Cache<String, TokenBucket> buckets(long idleMillis) {
        return Caffeine.newBuilder().maximumSize(1_000_000).expireAfterAccess(Duration.ofMillis(idleMillis)).build();
    }

    @Override
    public Outcome onRequest(Exchange exchange) {
        String key = "sluice:rl:" + exchange.route().id() + ":" + config.by() + ":" + keyOf(exchange);
        Decision d = redis == null ? take(local, key, config.perMilli(), config.burst()) : takeShared(key);
        exchange.vars().put(DECISION, d);
        if (!d.allowed()) {
            Outcome.Respond r = Outcome.error(429, "rate_limited", "rate limit exceeded, retry in "
                    + d.retryAfterSecs() + " s");
            headers(r.headers(), d);
            r.headers().set("Retry-After", Long.toString(d.retryAfterSecs()));
            return r;
        }
        return Outcome.proceed();
    }

    @Override
    public Outcome onResponse(Exchange exchange) {
        Object d = exchange.vars().get(DECISION);
        if (d instanceof Decision decision && decision.allowed()) {
            exchange.response().ifPresent(r -> headers(r.headers(), decision));
        }
        return Outcome.proceed();
    }

    private Decision takeShared(String key) {
        long now = System.nanoTime();
        Leases.Holder h = leases.holder(key);
        Decision d = leases.spend(h, now, config.burst(), config.perMilli());
        if (d != null) {
            return d;
        }
        long want = leases.want(h);
        if (want == 0) {
            d = leases.awaitFetch(h, config.redisTimeout().toNanos(), config.burst(), config.perMilli());
            if (d != null) {
                return d;
            }
        }
        try {
            RedisBuckets.Grant g = redis.take(key, config.perMilli(), config.burst(), Math.max(1, want));
            d = leases.granted(h, now, want, g, config.burst(), config.perMilli());
            if (degraded.compareAndSet(true, false)) {
                LOG.log(System.Logger.Level.INFO, "rate-limit: Redis at " + loggable(config.redisUrl()) + " is back");
            }
            return d;
        } catch (RuntimeException e) {
            leases.failed(h, want);
            if (degraded.compareAndSet(false, true)) {
                LOG.log(System.Logger.Level.WARNING, "rate-limit: Redis at " + loggable(config.redisUrl())
                        + " unavailable (" + e.getMessage() + "); local buckets at half rate until it is back");
            }
            fallbackDecisions.incrementAndGet();
            return take(fallback, key, config.perMilli() / 2, Math.max(1, config.burst() / 2));
        }
    }

    private static Decision take(Cache<String, TokenBucket> buckets, String key, double perMilli, long capacity) {
        long now = System.currentTimeMillis();
        return buckets.get(key, k -> new TokenBucket(perMilli, capacity, now)).take(now);
    }

    private String keyOf(Exchange exchange) {
        return switch (config.by()) {
            case "ip" -> exchange.clientAddress();
            case "route" -> "";
            case "header" -> {
                String v = exchange.request().headers().firstOrNull(config.header().orElseThrow());
                yield v == null ? "ip=" + exchange.clientAddress() : "h=" + v;
            }
            default -> exchange.consumer().map(c -> "c=" + c.id()).orElse("ip=" + exchange.clientAddress());
        };
    }

    private static void headers(Headers h, Decision d) {
        h.set("RateLimit-Limit", Long.toString(d.limit()));
        h.set("RateLimit-Remaining", Long.toString(d.remaining()));
        h.set("RateLimit-Reset", Long.toString(d.resetSeconds()));
    }

    /** Decisions made by the local fallback because Redis could not answer (for metrics and tests). */
    long fallbackDecisions() {
        return fallbackDecisions.get();
    }

    boolean degraded() {
        return degraded.get();
    }

    /** The Redis URL without its password: redis_url is a secret field, so it never goes to the log whole. */
    static String loggable(String url) {
        return url.replaceFirst("//[^@/]*@", "//***@");
    }
}
