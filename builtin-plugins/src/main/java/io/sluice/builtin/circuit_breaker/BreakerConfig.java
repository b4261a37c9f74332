package io.sluice.builtin.circuit_breaker;

import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.Headers;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * A {@code circuit-breaker} entry's config, with its defaults (the schema documents each field).
 */
record BreakerConfig(float failureRate, float slowRate, long slowCallMs, int window, int minimumCalls, long openMs,
                     int halfOpenProbes, long halfOpenMaxMs, Set<Integer> failureStatuses, int maxConcurrent,
                     Fallback fallback, int maxRetries, double budgetRatio, int budgetMin) {

    /** The response sent while open, instead of 503 circuit_open. */
    record Fallback(int status, String body, Map<String, String> headers) {
        Headers toHeaders() {
            Headers h = new Headers();
            headers.forEach(h::add);
            return h;
        }
    }

    static BreakerConfig of(FilterConfig c) {
        int window = c.integer("window").orElse(20L).intValue();
        int minimum = c.integer("minimum_calls").orElse(10L).intValue();
        if (minimum > window) {
            throw new IllegalArgumentException("minimum_calls (" + minimum + ") cannot exceed window (" + window
                    + "): the rates would never be judged");
        }
        List<Object> statuses = c.list("failure_statuses");
        Set<Integer> failures = statuses.isEmpty() && !c.values().containsKey("failure_statuses")
                ? Set.of(500, 502, 503, 504)
                : statuses.stream().map(o -> ((Number) o).intValue()).collect(Collectors.toUnmodifiableSet());
        Fallback fallback = c.object("fallback").map(f -> {
            Map<String, String> headers = new java.util.LinkedHashMap<>();
            f.object("headers").ifPresent(h -> h.values().forEach((k, v) -> headers.put(k, String.valueOf(v))));
            return new Fallback(f.integer("status").orElseThrow().intValue(), f.string("body").orElse(""),
                    Map.copyOf(headers));
        }).orElse(null);
        FilterConfig retry = c.object("retry").orElse(FilterConfig.empty());
        return new BreakerConfig(
                c.number("failure_rate_threshold").orElse(50.0).floatValue(),
                c.number("slow_call_rate_threshold").orElse(100.0).floatValue(),
                c.integer("slow_call_ms").orElse(5000L),
                window, minimum,
                c.integer("open_ms").orElse(10_000L),
                c.integer("half_open_probes").orElse(3L).intValue(),
                c.integer("half_open_max_ms").orElse(5000L),
                failures,
                c.integer("max_concurrent").orElse(0L).intValue(),
                fallback,
                c.values().containsKey("retry") ? retry.integer("max_retries").orElse(1L).intValue() : 0,
                retry.number("budget_ratio").orElse(0.2),
                retry.integer("budget_min").orElse(10L).intValue());
    }
}
