package io.sluice.runtime.upstream;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReadAheadTest {
    @Test
    void theSchedulerIsVisibleWithTheFlagsTheGatewayRunsWith() {
        // the tests run with bin/sluice's --add-opens java.base/java.lang (pom.xml): without it the yield is off
        assertTrue(ReadAhead.available(), "ReadAhead cannot see the virtual-thread scheduler");
    }

    @Test
    void aThreadWokenFromOutsideRunsWhileRequestThreadsKeepYielding() throws Exception {
        // 200 virtual threads that work and yield before each read (and, having yielded, find their bytes and go on)
        // keep every carrier's local queue full; a virtual thread unparked by a platform thread (a Redis reply, a
        // JavaScript worker) is queued apart and must still run soon: while it waits, nobody yields. (With a plain
        // Thread.yield() in place of beforeRead() it waited until the busy threads stopped.)
        var stop = new java.util.concurrent.atomic.AtomicBoolean();
        Thread[] busy = new Thread[200];
        for (int i = 0; i < busy.length; i++) {
            busy[i] = Thread.ofVirtual().start(() -> {
                while (!stop.get()) {
                    long until = System.nanoTime() + 20_000;
                    while (System.nanoTime() < until) {
                        Thread.onSpinWait();
                    }
                    if (!ReadAhead.beforeRead()) {
                        // no yield: the read finds nothing yet and parks until the poller (another thread) wakes it
                        java.util.concurrent.locks.LockSupport.parkNanos(200_000);
                    }
                }
            });
        }
        try {
            for (int round = 0; round < 5; round++) {
                CompletableFuture<Long> ran = new CompletableFuture<>();
                Thread waiter = Thread.ofVirtual().start(() -> {
                    java.util.concurrent.locks.LockSupport.park();
                    ran.complete(System.nanoTime());
                });
                Thread.sleep(50);
                long woken = System.nanoTime();
                java.util.concurrent.locks.LockSupport.unpark(waiter);   // from this platform thread: external
                long waited = TimeUnit.NANOSECONDS.toMillis(ran.get(10, TimeUnit.SECONDS) - woken);
                assertTrue(waited < 1_000, "the woken thread waited " + waited + " ms behind yielding threads");
            }
        } finally {
            stop.set(true);
            for (Thread t : busy) {
                t.join();
            }
        }
        assertEquals(200, busy.length);
    }
}
