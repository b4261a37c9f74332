package io.sluice.runtime.proxy;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Requests in flight on one config snapshot, counted so that what the snapshot holds (plugin jars) is released
 * only after its last request finished. Striped by thread, each stripe on its own cache line, so request
 * threads on different cores do not contend; a request enters and exits on the same thread, hence the same
 * stripe, so a stripe read after the snapshot was replaced never shows an exit without its entry.
 */
final class Inflight {
    private static final int STRIPES = 16;
    private static final int PAD = 16;   // 16 longs = 128 bytes between stripes
    private final AtomicLongArray counts = new AtomicLongArray(STRIPES * PAD);

    private static int slot() {
        return (int) (Thread.currentThread().threadId() & (STRIPES - 1)) * PAD;
    }

    void enter() {
        counts.incrementAndGet(slot());
    }

    void exit() {
        counts.decrementAndGet(slot());
    }

    long count() {
        long n = 0;
        for (int i = 0; i < STRIPES; i++) {
            n += counts.get(i * PAD);
        }
        return n;
    }
}
