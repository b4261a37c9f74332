package io.sluice.runtime.upstream;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Enforces upstream timeouts for every connection of a client with one daemon thread: every {@code TICK_MS} it
 * closes the connections whose deadline has passed, which wakes the blocked reader with an exception that the
 * client reports as a timeout. Arming a deadline is one volatile write; precision is one tick.
 */
final class Deadlines {
    static final long TICK_MS = 10;

    private final Set<HttpConnection> connections = ConcurrentHashMap.newKeySet();
    private final Thread thread;
    private volatile boolean running = true;

    Deadlines() {
        thread = Thread.ofPlatform().daemon().name("sluice-upstream-deadlines").start(this::run);
    }

    void watch(HttpConnection c) {
        connections.add(c);
    }

    void forget(HttpConnection c) {
        connections.remove(c);
    }

    private void run() {
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
        }
    }

    void stop() {
        running = false;
        thread.interrupt();
    }
}
