package io.sluice.runtime.upstream;

import java.lang.reflect.Field;
import java.util.concurrent.ForkJoinPool;

/**
 * Lets a request's virtual thread step aside once before a socket read that would most likely find nothing yet.
 *
 * <p>A virtual thread's read that finds no bytes costs an {@code EAGAIN} read, an {@code epoll_ctl} to re-arm the
 * socket, a park, and later the poller's wake-up and a second read. After writing a request upstream (or answering
 * the client), the bytes are not there yet; but if the thread first lets the other runnable request threads run, by
 * the time it reads again they usually are. Measured on one core (issue 19, {@code runtime/bench/RESULTS.md}): 2.5
 * instead of 4 socket reads per proxied request.
 *
 * <p>The yield is skipped while any task waits in the scheduler's submission queues: threads woken from platform
 * threads (a Redis reply, a JavaScript worker finishing, the master poller waking a sub-poller) wait there, and a
 * carrier runs its local queue (where a yielded thread goes) empty before it looks at them. Yielding regardless kept
 * that local queue full under load and made those threads wait tens of milliseconds (a chain route's p99 at
 * saturation went from 4.5 to 50-65 ms). Skipping it while they wait bounds their wait to one pass over the local
 * queue.
 *
 * <p>Reading the scheduler's queues needs {@code --add-opens java.base/java.lang=ALL-UNNAMED} (set by
 * {@code bin/sluice}); without it {@link #beforeRead()} does nothing.
 */
public final class ReadAhead {
    private static final ForkJoinPool SCHEDULER = scheduler();

    private ReadAhead() {
    }

    /** @return whether the yield is possible here (the JVM let Sluice see the virtual-thread scheduler) */
    public static boolean available() {
        return SCHEDULER != null;
    }

    /**
     * Yields once if this is a virtual thread and no thread woken from outside the scheduler is waiting for it.
     *
     * @return whether it yielded
     */
    public static boolean beforeRead() {
        ForkJoinPool s = SCHEDULER;
        if (s != null && Thread.currentThread().isVirtual() && !s.hasQueuedSubmissions()) {
            Thread.yield();
            return true;
        }
        return false;
    }

    private static ForkJoinPool scheduler() {
        if (Boolean.getBoolean("sluice.readAhead.off")) {
            return null;
        }
        try {
            Field f = Class.forName("java.lang.VirtualThread").getDeclaredField("DEFAULT_SCHEDULER");
            f.setAccessible(true);
            return f.get(null) instanceof ForkJoinPool p ? p : null;
        } catch (ReflectiveOperationException | RuntimeException e) {   // not opened (InaccessibleObjectException)
            return null;
        }
    }
}
