package io.sluice.builtin.circuit_breaker;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.micrometer.core.instrument.Metrics;
import io.sluice.plugin.Exchange;
import io.sluice.plugin.Filter;
import io.sluice.plugin.Outcome;
import io.sluice.plugin.UpstreamPolicy;

import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Guards each upstream target of its route: the gateway asks it before every attempt ({@link #begin}) and tells
 * it the result. The request side does nothing.
 */
final class CircuitBreakerFilter implements Filter, UpstreamPolicy {
    private static final Set<String> IDEMPOTENT = Set.of("GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE");

    /** What Resilience4j records for a call that answered with a failure status. */
    private static final class FailureStatus extends RuntimeException {
        FailureStatus() {
            super("failure status", null, false, false);
        }
    }

    private static final FailureStatus FAILURE_STATUS = new FailureStatus();
    private static final RuntimeException UNAVAILABLE = new RuntimeException("unavailable", null, false, false) {
    };

    private final BreakerConfig config;
    /** This entry's guards by target: a lookup by the target string, not by target and whole config. */
    private final ConcurrentHashMap<String, Breakers.Guard> guards = new ConcurrentHashMap<>();

    CircuitBreakerFilter(BreakerConfig config) {
        this.config = config;
    }

    private Breakers.Guard guard(String target) {
        Breakers.Guard g = guards.get(target);
        return g != null ? g : guards.computeIfAbsent(target, t -> Breakers.of(t, config));
    }

    @Override
    public Outcome onRequest(Exchange exchange) {
        return Outcome.proceed();
    }

    @Override
    public Attempt begin(Exchange exchange, String target, int attempt) {
        Breakers.Guard g = guard(target);
        if (attempt == 1) {
            g.budget().deposit();
        }
        if (g.bulkhead() != null && !g.bulkhead().tryAcquirePermission()) {
            g.refusedFull().increment();
            Outcome.Respond r = Outcome.error(503, "bulkhead_full", "too many calls in flight to " + target);
            r.headers().set("Retry-After", "1");
            return new Refused(r);
        }
        if (!g.breaker().tryAcquirePermission()) {
            if (g.bulkhead() != null) {
                g.bulkhead().onComplete();
            }
            g.refusedOpen().increment();
            long seconds = Math.max(1, TimeUnit.NANOSECONDS.toSeconds(g.openRemainingNanos() + 999_999_999L));
            BreakerConfig.Fallback f = config.fallback();
            Outcome.Respond r = f != null
                    ? Outcome.respond(f.status(), f.toHeaders(), f.body().getBytes(StandardCharsets.UTF_8))
                    : Outcome.error(503, "circuit_open", "upstream " + target + " is failing; not called for now");
            if (!r.headers().contains("Retry-After")) {
                r.headers().set("Retry-After", Long.toString(seconds));
            }
            return new Refused(r);
        }
        return new Guarded(g, exchange, attempt);
    }

    private boolean retryable(Exchange exchange, Breakers.Guard g, int attempt) {
        if (attempt > config.maxRetries()) {
            return false;
        }
        String method = exchange.request().method();
        if (!IDEMPOTENT.contains(method) && exchange.request().headers().firstOrNull("Idempotency-Key") == null) {
            return false;
        }
        if (!g.budget().withdraw()) {
            Metrics.counter("sluice.upstream.retries.denied", "target", g.breaker().getName()).increment();
            return false;
        }
        Metrics.counter("sluice.upstream.retries", "target", g.breaker().getName()).increment();
        return true;
    }

    private record Refused(Outcome.Respond refused) implements Attempt {
        @Override
        public boolean completed(int status, long nanos) {
            return false;
        }

        @Override
        public boolean failed(boolean timedOut, long nanos) {
            return false;
        }

        @Override
        public void abandoned() {
        }
    }

    private final class Guarded implements Attempt {
        private final Breakers.Guard guard;
        private final Exchange exchange;
        private final int attempt;

        Guarded(Breakers.Guard guard, Exchange exchange, int attempt) {
            this.guard = guard;
            this.exchange = exchange;
            this.attempt = attempt;
        }

        @Override
        public Outcome.Respond refused() {
            return null;
        }

        @Override
        public boolean completed(int status, long nanos) {
            release();
            if (config.failureStatuses().contains(status)) {
                guard.breaker().onError(nanos, TimeUnit.NANOSECONDS, FAILURE_STATUS);
                return retryable(exchange, guard, attempt);
            }
            guard.breaker().onSuccess(nanos, TimeUnit.NANOSECONDS);
            return false;
        }

        @Override
        public boolean failed(boolean timedOut, long nanos) {
            release();
            guard.breaker().onError(nanos, TimeUnit.NANOSECONDS, UNAVAILABLE);
            return retryable(exchange, guard, attempt);
        }

        @Override
        public void abandoned() {
            release();
            guard.breaker().releasePermission();
        }

        private void release() {
            if (guard.bulkhead() != null) {
                guard.bulkhead().onComplete();
            }
        }
    }

    /** For tests: the breaker state of a target under this entry's config. */
    CircuitBreaker.State state(String target) {
        return guard(target).breaker().getState();
    }

}
