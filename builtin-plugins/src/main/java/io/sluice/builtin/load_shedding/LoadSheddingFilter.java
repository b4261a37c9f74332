package io.sluice.builtin.load_shedding;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Metrics;
import io.sluice.plugin.Completion;
import io.sluice.plugin.Exchange;
import io.sluice.plugin.Filter;
import io.sluice.plugin.Outcome;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Takes a place in its pool on the way in and gives it back in {@link #onComplete} (called whatever happens to
 * the request), or sheds the request when its pool is at this entry's threshold. One atomic add per request.
 */
final class LoadSheddingFilter implements Filter {
    private final AtomicInteger inflight;
    private final int threshold;
    private final String retryAfter;
    private final Counter shed;
    private static final java.util.concurrent.atomic.AtomicLong IDS = new java.util.concurrent.atomic.AtomicLong();
    /**
     * Marks, in the exchange's vars, that this entry holds a place (so it is given back exactly once). Unique per
     * instance: two entries of one chain sharing a mark would give back one place twice and leak the other.
     */
    private final String held = "load-shedding.held." + IDS.incrementAndGet();

    LoadSheddingFilter(AtomicInteger inflight, int threshold, String priority, int retryAfterSeconds) {
        this.inflight = inflight;
        this.threshold = threshold;
        this.retryAfter = Integer.toString(retryAfterSeconds);
        this.shed = Metrics.counter("sluice.shed", "priority", priority);
    }

    @Override
    public Outcome onRequest(Exchange exchange) {
        if (inflight.incrementAndGet() > threshold) {
            inflight.decrementAndGet();
            shed.increment();
            Outcome.Respond r = Outcome.error(503, "overloaded", "the gateway is shedding load; retry later");
            r.headers().set("Retry-After", retryAfter);
            return r;
        }
        exchange.vars().put(held, Boolean.TRUE);
        return Outcome.proceed();
    }

    @Override
    public void onComplete(Exchange exchange, Completion completion) {
        if (exchange.vars().remove(held) != null) {
            inflight.decrementAndGet();
        }
    }

    /** In flight through this entry's pool now (for tests). */
    int inflight() {
        return inflight.get();
    }
}
