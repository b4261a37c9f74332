package io.sluice.builtin.rate_limit;

/**
 * An in-memory token bucket. Thread-safe; one lock per bucket, held for a few arithmetic operations.
 */
final class TokenBucket {
    private final double perMilli;
    private final long capacity;
    private double tokens;
    private long lastMillis;

    TokenBucket(double perMilli, long capacity, long nowMillis) {
        this.perMilli = perMilli;
        this.capacity = capacity;
        this.tokens = capacity;
        this.lastMillis = nowMillis;
    }

    synchronized Decision take(long nowMillis) {
        long elapsed = Math.max(0, nowMillis - lastMillis);
        tokens = Math.min(capacity, tokens + elapsed * perMilli);
        lastMillis = nowMillis;
        boolean allowed = tokens >= 1;
        if (allowed) {
            tokens -= 1;
        }
        return Decision.of(allowed, tokens, capacity, perMilli);
    }
}
