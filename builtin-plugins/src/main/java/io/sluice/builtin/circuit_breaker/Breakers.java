package io.sluice.builtin.circuit_breaker;

import io.github.resilience4j.bulkhead.Bulkhead;
import io.github.resilience4j.bulkhead.BulkheadConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Metrics;

import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The breakers of the process, one per upstream target and breaker config. They outlive config snapshots: a
 * config change that keeps an entry's settings keeps its breakers' state (an admin edit elsewhere must not close
 * an open breaker); a changed setting starts fresh ones. A few per target at most, so they are never evicted.
 */
final class Breakers {
    /** A target's breaker and bulkhead under one config. */
    record Guard(CircuitBreaker breaker, Bulkhead bulkhead, RetryBudget budget, BreakerConfig config,
                 Counter refusedOpen, Counter refusedFull) {
        /** Nanos until an open breaker lets probes through (0 if not open). */
        long openRemainingNanos() {
            Long since = OPENED.get(breaker);
            if (since == null || breaker.getState() != CircuitBreaker.State.OPEN) {
                return 0;
            }
            return Math.max(0, since + config.openMs() * 1_000_000 - System.nanoTime());
        }
    }

    private record Key(String target, BreakerConfig config) {
    }

    private static final ConcurrentHashMap<Key, Guard> GUARDS = new ConcurrentHashMap<>();
    private static final ConcurrentHashMap<CircuitBreaker, Long> OPENED = new ConcurrentHashMap<>();

    private Breakers() {
    }

    static Guard of(String target, BreakerConfig c) {
        return GUARDS.computeIfAbsent(new Key(target, c), k -> create(target, c));
    }

    private static Guard create(String target, BreakerConfig c) {
        CircuitBreakerConfig config = CircuitBreakerConfig.custom()
                .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
                .slidingWindowSize(c.window())
                .minimumNumberOfCalls(c.minimumCalls())
                .failureRateThreshold(c.failureRate())
                .slowCallRateThreshold(c.slowRate())
                .slowCallDurationThreshold(Duration.ofMillis(c.slowCallMs()))
                .waitDurationInOpenState(Duration.ofMillis(c.openMs()))
                .permittedNumberOfCallsInHalfOpenState(c.halfOpenProbes())
                .maxWaitDurationInHalfOpenState(Duration.ofMillis(c.halfOpenMaxMs()))
                .automaticTransitionFromOpenToHalfOpenEnabled(false)
                .writableStackTraceEnabled(false)
                .build();
        CircuitBreaker cb = CircuitBreaker.of(target, config);
        cb.getEventPublisher().onStateTransition(e -> {
            if (e.getStateTransition().getToState() == CircuitBreaker.State.OPEN) {
                OPENED.put(cb, System.nanoTime());
            }
        });
        Bulkhead bulkhead = c.maxConcurrent() <= 0 ? null : Bulkhead.of(target, BulkheadConfig.custom()
                .maxConcurrentCalls(c.maxConcurrent()).maxWaitDuration(Duration.ZERO).build());
        Gauge.builder("sluice.circuit.state", cb, b -> switch (b.getState()) {
                    case CLOSED -> 0;
                    case OPEN, FORCED_OPEN -> 1;
                    case HALF_OPEN -> 2;
                    default -> 3;
                }).description("circuit breaker state per upstream target: 0 closed, 1 open, 2 half-open")
                .tag("target", target).tag("breaker", Integer.toHexString(c.hashCode()))
                .register(Metrics.globalRegistry);
        return new Guard(cb, bulkhead, new RetryBudget(c.budgetRatio(), c.budgetMin()), c,
                refused(target, "circuit_open"), refused(target, "bulkhead_full"));
    }

    private static Counter refused(String target, String reason) {
        return Counter.builder("sluice.circuit.refused").description("calls refused by a breaker or bulkhead")
                .tags("target", target, "reason", reason).register(Metrics.globalRegistry);
    }
}
