package io.sluice.runtime.upstream;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The two verdicts of a target's health: active thresholds, passive ejection with its growing time and cap. */
class TargetHealthTest {

    @Test
    void activeChecksNeedTheirThresholdInARowBothWays() {
        TargetHealth h = new TargetHealth("http://t");
        assertFalse(h.probed(false, "500", 2, 3));
        assertFalse(h.probed(false, "500", 2, 3));
        assertFalse(h.probed(true, "200", 2, 3), "a good probe resets the failures");
        assertFalse(h.probed(false, "500", 2, 3));
        assertFalse(h.probed(false, "500", 2, 3));
        assertTrue(h.probed(false, "500", 2, 3));
        assertEquals(TargetHealth.State.UNHEALTHY, h.state());
        assertFalse(h.available());
        assertTrue(h.reason().contains("500"), h.reason());
        assertFalse(h.probed(true, "200", 2, 3));
        assertTrue(h.probed(true, "200", 2, 3));
        assertEquals(TargetHealth.State.HEALTHY, h.state());
        assertTrue(h.available());
    }

    @Test
    void ejectionNeedsConsecutiveFailuresAndEndsByItself() throws Exception {
        TargetHealth h = new TargetHealth("http://t");
        assertFalse(h.failed("refused", 3, 50, () -> true));
        h.succeeded();
        assertFalse(h.failed("refused", 3, 50, () -> true));
        assertFalse(h.failed("refused", 3, 50, () -> true));
        assertTrue(h.failed("refused", 3, 50, () -> true));
        assertEquals(TargetHealth.State.EJECTED, h.state());
        assertFalse(h.available());
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!h.available() && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertTrue(h.available(), "back after eject_ms");
        assertEquals(TargetHealth.State.HEALTHY, h.state());
    }

    @Test
    void theCapKeepsATargetInRotationAndSaysWhy() {
        TargetHealth h = new TargetHealth("http://t");
        assertFalse(h.failed("refused", 1, 10_000, () -> false));
        assertTrue(h.available());
        assertTrue(h.reason().contains("max_ejected_percent"), h.reason());
    }

    @Test
    void ejectionTimeGrowsWithRepeatsAndDecaysWhileHealthy() throws Exception {
        TargetHealth h = new TargetHealth("http://t");
        // eject_ms 400: the second failure follows the first ejection's end by far less than that
        assertTrue(h.failed("reset", 1, 400, () -> true));
        assertTrue(h.reason().contains("400 ms"), h.reason());
        awaitAvailable(h);
        assertTrue(h.failed("reset", 1, 400, () -> true), "ejected again at once");
        assertTrue(h.reason().contains("800 ms"), "the second ejection lasts twice as long: " + h.reason());
        awaitAvailable(h);
        Thread.sleep(2_000);   // five eject_ms in rotation: the multiplier decays back
        assertTrue(h.failed("reset", 1, 400, () -> true));
        assertTrue(h.reason().contains("400 ms"), h.reason());
    }

    private static void awaitAvailable(TargetHealth h) throws InterruptedException {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (!h.available() && System.nanoTime() < deadline) {
            Thread.sleep(2);
        }
        assertTrue(h.available());
    }
}
