package io.sluice.runtime.js;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * Running scripts on request threads is off unless asked for ({@code -Dsluice.js.inline=true}): measured, it did not
 * lower the CPU a request costs (runtime/bench/RESULTS.md). This JVM has what it needs (the build opens
 * {@code jdk.internal.vm} as bin/sluice does), so only the default keeps it off.
 */
class OnCarrierTest {
    @Test
    void offUnlessAskedFor() {
        assertFalse(Boolean.getBoolean("sluice.js.inline"), "this test runs without the property");
        assertFalse(OnCarrier.AVAILABLE);
    }
}
