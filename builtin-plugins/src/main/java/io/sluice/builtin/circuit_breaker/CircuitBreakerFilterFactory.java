package io.sluice.builtin.circuit_breaker;

import io.sluice.builtin.Schemas;
import io.sluice.plugin.Filter;
import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.FilterDescriptor;
import io.sluice.plugin.FilterFactory;

/**
 * {@code circuit-breaker}: a Resilience4j circuit breaker and an optional bulkhead per upstream target, and
 * budgeted retries of idempotent requests.
 */
public final class CircuitBreakerFilterFactory implements FilterFactory {
    static final String NAME = "circuit-breaker";
    private static final FilterDescriptor DESCRIPTOR = new FilterDescriptor(NAME, "1.0.0",
            Schemas.load(CircuitBreakerFilterFactory.class, NAME),
            "Stops calling a failing or slow upstream target for a while (503 circuit_open), bounds calls in "
                    + "flight per target, and retries idempotent requests within a budget.");

    @Override
    public FilterDescriptor descriptor() {
        return DESCRIPTOR;
    }

    @Override
    public Filter create(FilterConfig config) {
        return new CircuitBreakerFilter(BreakerConfig.of(config));
    }
}
