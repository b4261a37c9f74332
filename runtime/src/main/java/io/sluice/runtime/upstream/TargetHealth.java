package io.sluice.runtime.upstream;

/**
 * One target's health on this data plane, as two independent verdicts (Envoy's model):
 * <ul>
 *   <li><b>active</b>: the upstream's health checks mark it {@code unhealthy} after {@code unhealthy} failed probes
 *   in a row, and healthy again after {@code healthy} good ones;</li>
 *   <li><b>passive</b>: real traffic ejects it after {@code consecutive_failures} failures in a row, for
 *   {@code eject_ms} times the number of times it was ejected before (capped at 10×), unless that would eject
 *   more than {@code max_ejected_percent} of the upstream's targets.</li>
 * </ul>
 * It is available when neither verdict holds. Methods are synchronized: they run per check and per failure,
 * while {@link #available()} (per request) reads one volatile field.
 */
public final class TargetHealth {
    /** What a target's health is, as {@code GET /v1/upstreams/{id}/health} shows it. */
    public enum State {
        /** In rotation. */
        HEALTHY("healthy"),
        /** Out of rotation: the active checks failed. */
        UNHEALTHY("unhealthy"),
        /** Out of rotation for a while: passive outlier detection. */
        EJECTED("ejected");

        private final String wire;

        State(String wire) {
            this.wire = wire;
        }

        /**
         * @return the name shown by the admin API
         */
        public String wire() {
            return wire;
        }
    }

    private static final int MAX_EJECTION_MULTIPLIER = 10;

    private final String url;
    private volatile boolean available = true;
    private boolean unhealthy;
    private int checkSuccesses;
    private int checkFailures;
    private int consecutiveFailures;
    private volatile long ejectedUntilNanos;
    private int ejections;
    private long ejectionEndedNanos;
    private String reason = "";
    private long changedAtMillis = System.currentTimeMillis();

    TargetHealth(String url) {
        this.url = url;
    }

    boolean available() {
        if (available) {
            return true;
        }
        if (ejectedUntilNanos != 0 && System.nanoTime() - ejectedUntilNanos >= 0) {
            return expire();
        }
        return false;
    }

    private synchronized boolean expire() {
        if (ejectedUntilNanos != 0 && System.nanoTime() - ejectedUntilNanos >= 0) {
            ejectedUntilNanos = 0;
            ejectionEndedNanos = System.nanoTime();
            consecutiveFailures = 0;
            changed(unhealthy ? reason : "ejection ended");
        }
        return available;
    }

    private void changed(String why) {
        boolean now = !unhealthy && ejectedUntilNanos == 0;
        if (now != available || !why.equals(reason)) {
            changedAtMillis = System.currentTimeMillis();
        }
        reason = why;
        available = now;
    }

    /**
     * An active probe's result.
     *
     * @param ok        whether it answered an expected status in time
     * @param detail    what happened (status, timeout, refused), for the reason shown
     * @param healthy   good probes in a row that make an unhealthy target healthy
     * @param unhealthyAfter failed probes in a row that make a healthy target unhealthy
     * @return whether the active verdict changed
     */
    synchronized boolean probed(boolean ok, String detail, int healthy, int unhealthyAfter) {
        if (ok) {
            checkFailures = 0;
            checkSuccesses++;
            if (unhealthy && checkSuccesses >= healthy) {
                unhealthy = false;
                changed("active check passed " + checkSuccesses + " times: " + detail);
                return true;
            }
        } else {
            checkSuccesses = 0;
            checkFailures++;
            if (!unhealthy && checkFailures >= unhealthyAfter) {
                unhealthy = true;
                changed("active check failed " + checkFailures + " times: " + detail);
                return true;
            }
            if (unhealthy) {
                reason = "active check failed " + checkFailures + " times: " + detail;
            }
        }
        return false;
    }

    /** A real request to the target succeeded (any answer that is not a gateway-side failure). */
    void succeeded() {
        if (consecutiveFailures != 0) {
            synchronized (this) {
                consecutiveFailures = 0;
            }
        }
    }

    /**
     * A real request to the target failed (refused, reset, timed out, or answered 5xx when the upstream counts
     * those).
     *
     * @param detail    what happened
     * @param threshold failures in a row that eject it
     * @param ejectMs   base ejection time
     * @param budget    asked before ejecting: whether one more target may be ejected
     * @return whether it was ejected now
     */
    synchronized boolean failed(String detail, int threshold, long ejectMs, java.util.function.BooleanSupplier budget) {
        consecutiveFailures++;
        if (threshold <= 0 || consecutiveFailures < threshold || ejectedUntilNanos != 0) {
            return false;
        }
        if (!budget.getAsBoolean()) {
            reason = "would be ejected (" + consecutiveFailures + " failures in a row: " + detail
                    + ") but max_ejected_percent is reached";
            return false;
        }
        // the multiplier decays by one for every eject_ms the target then stayed in rotation (as Envoy's does)
        if (ejections > 0 && ejectionEndedNanos != 0) {
            long calm = (System.nanoTime() - ejectionEndedNanos) / Math.max(1, ejectMs * 1_000_000L);
            ejections = (int) Math.max(0, ejections - calm);
        }
        ejections++;
        long ms = ejectMs * Math.min(ejections, MAX_EJECTION_MULTIPLIER);
        ejectedUntilNanos = System.nanoTime() + ms * 1_000_000L;
        if (ejectedUntilNanos == 0) {
            ejectedUntilNanos = 1;
        }
        changed("ejected for " + ms + " ms after " + consecutiveFailures + " failures in a row: " + detail);
        return true;
    }

    /**
     * @return whether passive outlier detection holds it out now
     */
    synchronized boolean ejected() {
        return ejectedUntilNanos != 0 && System.nanoTime() - ejectedUntilNanos < 0;
    }

    /**
     * @return its state now
     */
    public synchronized State state() {
        if (unhealthy) {
            return State.UNHEALTHY;
        }
        return ejected() ? State.EJECTED : State.HEALTHY;
    }

    /**
     * @return why it is in its state ("" when nothing ever happened)
     */
    public synchronized String reason() {
        return reason;
    }

    /**
     * @return when its state or reason last changed (epoch millis)
     */
    public synchronized long changedAtMillis() {
        return changedAtMillis;
    }

    /**
     * @return how many times it was ejected
     */
    public synchronized int ejections() {
        return ejections;
    }

    @Override
    public String toString() {
        return url + " " + state().wire();
    }
}
