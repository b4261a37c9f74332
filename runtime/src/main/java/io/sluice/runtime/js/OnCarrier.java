package io.sluice.runtime.js;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

/**
 * What running a script on a request's virtual thread needs from the JDK, which does not offer it publicly: pinning
 * the thread to its carrier for the length of a call ({@code jdk.internal.vm.Continuation.pin}), so that nothing else
 * runs on that carrier meanwhile, and the carrier itself ({@code Thread.currentCarrierThread}), whose allocation
 * counter then counts exactly the script's bytes. {@code bin/sluice} opens both
 * ({@code --add-exports java.base/jdk.internal.vm=ALL-UNNAMED}, {@code --add-opens java.base/java.lang=ALL-UNNAMED});
 * it is off unless {@code -Dsluice.js.inline=true}: measured in bench/ab.sh, it did not lower the CPU a request costs
 * (97% of calls ran inline; CPU per request 1.04 of the workers' by the median of 4 rounds), since Truffle pays a
 * thread change on every call from a new virtual thread. Without the flags, scripts run on the workers only.
 */
final class OnCarrier {
    private static final MethodHandle PIN;
    private static final MethodHandle UNPIN;
    private static final MethodHandle CARRIER;
    /** Whether scripts may run on request threads. */
    static final boolean AVAILABLE;
    /** Slots: one per carrier of the virtual-thread scheduler. */
    static final int SLOTS = Integer.getInteger("jdk.virtualThreadScheduler.parallelism",
            Runtime.getRuntime().availableProcessors());

    static {
        MethodHandle pin = null;
        MethodHandle unpin = null;
        MethodHandle carrier = null;
        if (Boolean.parseBoolean(System.getProperty("sluice.js.inline", "false"))) {
            try {
                Class<?> continuation = Class.forName("jdk.internal.vm.Continuation");
                MethodHandles.Lookup lookup = MethodHandles.lookup();
                pin = lookup.findStatic(continuation, "pin", MethodType.methodType(void.class));
                unpin = lookup.findStatic(continuation, "unpin", MethodType.methodType(void.class));
                carrier = MethodHandles.privateLookupIn(Thread.class, lookup)
                        .findStatic(Thread.class, "currentCarrierThread", MethodType.methodType(Thread.class));
            } catch (ReflectiveOperationException | RuntimeException e) {   // not exported or opened to us
                pin = null;
                System.getLogger(OnCarrier.class.getName()).log(System.Logger.Level.INFO,
                        "JavaScript filters run on worker threads only (" + e + ")");
            }
        }
        AVAILABLE = pin != null && SLOTS > 0;
        PIN = pin;
        UNPIN = unpin;
        CARRIER = carrier;
    }

    private OnCarrier() {
    }

    /** Pins the current virtual thread to its carrier until {@link #unpin}. */
    static void pin() {
        try {
            PIN.invokeExact();
        } catch (Throwable e) {
            throw new IllegalStateException("pinning to the carrier", e);
        }
    }

    static void unpin() {
        try {
            UNPIN.invokeExact();
        } catch (Throwable e) {
            throw new IllegalStateException("unpinning from the carrier", e);
        }
    }

    /** @return the platform thread the current (pinned) virtual thread runs on */
    static Thread carrier() {
        try {
            return (Thread) CARRIER.invokeExact();
        } catch (Throwable e) {
            throw new IllegalStateException("reading the carrier", e);
        }
    }
}
