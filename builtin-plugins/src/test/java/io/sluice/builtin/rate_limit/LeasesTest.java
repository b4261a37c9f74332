package io.sluice.builtin.rate_limit;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Leasing against a simulated shared bucket (the Lua script's arithmetic, in memory) on a simulated clock: two
 * gateways, each a stream of requests far above the limit.
 */
class LeasesTest {
    static final double PER_MILLI = 1.0;   // 1000/s
    static final long BURST = 400;

    /** The script's arithmetic: refill, then grant up to want whole tokens. */
    static final class Shared {
        double tokens = BURST;
        long lastNanos;
        long calls;

        RedisBuckets.Grant take(long now, long want) {
            calls++;
            tokens = Math.min(BURST, tokens + (now - lastNanos) / 1e6 * PER_MILLI);
            lastNanos = now;
            long granted = Math.min(want, (long) Math.floor(tokens));
            tokens -= granted;
            return new RedisBuckets.Grant(granted, tokens);
        }
    }

    static boolean decide(Leases leases, Shared shared, long now) {
        Leases.Holder h = leases.holder("k");
        Decision d = leases.spend(h, now, BURST, PER_MILLI);
        if (d == null) {
            long want = leases.want(h);
            d = leases.granted(h, now, want, shared.take(now, Math.max(1, want)), BURST, PER_MILLI);
        }
        return d.allowed();
    }

    @Test
    void overloadedKeyStaysUnderTheCeilingWithFewRedisCalls() {
        Shared shared = new Shared();
        Leases a = new Leases(BURST);
        Leases b = new Leases(BURST);
        long start = 1_000_000_000L;
        shared.lastNanos = start;
        int admitted = 0;
        int decisions = 0;
        long seconds = 5;
        for (long t = start; t < start + seconds * 1_000_000_000L; t += 100_000) {   // 10,000 requests/s per gateway
            admitted += decide(a, shared, t) ? 1 : 0;
            admitted += decide(b, shared, t + 50_000) ? 1 : 0;
            decisions += 2;
        }
        double ceiling = PER_MILLI * 1000 * seconds + BURST;
        assertTrue(admitted <= ceiling, admitted + " admitted, ceiling " + ceiling);
        assertTrue(admitted >= 0.9 * PER_MILLI * 1000 * seconds, "only " + admitted + " admitted");
        assertTrue(shared.calls * 10 < decisions, shared.calls + " Redis calls for " + decisions + " decisions");
    }

    @Test
    void quietKeyAsksForOneTokenAtATime() {
        Shared shared = new Shared();
        Leases a = new Leases(BURST);
        long start = 1_000_000_000L;
        shared.lastNanos = start;
        for (long t = start; t < start + 2_000_000_000L; t += 200_000_000L) {   // 5/s
            assertTrue(decide(a, shared, t));
        }
        assertTrue(shared.tokens >= BURST - 1, "only one token was taken per request: " + shared.tokens);
    }
}
