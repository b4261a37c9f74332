package io.sluice.runtime.upstream;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Enforces upstream timeouts for every connection of a client with one daemon thread: every {@code TICK_MS} it
 * closes the connections whose deadline has passed, which wakes the blocked reader with an exception that the
 * client reports as a timeout. Arming a deadline is one volatile write; precision is one tick. Once a second it
 * also runs the client's housekeeping (closing expired idle connections).
 */
final class Deadlines {
    static final long TICK_MS = 10;
    private static final int TICKS_PER_SWEEP = 100;

    private final Set<HttpConnection> connections = ConcurrentHashMap.newKeySet();
    private final Runnable sweep;
    private final Thread thread;
    private volatile boolean running = true;

    Deadlines(Runnable sweep) {
        this.sweep = sweep;
        thread = Thread.ofPlatform().daemon().name("sluice-upstream-deadlines").start(this::run);
    }

    void watch(HttpConnection c) {
        connections.add(c);
    }

    void forget(HttpConnection c) {
        connections.remove(c);
    }

    private void run() {
        int ticks = 0;
        while (running) {
            try {
                Thread.sleep(TICK_MS);
            } catch (InterruptedException e) {
                return;
            }
            long now = System.nanoTime();
            for (HttpConnection c : connections) {
                long d = c.deadlineNanos;
                if (d != 0 && now - d > 0) {
                    c.timedOut = true;
                    c.close();
                }
            }
            if (++ticks % TICKS_PER_SWEEP == 0) {
                try {
                    sweep.run();
                } catch (RuntimeException e) {
                    System.getLogger(Deadlines.class.getName()).log(System.Logger.Level.WARNING, "sweep failed", e);
                }
            }
        }
    }

    void stop() {
        running = false;
        thread.interrupt();
    }
}
