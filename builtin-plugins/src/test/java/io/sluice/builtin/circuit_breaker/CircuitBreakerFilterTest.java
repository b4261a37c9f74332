package io.sluice.builtin.circuit_breaker;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.Outcome;
import io.sluice.plugin.UpstreamPolicy;
import io.sluice.plugin.testkit.TestExchange;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CircuitBreakerFilterTest {
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);

    /** A fresh target per test: breakers are per target and live for the process. */
    private static String target() {
        return "http://" + UUID.randomUUID() + ":80";
    }

    private static CircuitBreakerFilter filter(Map<String, Object> config) {
        return (CircuitBreakerFilter) new CircuitBreakerFilterFactory().create(FilterConfig.of(config));
    }

    private static TestExchange get() {
        return TestExchange.request("GET", "/x");
    }

    @Test
    void opensOnFailureRateThenRefusesWith503AndRetryAfter() {
        CircuitBreakerFilter f = filter(Map.of("window", 4L, "minimum_calls", 4L, "open_ms", 30_000L));
        String t = target();
        for (int i = 0; i < 2; i++) {
            assertFalse(f.begin(get(), t, 1).completed(200, MS));
            assertFalse(f.begin(get(), t, 1).completed(503, MS));
        }
        assertEquals(CircuitBreaker.State.OPEN, f.state(t));
        Outcome.Respond r = f.begin(get(), t, 1).refused();
        assertNotNull(r);
        assertEquals(503, r.status());
        assertTrue(r.bodyText().contains("circuit_open"), r.bodyText());
        assertEquals("30", r.headers().firstOrNull("Retry-After"));
    }

    @Test
    void slowCallsOpenItToo() {
        CircuitBreakerFilter f = filter(Map.of("window", 4L, "minimum_calls", 4L, "slow_call_ms", 100L,
                "slow_call_rate_threshold", 50.0));
        String t = target();
        for (int i = 0; i < 4; i++) {
            f.begin(get(), t, 1).completed(200, 150 * MS);
        }
        assertEquals(CircuitBreaker.State.OPEN, f.state(t));
    }

    @Test
    void aHungProbeDoesNotHoldTheBreakerHalfOpen() throws Exception {
        CircuitBreakerFilter f = filter(Map.of("window", 2L, "minimum_calls", 2L, "open_ms", 50L,
                "half_open_probes", 1L, "half_open_max_ms", 100L));
        String t = target();
        f.begin(get(), t, 1).failed(false, MS);
        f.begin(get(), t, 1).failed(false, MS);
        assertEquals(CircuitBreaker.State.OPEN, f.state(t));
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        UpstreamPolicy.Attempt probe;
        while ((probe = f.begin(get(), t, 1)).refused() != null && System.nanoTime() < until) {
            Thread.onSpinWait();
        }
        assertNull(probe.refused(), "open_ms passed: a probe is let through");
        assertEquals(CircuitBreaker.State.HALF_OPEN, f.state(t));
        assertNotNull(f.begin(get(), t, 1).refused(), "one probe at a time");
        // the probe never reports back; the breaker must not wait for it forever
        while (f.state(t) == CircuitBreaker.State.HALF_OPEN && System.nanoTime() < until) {
            Thread.sleep(10);
        }
        assertEquals(CircuitBreaker.State.OPEN, f.state(t));
    }

    @Test
    void fallbackReplacesCircuitOpen() {
        CircuitBreakerFilter f = filter(Map.of("window", 1L, "minimum_calls", 1L,
                "fallback", Map.of("status", 200L, "body", "[]", "headers", Map.of("X-Fallback", "1"))));
        String t = target();
        f.begin(get(), t, 1).failed(true, MS);
        Outcome.Respond r = f.begin(get(), t, 1).refused();
        assertEquals(200, r.status());
        assertEquals("[]", r.bodyText());
        assertEquals("1", r.headers().firstOrNull("X-Fallback"));
        assertNotNull(r.headers().firstOrNull("Retry-After"));
    }

    @Test
    void retriesOnlyIdempotentRequestsAndWithinTheBudget() {
        CircuitBreakerFilter f = filter(Map.of("window", 1000L, "minimum_calls", 1000L,
                "retry", Map.of("max_retries", 1L, "budget_ratio", 0.2, "budget_min", 0L)));
        String t = target();
        int retried = 0;
        for (int i = 0; i < 100; i++) {
            if (f.begin(get(), t, 1).failed(true, MS)) {
                retried++;
            }
        }
        assertEquals(20, retried, "a budget of 0.2: retries add at most 20% to 100 failing requests");
        for (int i = 0; i < 10; i++) {
            f.begin(get(), t, 1).completed(200, MS);   // earn two retries
        }
        assertFalse(f.begin(TestExchange.request("POST", "/x"), t, 1).completed(502, MS),
                "POST without Idempotency-Key is never retried");
        assertFalse(f.begin(get(), t, 2).completed(502, MS), "attempt 2 is past max_retries 1");
        assertFalse(f.begin(get(), t, 1).completed(404, MS), "404 is not a failure status");
        assertTrue(f.begin(TestExchange.request("POST", "/x").header("Idempotency-Key", "k1"), t, 1)
                .completed(502, MS), "POST with Idempotency-Key is retried");
    }

    @Test
    void bulkheadBoundsCallsInFlightPerTarget() {
        CircuitBreakerFilter f = filter(Map.of("max_concurrent", 2L));
        String t = target();
        UpstreamPolicy.Attempt a = f.begin(get(), t, 1);
        UpstreamPolicy.Attempt b = f.begin(get(), t, 1);
        Outcome.Respond full = f.begin(get(), t, 1).refused();
        assertNotNull(full);
        assertTrue(full.bodyText().contains("bulkhead_full"));
        assertNull(f.begin(get(), target(), 1).refused(), "another target is not affected");
        a.completed(200, MS);
        assertNull(f.begin(get(), t, 1).refused(), "a finished call frees its place");
        b.abandoned();
    }
}
