package io.sluice.runtime.js;

import java.util.Map;

/**
 * Budgets of one script invocation. A breach cancels the invocation and counts towards quarantine.
 *
 * @param statements  statements one invocation may run (GraalJS resource limit)
 * @param deadlineMs  wall-clock time one invocation may take, queueing for a worker not included
 * @param memoryBytes bytes one invocation may allocate (measured per worker thread by the watchdog)
 */
public record JsLimits(long statements, long deadlineMs, long memoryBytes) {
    /** Defaults: generous for header and body logic, far below what hurts a gateway. */
    public static final JsLimits DEFAULTS = new JsLimits(1_000_000, 50, 32L * 1024 * 1024);

    /**
     * The defaults overridden by a plugin entry's {@code limits} object.
     *
     * @param limits {@code statements}, {@code deadline_ms}, {@code memory_bytes}, each optional
     * @return the limits
     */
    public static JsLimits of(Map<String, Object> limits) {
        return new JsLimits(
                number(limits, "statements", DEFAULTS.statements),
                number(limits, "deadline_ms", DEFAULTS.deadlineMs),
                number(limits, "memory_bytes", DEFAULTS.memoryBytes));
    }

    private static long number(Map<String, Object> m, String key, long fallback) {
        return m.get(key) instanceof Number n ? n.longValue() : fallback;
    }
}
