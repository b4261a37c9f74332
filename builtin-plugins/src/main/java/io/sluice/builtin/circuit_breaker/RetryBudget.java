package io.sluice.builtin.circuit_breaker;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Retries as a fraction of requests: every first attempt earns {@code ratio} of a retry, every retry spends one,
 * and the balance is capped, so retries add at most {@code ratio} of the traffic (plus {@code min} at the start
 * or after quiet). Kept in thousandths of a retry in one atomic counter (no lock).
 */
final class RetryBudget {
    private final long earn;
    private final long cap;
    private final AtomicLong balance;

    RetryBudget(double ratio, int min) {
        this.earn = Math.round(ratio * 1000);
        this.cap = Math.max(min, 10) * 1000L;
        this.balance = new AtomicLong(min * 1000L);
    }

    /** A first attempt was made. */
    void deposit() {
        if (earn == 0) {
            return;
        }
        long b;
        do {
            b = balance.get();
            if (b >= cap) {
                return;
            }
        } while (!balance.compareAndSet(b, Math.min(cap, b + earn)));
    }

    /** @return whether a retry may be made (and if so, its cost was taken) */
    boolean withdraw() {
        long b;
        do {
            b = balance.get();
            if (b < 1000) {
                return false;
            }
        } while (!balance.compareAndSet(b, b - 1000));
        return true;
    }
}
