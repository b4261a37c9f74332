package io.sluice.runtime.plugins;

import io.sluice.plugin.Completion;
import io.sluice.plugin.Consumer;
import io.sluice.plugin.Consumers;
import io.sluice.plugin.Exchange;
import io.sluice.plugin.Filter;
import io.sluice.plugin.Outcome;
import io.sluice.plugin.Request;
import io.sluice.plugin.Response;
import io.sluice.plugin.RouteInfo;
import io.sluice.runtime.FilterMethods;

import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Runs a Java filter from an uploaded jar under a deadline. Java code cannot be sandboxed in-process, so each
 * invocation runs on its own virtual thread (the jar's class loader as context class loader) while the request
 * waits at most the deadline, parked without a timer: one watchdog thread wakes requests whose deadline passed. When it passes, the invocation fails (the entry's {@code on_error} applies), the
 * filter's thread is interrupted, and the exchange it was given is fenced: whatever the late filter does to it
 * afterwards throws instead of racing with the request, which has moved on.
 */
final class DeadlineFilter implements Filter {
    private final Filter delegate;
    private final String name;
    private final long deadlineNanos;
    private final ClassLoader loader;
    /** Filters that keep {@link Filter#onResponse}'s default cost no thread hand-off on the way back. */
    private final boolean hasOnResponse;
    private final boolean hasOnComplete;

    DeadlineFilter(Filter delegate, String name, long deadlineMs, ClassLoader loader) {
        this.delegate = delegate;
        this.name = name;
        this.deadlineNanos = TimeUnit.MILLISECONDS.toNanos(deadlineMs);
        this.loader = loader;
        this.hasOnResponse = FilterMethods.overrides(delegate, "onResponse", Exchange.class);
        this.hasOnComplete = FilterMethods.overrides(delegate, "onComplete", Exchange.class, Completion.class);
    }

    @Override
    public Outcome onRequest(Exchange exchange) throws Exception {
        return run(REQUEST, exchange, null);
    }

    @Override
    public Outcome onResponse(Exchange exchange) throws Exception {
        return hasOnResponse ? run(RESPONSE, exchange, null) : Outcome.proceed();
    }

    @Override
    public void onComplete(Exchange exchange, Completion completion) {
        if (!hasOnComplete) {
            return;
        }
        try {
            run(COMPLETE, exchange, completion);
        } catch (Exception e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    @Override
    public boolean needsRequestBody() {
        return delegate.needsRequestBody();
    }

    @Override
    public boolean needsResponseBody() {
        return delegate.needsResponseBody();
    }

    @Override
    public Set<String> upstreams() {
        return delegate.upstreams();
    }

    private static final int REQUEST = 0;
    private static final int RESPONSE = 1;
    private static final int COMPLETE = 2;

    private Outcome run(int phase, Exchange exchange, Completion completion) throws Exception {
        Invocation inv = new Invocation(new Fenced(exchange), phase, completion, System.nanoTime() + deadlineNanos);
        Thread t = Thread.ofVirtual().name("filter-" + name).unstarted(inv);
        t.setContextClassLoader(loader);
        inv.filterThread = t;
        t.start();
        WATCHDOG.watch(inv);
        while (inv.state == RUNNING) {
            LockSupport.park(inv);   // untimed: the watchdog wakes us at the deadline (no timer per invocation)
            if (Thread.interrupted()) {
                if (inv.expire()) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedException("request interrupted while filter '" + name + "' ran");
                }
                Thread.currentThread().interrupt();
            }
        }
        if (inv.state == EXPIRED) {
            throw new DeadlineExceeded(name, TimeUnit.NANOSECONDS.toMillis(deadlineNanos));
        }
        if (inv.error != null) {
            if (inv.error instanceof Exception e) {
                throw e;
            }
            throw (Error) inv.error;
        }
        return inv.result == null ? Outcome.proceed() : inv.result;
    }

    private static final int RUNNING = 0;
    private static final int DONE = 1;
    private static final int EXPIRED = 2;
    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(Invocation.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** One invocation: run on the filter's thread, awaited by the request's, expired by the watchdog. */
    private final class Invocation implements Runnable {
        final Fenced exchange;
        final int phase;
        final Completion completion;
        final long deadline;
        final Thread waiter = Thread.currentThread();
        volatile Thread filterThread;
        volatile int state;
        Outcome result;
        Throwable error;

        Invocation(Fenced exchange, int phase, Completion completion, long deadline) {
            this.exchange = exchange;
            this.phase = phase;
            this.completion = completion;
            this.deadline = deadline;
        }

        @Override
        public void run() {
            try {
                switch (phase) {
                    case REQUEST -> result = delegate.onRequest(exchange);
                    case RESPONSE -> result = delegate.onResponse(exchange);
                    default -> delegate.onComplete(exchange, completion);
                }
            } catch (Throwable e) {
                error = e;
            }
            if (STATE.compareAndSet(this, RUNNING, DONE)) {   // result and error are published by the CAS
                LockSupport.unpark(waiter);
            }
        }

        /** Ends the wait with a deadline failure; interrupts the filter. @return whether it was still running */
        boolean expire() {
            if (!STATE.compareAndSet(this, RUNNING, EXPIRED)) {
                return false;
            }
            exchange.expired = true;
            filterThread.interrupt();
            LockSupport.unpark(waiter);
            return true;
        }
    }

    private static final Watchdog WATCHDOG = new Watchdog();

    /**
     * Expires invocations past their deadline. Request threads hand invocations over through a lock-free queue;
     * the watchdog thread alone keeps the list it scans every {@value #TICK_MS} ms and drops finished ones.
     */
    private static final class Watchdog {
        static final long TICK_MS = 2;
        private final ConcurrentLinkedQueue<Invocation> incoming = new ConcurrentLinkedQueue<>();
        private final ArrayList<Invocation> watched = new ArrayList<>();
        private final Thread thread;
        /** Set while the watchdog parks with nothing to watch (no ticks while no jar filter runs). */
        private volatile boolean idle;

        Watchdog() {
            thread = Thread.ofPlatform().daemon().name("sluice-java-filter-watchdog").unstarted(this::loop);
            thread.start();
        }

        void watch(Invocation inv) {
            incoming.offer(inv);
            if (idle) {
                LockSupport.unpark(thread);
            }
        }

        private void loop() {
            while (!Thread.currentThread().isInterrupted()) {
                for (Invocation i; (i = incoming.poll()) != null; ) {
                    watched.add(i);
                }
                long now = System.nanoTime();
                watched.removeIf(i -> {
                    if (i.state != RUNNING) {
                        return true;
                    }
                    if (now - i.deadline >= 0) {
                        i.expire();
                        return true;
                    }
                    return false;
                });
                if (watched.isEmpty()) {
                    idle = true;
                    if (incoming.isEmpty()) {   // re-checked after publishing idle: a concurrent watch() unparks us
                        LockSupport.park(this);
                    }
                    idle = false;
                } else {
                    LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(TICK_MS));
                }
            }
        }
    }

    /** A filter passed its deadline. */
    static final class DeadlineExceeded extends RuntimeException {
        DeadlineExceeded(String name, long ms) {
            super("filter '" + name + "' passed its deadline of " + ms + " ms", null, false, false);
        }
    }

    /** The exchange as the filter sees it; unusable once the deadline passed. */
    private static final class Fenced implements Exchange {
        private final Exchange ex;
        volatile boolean expired;

        Fenced(Exchange ex) {
            this.ex = ex;
        }

        private Exchange ex() {
            if (expired) {
                throw new IllegalStateException("the filter passed its deadline; the request has moved on");
            }
            return ex;
        }

        @Override
        public Request request() {
            return ex().request();
        }

        @Override
        public Optional<Response> response() {
            return ex().response();
        }

        @Override
        public Optional<Consumer> consumer() {
            return ex().consumer();
        }

        @Override
        public void consumer(Consumer consumer) {
            ex().consumer(consumer);
        }

        @Override
        public Consumers consumers() {
            return ex().consumers();
        }

        @Override
        public String upstream() {
            return ex().upstream();
        }

        @Override
        public void upstream(String group) {
            ex().upstream(group);
        }

        @Override
        public RouteInfo route() {
            return ex().route();
        }

        @Override
        public Map<String, Object> vars() {
            return ex().vars();
        }

        @Override
        public String clientAddress() {
            return ex().clientAddress();
        }

        @Override
        public String requestId() {
            return ex().requestId();
        }
    }
}
