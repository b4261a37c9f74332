package io.sluice.builtin.circuit_breaker;

import io.sluice.builtin.ConfigCheck;
import io.sluice.plugin.FilterConfig;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CircuitBreakerConfigTest {
    private final CircuitBreakerFilterFactory factory = new CircuitBreakerFilterFactory();

    @Test
    void acceptsDefaultsAndAFullConfig() {
        assertEquals(List.of(), ConfigCheck.problems(factory, "{}"));
        assertEquals(List.of(), ConfigCheck.problems(factory, """
                {"failure_rate_threshold": 25, "slow_call_rate_threshold": 80, "slow_call_ms": 800, "window": 50,
                 "minimum_calls": 20, "open_ms": 30000, "half_open_probes": 2, "half_open_max_ms": 3000,
                 "failure_statuses": [500, 503], "max_concurrent": 100,
                 "fallback": {"status": 200, "body": "{\\"items\\": []}", "headers": {"Content-Type": "application/json"}},
                 "retry": {"max_retries": 2, "budget_ratio": 0.1, "budget_min": 5}}"""));
    }

    @Test
    void pinsTheErrors() {
        assertEquals(List.of("failure_rate_threshold: must have a maximum value of 100"),
                ConfigCheck.problems(factory, "{\"failure_rate_threshold\": 150}"));
        assertEquals(List.of("retry.max_retries: must have a maximum value of 4"),
                ConfigCheck.problems(factory, "{\"retry\": {\"max_retries\": 9}}"));
        assertEquals(List.of("fallback.status: required property 'status' not found"),
                ConfigCheck.problems(factory, "{\"fallback\": {\"body\": \"x\"}}"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> factory.create(FilterConfig.of(Map.of("window", 5L, "minimum_calls", 10L))));
        assertTrue(e.getMessage().contains("minimum_calls (10) cannot exceed window (5)"), e.getMessage());
    }

    @Test
    void defaultsAreDocumentedOnes() {
        BreakerConfig c = BreakerConfig.of(FilterConfig.empty());
        assertEquals(50f, c.failureRate());
        assertEquals(20, c.window());
        assertEquals(10, c.minimumCalls());
        assertEquals(Set.of(500, 502, 503, 504), c.failureStatuses());
        assertEquals(0, c.maxRetries(), "no retries unless a retry block is given");
        assertNull(c.fallback());
        assertEquals(1, BreakerConfig.of(FilterConfig.of(Map.of("retry", Map.of()))).maxRetries());
    }
}
