package io.sluice.runtime.js;

import io.sluice.plugin.Exchange;
import io.sluice.plugin.Headers;
import io.sluice.plugin.testkit.TestExchange;
import org.graalvm.polyglot.Context;
import org.graalvm.polyglot.Engine;
import org.graalvm.polyglot.PolyglotException;
import org.graalvm.polyglot.Source;
import io.sluice.plugin.js.JsHost;
import io.sluice.plugin.js.JsModules;
import org.graalvm.polyglot.Value;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedTransferQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Where JavaScript filters run: one shared GraalJS {@link Engine} (sandbox policy CONSTRAINED: no host classes,
 * no IO, no threads, no processes, no environment), a few platform worker threads that each keep their own
 * contexts (one per filter binding, so no locks and no state shared between routes), and a watchdog that cancels
 * an invocation past its deadline or its allocation budget. The statement budget is GraalJS's own resource limit.
 *
 * <p>Why platform threads: the JDK counts allocated bytes per platform thread only (−1 for virtual threads), and
 * the engine has no heap limit of its own on a stock JDK. A request's virtual thread hands the invocation to a
 * worker through a lock-free queue and parks until it is done.
 *
 * <p>A filter's contexts are made off the request path: {@link #prepare} makes one per worker, on a platform thread
 * of its own under the load budgets, before the config snapshot holding the filter serves, and hands each to its
 * worker (a context may be used by one thread after another, never by two at once). A worker still makes a context
 * itself when it has none (one closed after a breach or idle), as before.
 */
public final class JsSandbox implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(JsSandbox.class.getName());
    private static final long WATCHDOG_PERIOD_NANOS = TimeUnit.MILLISECONDS.toNanos(2);
    /*
     * A memory breach takes two readings over budget in a row, one watchdog period apart. The JVM reads another
     * thread's allocated bytes without synchronising with it: its bytes so far plus its current TLAB's top minus
     * start. Caught while the thread switches TLABs, the read can pair a new top with a cleared start and add a heap
     * address: a CI run saw "allocated 3661 MiB, budget 32 MiB" for a filter that allocates a few KB (the 1 GB heap
     * sits at 3-4 GB for compressed oops; HotSpot's sanity check is the maximum TLAB size, which ParallelGC leaves
     * unbounded). A script that really runs over keeps allocating and is over on the next reading too.
     */
    /** A watchdog tick this much later than its period means the JVM or the machine stalled (see {@link #stalled}). */
    private static final long STALL_NANOS = TimeUnit.MILLISECONDS.toNanos(5);
    /**
     * Time allowed to a cold invocation instead of its {@code deadline_ms}: making a context (prelude, the module's
     * top level, first compilation), and calls that run code paths still cold (see {@link #cold}).
     */
    private static final long LOAD_DEADLINE_NANOS = TimeUnit.MILLISECONDS.toNanos(
            Long.getLong("sluice.js.cold-deadline-ms", 2000));
    /** Calls of a phase in one context that still count as cold: each runs code paths for the first time. */
    private static final int COLD_CALLS = Integer.getInteger("sluice.js.cold-calls", 20);
    /** After a start the whole JVM is cold (classes loading, interpreter not compiled): calls get the allowance. */
    private static final long WARMUP_NANOS = TimeUnit.SECONDS.toNanos(Long.getLong("sluice.js.warmup-s", 30));
    /** Whether each worker warms the engine when the sandbox starts (warm-up.mjs over made-up exchanges). */
    private static final boolean WARM_UP = Boolean.parseBoolean(System.getProperty("sluice.js.warm-up", "true"));
    private static final Source WARM_UP_MODULE = JsModules.module(resource("warm-up.mjs"), "sluice-warm-up.mjs");
    /** Yields of an idle worker before it parks. */
    private static final int SPINS = Integer.getInteger("sluice.js.spins", 64);
    /** Contexts unused this long are closed by their worker. */
    private static final long IDLE_CONTEXT_NANOS = TimeUnit.SECONDS.toNanos(60);
    /**
     * {@link #INLINE_SLOW_STREAK} calls in a row on request threads that each took longer than this bar their filter
     * from running there for {@link #INLINE_BAR_NANOS}: a slow script holds its carrier, and with it the requests
     * queued on that carrier, so it runs on the workers, where the OS shares the CPU between it and them. One slow
     * call is not enough: on a loaded core the OS or a GC pause stops a carrier in the middle of some fast call every
     * few hundred calls, and a bar on the first slow call kept a 10 µs filter on the workers nearly all the time
     * (7 of 126,186 calls ran on request threads in bench/ab.sh).
     */
    private static final long INLINE_SLOW_NANOS = TimeUnit.MICROSECONDS.toNanos(
            Long.getLong("sluice.js.inline-max-us", 2000));
    private static final int INLINE_SLOW_STREAK = Integer.getInteger("sluice.js.inline-slow-calls", 3);
    private static final long INLINE_BAR_NANOS = TimeUnit.MILLISECONDS.toNanos(
            Long.getLong("sluice.js.inline-bar-ms", 10_000));

    private final Engine engine;
    private final Source prelude;
    private final Worker[] workers;
    /** Where warm invocations run on the request's own thread (see {@link Slot}); empty when that is off. */
    private final Slot[] slots;
    /** The workers and the slots: every place an invocation runs, for the watchdog and {@link #prepare}. */
    private final Runner[] runners;
    /** Bindings a slot found without a context, being made off the request path (see {@link #prepareLater}). */
    private final java.util.Set<JsFilter.Binding> preparing = ConcurrentHashMap.newKeySet();
    private final io.micrometer.core.instrument.Counter onRequestThread =
            io.micrometer.core.instrument.Metrics.counter("sluice.js.invocations", "thread", "request");
    private final io.micrometer.core.instrument.Counter onWorker =
            io.micrometer.core.instrument.Metrics.counter("sluice.js.invocations", "thread", "worker");
    private final LinkedTransferQueue<Task> queue = new LinkedTransferQueue<>();
    private final AtomicInteger queued = new AtomicInteger();
    private final int maxQueued;
    private final Thread watchdog;
    private final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    private final Quarantine quarantine;
    private final Map<BudgetExceeded.Kind, AtomicLong> breaches = new ConcurrentHashMap<>();
    private final long started = System.nanoTime();
    private final AtomicLong coldCalls = new AtomicLong();
    /** When the watchdog last saw a worker busy with cold work (read and written by the watchdog only). */
    private long lastCold = System.nanoTime();
    /**
     * Nanoseconds the watchdog could not run (its ticks came late: a stop-the-world GC pause, or no CPU), summed since
     * the start; written by the watchdog only. Nobody worked then, workers included, so a task's wait for a worker
     * does not count that time: after a 60 ms GC pause, tasks queued just before it were given up on at once.
     */
    private volatile long stalled;
    private volatile boolean closed;

    /**
     * @param workers    platform threads running scripts (scripts are CPU work: about one per core)
     * @param quarantine breach counting
     */
    public JsSandbox(int workers, Quarantine quarantine) {
        this.quarantine = quarantine;
        this.engine = JsModules.engine();
        this.prelude = JsModules.prelude();
        this.maxQueued = 256 * workers;
        this.workers = new Worker[workers];
        for (int i = 0; i < workers; i++) {
            this.workers[i] = new Worker(i);
        }
        this.slots = new Slot[workers > 0 && OnCarrier.AVAILABLE ? OnCarrier.SLOTS : 0];
        for (int i = 0; i < slots.length; i++) {
            slots[i] = new Slot(i);
        }
        this.runners = new Runner[workers + slots.length];
        System.arraycopy(this.workers, 0, runners, 0, workers);
        System.arraycopy(slots, 0, runners, workers, slots.length);
        threads.setThreadAllocatedMemoryEnabled(true);
        this.watchdog = Thread.ofPlatform().daemon().name("sluice-js-watchdog").start(this::watch);
    }

    /** Breach counts by kind, for metrics. */
    public Map<BudgetExceeded.Kind, Long> breaches() {
        Map<BudgetExceeded.Kind, Long> out = new HashMap<>();
        breaches.forEach((k, v) -> out.put(k, v.get()));
        return out;
    }

    /** Invocations that ran under the cold allowance instead of their {@code deadline_ms}, for metrics and tests. */
    public long coldInvocations() {
        return coldCalls.get();
    }

    /**
     * Whether a call runs cold and gets {@link #LOAD_DEADLINE_NANOS} instead of the entry's {@code deadline_ms}.
     * Measured on fresh starts: a context's first call was covered, but the first run of another branch or of the
     * response phase took 80-850 ms on a loaded 2-core machine (regular expressions, JSON and host calls loading
     * and interpreting for the first time), so 50 ms deadlines failed real first requests. Cold: a new context;
     * one of a phase's first {@link #COLD_CALLS} calls in its context; any call in the first {@link #WARMUP_NANOS}
     * after the sandbox started. Statements and allocation stay bounded as always, so a runaway script is still
     * stopped; only wall-clock time is allowed more.
     */
    private boolean cold(Loaded l, boolean request, long now, boolean onCarrier) {
        if (onCarrier) {
            return l == null;   // only warm filters run there; its own deadline keeps a pinned carrier's wait short
        }
        return l == null || l.calls(request) < COLD_CALLS || now - started < WARMUP_NANOS;
    }

    /** The quarantine book. */
    public Quarantine quarantine() {
        return quarantine;
    }

    /** A new sandboxed context of the shared engine. */
    Context newContext(long statementLimit) {
        return JsModules.context(engine, statementLimit);
    }

    /**
     * Runs work that evaluates code in {@code c} on a new platform thread (allocation is counted per platform
     * thread only) and waits for it at most {@code deadline}, cancelling the context when the work runs past the
     * deadline or allocates more than {@code memoryBytes}. Closes the context when done. For one-off evaluations
     * outside the worker pool, such as inspecting an upload.
     *
     * @return empty when the work finished, else why it was cancelled
     */
    Optional<BudgetExceeded.Kind> bounded(Context c, Runnable work, Duration deadline, long memoryBytes) {
        return bounded(c, work, deadline, memoryBytes, true, "sluice-js-inspect");
    }

    /** {@link #bounded}; {@code close} false keeps the context open when the work finished in budget. */
    private Optional<BudgetExceeded.Kind> bounded(Context c, Runnable work, Duration deadline, long memoryBytes,
                                                  boolean close, String name) {
        Thread t = Thread.ofPlatform().daemon().name(name).unstarted(() -> {
            try {
                work.run();
            } catch (PolyglotException e) {
                if (!e.isCancelled()) {
                    throw e;
                }
            } finally {
                if (close) {
                    try {
                        c.close(true);
                    } catch (RuntimeException e) {
                        LOG.log(System.Logger.Level.DEBUG, "closing an inspection context: " + e);
                    }
                }
            }
        });
        long end = System.nanoTime() + deadline.toNanos();
        t.start();
        BudgetExceeded.Kind breach = null;
        boolean interrupted = false;
        int overReadings = 0;
        while (t.isAlive() && breach == null) {
            try {
                t.join(Duration.ofMillis(2));
            } catch (InterruptedException e) {
                interrupted = true;
            }
            long allocated = threads.getThreadAllocatedBytes(t.threadId());
            overReadings = allocated > memoryBytes ? overReadings + 1 : 0;
            if (t.isAlive() && System.nanoTime() - end > 0) {
                breach = BudgetExceeded.Kind.DEADLINE;
            } else if (t.isAlive() && overReadings >= 2) {   // one reading is not proof (see WATCHDOG_PERIOD_NANOS)
                breach = BudgetExceeded.Kind.MEMORY;
            }
        }
        if (breach != null) {
            try {
                c.close(true);   // cancels the running evaluation; the thread ends with a cancelled exception
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.DEBUG, "cancelling an inspection context: " + e);
            }
            try {
                t.join(Duration.ofSeconds(1));
            } catch (InterruptedException e) {
                interrupted = true;
            }
            if (t.isAlive()) {
                LOG.log(System.Logger.Level.WARNING, "a cancelled script inspection is still running on " + t);
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        return Optional.ofNullable(breach);
    }

    /**
     * Makes the filter's context for every worker that has none (prelude, the module's top level, the config), so
     * that its first requests find them made: called when a config snapshot holding the filter is built, before it
     * serves. Each is made on a platform thread of its own under the budgets a worker's load runs under (the
     * filter's statements and memory, the cold deadline), then handed to its worker. One that fails or breaches is
     * dropped: the worker makes it on first use as before, where the failure reaches a request and the quarantine.
     */
    void prepare(JsFilter filter) {
        JsFilter.Binding key = filter.binding();
        JsLimits limits = filter.limits();
        for (Runner w : runners) {
            if (closed || w.contexts.containsKey(key)) {
                continue;
            }
            Context c;
            try {
                c = newContext(limits.statements());
            } catch (RuntimeException e) {   // closing meanwhile: the snapshot is built all the same
                LOG.log(System.Logger.Level.DEBUG, "no context to prepare: " + e);
                return;
            }
            Loaded[] made = new Loaded[1];
            RuntimeException[] failed = new RuntimeException[1];
            Optional<BudgetExceeded.Kind> breach = bounded(c, () -> {
                try {
                    made[0] = Loaded.load(this, c, filter);
                } catch (RuntimeException e) {
                    failed[0] = e;
                }
            }, Duration.ofNanos(LOAD_DEADLINE_NANOS), limits.memoryBytes(), false, "sluice-js-prepare");
            if (breach.isPresent() || made[0] == null) {
                LOG.log(System.Logger.Level.DEBUG, () -> "preparing " + filter.script().key() + " for "
                        + w.name() + " failed (" + breach.map(Enum::name).orElse(String.valueOf(failed[0]))
                        + "); it loads on first use");
                try {
                    c.close(true);
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.DEBUG, "closing a context: " + e);
                }
                continue;
            }
            if (w.contexts.putIfAbsent(key, made[0]) != null) {
                made[0].close();   // the worker made one meanwhile
            }
        }
    }

    /** Evaluates the prelude in a new context: returns the {@code invoke} function. */
    Value prelude(Context c) {
        return c.eval(prelude).execute();
    }

    /**
     * Runs one phase of a filter on a worker, from the request's thread.
     *
     * @return null to proceed, or {@code [status, body, name, value, ...]}
     * @throws BudgetExceeded      the invocation was cancelled or could not run
     * @throws PolyglotException   the script threw
     */
    Object[] invoke(JsFilter filter, boolean request, Exchange exchange) {
        if (quarantine.isQuarantined(filter.script().key())) {
            throw breach(filter, BudgetExceeded.Kind.QUARANTINED, false,
                    "filter " + filter.script().key() + " is quarantined after repeated budget breaches");
        }
        if (slots.length > 0 && Thread.currentThread().isVirtual()) {
            Task inline = onCarrier(filter, request, exchange);
            if (inline != null) {
                return outcome(filter, inline);
            }
        }
        if (queued.incrementAndGet() > maxQueued) {
            queued.decrementAndGet();
            throw breach(filter, BudgetExceeded.Kind.SATURATED, false, "JavaScript sandbox saturated");
        }
        // a task waits for a worker at most one deadline (the watchdog gives up on it); once running, the watchdog
        // bounds it. The request parks untimed: a timed park of a virtual thread costs a timer per phase.
        long wait = TimeUnit.MILLISECONDS.toNanos(filter.limits().deadlineMs());
        Task t = new Task(filter, request, exchange, Thread.currentThread(), System.nanoTime() + wait, wait, stalled);
        queue.offer(t);
        boolean interrupted = false;
        int s;
        while ((s = t.state.get()) != Task.DONE && s != Task.ABANDONED) {
            LockSupport.park(t);
            if (Thread.interrupted()) {
                interrupted = true;   // the invocation is bounded anyway; keep waiting, restore the flag after
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (s == Task.ABANDONED) {
            throw breach(filter, BudgetExceeded.Kind.SATURATED, false,
                    "no JavaScript worker free within " + filter.limits().deadlineMs() + " ms");
        }
        return outcome(filter, t);
    }

    /**
     * Runs a warm filter's phase on the request's own virtual thread, pinned to its carrier for the call: no hand-off
     * to a worker (a queue, a park and a wake-up each way, which cost more than a compiled filter). The budgets hold
     * as on a worker: statements are GraalJS's; the watchdog reads the carrier's allocation counter (the JDK counts
     * per platform thread, and a pinned virtual thread is the only one its carrier runs) and its deadline, and
     * cancels the context. Falls back to the workers (returns null) while the sandbox or the filter is cold, while
     * the filter is barred after a slow call, when every slot is taken, or when the slot has no context for the
     * binding (one is then made off the request path).
     *
     * @return the finished invocation, or null when it must go to a worker
     */
    private Task onCarrier(JsFilter filter, boolean request, Exchange exchange) {
        long now = System.nanoTime();
        if (now - started < WARMUP_NANOS || !filter.warm(request, COLD_CALLS) || filter.inlineBarred(now)) {
            return null;
        }
        OnCarrier.pin();
        try {
            Thread carrier = OnCarrier.carrier();
            Slot slot = claim(carrier);
            if (slot == null) {
                return null;
            }
            try {
                if (!slot.contexts.containsKey(filter.binding())) {
                    prepareLater(filter);
                    return null;
                }
                onRequestThread.increment();
                slot.carrier = carrier;
                Task t = new Task(filter, request, exchange, Thread.currentThread(), 0, 0, 0);
                long t0 = System.nanoTime();
                slot.run(t);
                if (filter.calledOnCarrier(System.nanoTime() - t0 > INLINE_SLOW_NANOS, INLINE_SLOW_STREAK)) {
                    filter.barInline(System.nanoTime() + INLINE_BAR_NANOS);
                }
                slot.sweep();
                return t;
            } finally {
                slot.carrier = null;
                slot.claimed.set(false);
            }
        } finally {
            OnCarrier.unpin();
        }
    }

    private Slot claim(Thread carrier) {
        int n = slots.length;
        int first = (int) (carrier.threadId() % n);
        for (int i = 0; i < n; i++) {
            Slot s = slots[(first + i) % n];
            if (!s.claimed.get() && s.claimed.compareAndSet(false, true)) {
                return s;
            }
        }
        return null;   // more carriers than slots (the scheduler compensates for blocked ones): a worker runs it
    }

    /**
     * Makes a binding's missing contexts on a platform thread of its own ({@link #prepare}), once at a time per
     * binding; the filter runs on workers for a second meanwhile.
     */
    private void prepareLater(JsFilter filter) {
        filter.barInline(System.nanoTime() + TimeUnit.SECONDS.toNanos(1));
        if (!closed && preparing.add(filter.binding())) {
            Thread.ofPlatform().daemon().name("sluice-js-prepare").start(() -> {
                try {
                    prepare(filter);
                } finally {
                    preparing.remove(filter.binding());
                }
            });
        }
    }

    private Object[] outcome(JsFilter filter, Task t) {
        if (t.breach != null) {
            throw breach(filter, t.breach, true, t.breachMessage);
        }
        if (t.error != null) {
            throw t.error;
        }
        return t.result;
    }

    private BudgetExceeded breach(JsFilter filter, BudgetExceeded.Kind kind, boolean counts, String message) {
        breaches.computeIfAbsent(kind, k -> new AtomicLong()).incrementAndGet();
        io.micrometer.core.instrument.Metrics.counter("sluice.js.budget.breaches",
                "filter", filter.script().key(), "kind", kind.name().toLowerCase(java.util.Locale.ROOT)).increment();
        if (counts && quarantine.breach(filter.script().key())) {
            LOG.log(System.Logger.Level.WARNING, "JavaScript filter " + filter.script().key()
                    + " quarantined after repeated budget breaches; re-enable it through the admin API");
        }
        return new BudgetExceeded(kind, message);
    }

    private void watch() {
        long lastTick = System.nanoTime();
        while (!closed) {
            long now = System.nanoTime();
            long late = now - lastTick - WATCHDOG_PERIOD_NANOS;
            if (late > STALL_NANOS) {
                stalled += late;
            }
            lastTick = now;
            for (Runner w : runners) {
                if (w.busyCold) {
                    lastCold = now;
                }
                long seq = w.running.get();
                if (seq <= 0) {
                    continue;
                }
                String reason = null;
                BudgetExceeded.Kind kind = null;
                if (now - w.deadline - (stalled - w.stalledAtStart) > 0) {
                    kind = BudgetExceeded.Kind.DEADLINE;
                    reason = "ran past its " + w.limits.deadlineMs() + " ms deadline";
                } else {
                    long allocated = w.allocated() - w.allocatedAtStart;
                    if (allocated <= w.limits.memoryBytes()) {
                        w.overBudgetSeq = 0;
                    } else if (w.overBudgetSeq != seq) {
                        w.overBudgetSeq = seq;   // one reading is not proof (see WATCHDOG_PERIOD_NANOS)
                    } else {
                        kind = BudgetExceeded.Kind.MEMORY;
                        reason = "allocated " + allocated / (1024 * 1024) + " MiB, budget "
                                + w.limits.memoryBytes() / (1024 * 1024) + " MiB";
                    }
                }
                if (kind != null) {
                    w.cancelKind = kind;
                    w.cancelReason = reason;
                    Context c = w.context;
                    if (w.running.compareAndSet(seq, -seq) && c != null) {
                        try {
                            c.close(true);
                        } catch (RuntimeException e) {
                            LOG.log(System.Logger.Level.DEBUG, "closing a cancelled context: " + e);
                        }
                    }
                }
            }
            if (queued.get() > 0) {
                abandonLate(now);
            }
            LockSupport.parkNanos(WATCHDOG_PERIOD_NANOS);
        }
    }

    /**
     * Gives up on tasks that waited for a worker longer than their deadline because every worker was busy: their
     * requests get on_error. A wait behind cold work (a worker warming up or making a context) is not the waiting
     * task's fault: it gets its deadline again from the moment the last cold work was seen. Time in which nothing ran
     * ({@link #stalled}) does not count, and while a worker is idle nothing is given up on: it was not scheduled yet
     * and takes the task as soon as it runs (after a GC pause the watchdog may wake before the workers).
     */
    private void abandonLate(long now) {
        for (Worker w : workers) {
            if (w.idle) {
                return;
            }
        }
        long stalledNow = stalled;
        for (Task t : queue) {
            if (now - t.giveUp - (stalledNow - t.stalledAtQueue) > 0 && now - (lastCold + t.wait) > 0
                    && t.state.compareAndSet(Task.QUEUED, Task.ABANDONED)) {
                queue.remove(t);
                queued.decrementAndGet();
                LockSupport.unpark(t.waiter);
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (Worker w : workers) {
            w.thread.interrupt();
        }
        engine.close(true);
    }

    /** One invocation handed from a request thread to a worker. */
    private static final class Task {
        static final int QUEUED = 0;
        static final int RUNNING = 1;
        static final int DONE = 2;
        static final int ABANDONED = 3;
        final AtomicInteger state = new AtomicInteger(QUEUED);
        final JsFilter filter;
        final boolean request;
        final Exchange exchange;
        final Thread waiter;
        final long giveUp;
        final long wait;
        final long stalledAtQueue;
        Object[] result;
        RuntimeException error;
        BudgetExceeded.Kind breach;
        String breachMessage;

        Task(JsFilter filter, boolean request, Exchange exchange, Thread waiter, long giveUp, long wait,
             long stalledAtQueue) {
            this.filter = filter;
            this.stalledAtQueue = stalledAtQueue;
            this.giveUp = giveUp;
            this.wait = wait;
            this.request = request;
            this.exchange = exchange;
            this.waiter = waiter;
        }

        void done() {
            state.set(DONE);
            LockSupport.unpark(waiter);
        }
    }

    /**
     * Where invocations run, each with its own contexts (one per binding, used by one thread at a time): a worker
     * thread, or a slot on a request's thread. The watchdog reads its volatile fields.
     */
    private abstract class Runner {
        /** positive: sequence number of the running invocation; negative: cancelled by the watchdog; 0: idle */
        final AtomicLong running = new AtomicLong();
        volatile long deadline;
        /** the invocation whose last allocation reading was over its budget, else 0 (the watchdog's own) */
        long overBudgetSeq;
        /** {@link #stalled} when the running invocation started: its deadline does not count later stalls */
        volatile long stalledAtStart;
        volatile long allocatedAtStart;
        volatile JsLimits limits = JsLimits.DEFAULTS;
        volatile Context context;
        volatile BudgetExceeded.Kind cancelKind;
        volatile String cancelReason;
        /** warming up, or running a cold invocation: tasks waiting behind it are not given up on */
        volatile boolean busyCold;
        /** looking for a task (it takes one as soon as it runs): tasks waiting meanwhile are not given up on */
        volatile boolean idle;
        /**
         * Its contexts by binding. Only this worker uses, replaces or removes them; {@link #prepare} adds ones made
         * elsewhere (absent keys only), which the map hands over safely.
         */
        final Map<JsFilter.Binding, Loaded> contexts = new ConcurrentHashMap<>();
        private long seq;
        private long lastSweep = System.nanoTime();

        /** @return for logs */
        abstract String name();

        /** @return the bytes allocated so far by the platform thread the running invocation runs on */
        abstract long allocated();

        void run(Task t) {
            JsFilter.Binding key = t.filter.binding();
            Loaded l = contexts.get(key);
            long mine = ++seq;
            limits = t.filter.limits();
            Context c = l != null ? l.context() : newContext(limits.statements());
            context = c;
            allocatedAtStart = allocated();
            // cold code (a new context: prelude, module top level, first call; a phase's first calls; the first
            // seconds after a start) gets the cold allowance; warm calls their own deadline
            long now = System.nanoTime();
            boolean cold = cold(l, t.request, now, this instanceof Slot);
            if (cold) {
                coldCalls.incrementAndGet();
            }
            deadline = now + (cold ? LOAD_DEADLINE_NANOS : TimeUnit.MILLISECONDS.toNanos(limits.deadlineMs()));
            busyCold = cold;
            stalledAtStart = stalled;
            running.set(mine);   // publishes the fields above to the watchdog, which now bounds load and call
            boolean discard = false;
            try {
                if (l == null) {
                    l = Loaded.load(JsSandbox.this, c, t.filter);   // the module's top level runs under the budgets too
                    Loaded prepared = contexts.put(key, l);
                    if (prepared != null) {
                        prepared.close();   // made by prepare meanwhile, never used
                    }
                    // the first call in a fresh context also runs cold (the facade's first use), so it stays
                    // under the load deadline; statements and allocation are bounded as always
                    allocatedAtStart = allocated();
                }
                l.lastUsed = System.nanoTime();
                Value fn = t.request ? l.onRequest() : l.onResponse();
                if (fn != null) {
                    c.resetLimits();
                    Value r = l.invoke().execute(fn, new JsHost(t.exchange, t.filter.script().key()), l.conf());
                    t.result = JsModules.toArray(r);
                }
                l.called(t.request);
                t.filter.called(t.request);
            } catch (PolyglotException e) {
                discard = true;   // a context that threw may hold half-done state; start the next one clean
                if (e.isResourceExhausted()) {
                    t.breach = BudgetExceeded.Kind.STATEMENTS;
                    t.breachMessage = "ran more than " + limits.statements() + " statements";
                } else if (!e.isCancelled()) {
                    t.error = e;
                }
            } catch (RuntimeException e) {
                t.error = e;
                discard = true;
            } finally {
                if (!running.compareAndSet(mine, 0)) {
                    running.set(0);
                    t.breach = cancelKind;
                    t.breachMessage = cancelReason;
                    t.result = null;
                    t.error = null;
                    discard = true;
                }
                context = null;
                busyCold = false;
            }
            if (discard) {
                contexts.remove(key);
                try {
                    c.close(true);
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.DEBUG, "closing a context: " + e);
                }
            }
        }

        void sweep() {
            long now = System.nanoTime();
            if (now - lastSweep < TimeUnit.SECONDS.toNanos(5)) {
                return;
            }
            lastSweep = now;
            for (Iterator<Loaded> it = contexts.values().iterator(); it.hasNext(); ) {
                Loaded l = it.next();
                if (now - l.lastUsed > IDLE_CONTEXT_NANOS) {
                    it.remove();
                    l.close();
                }
            }
        }
    }

    /** A platform thread taking tasks from the queue. */
    private final class Worker extends Runner {
        final Thread thread;

        Worker(int i) {
            thread = Thread.ofPlatform().daemon().name("sluice-js-" + i).unstarted(this::loop);
            thread.start();
        }

        @Override
        String name() {
            return thread.getName();
        }

        @Override
        long allocated() {
            return threads.getThreadAllocatedBytes(thread.threadId());
        }

        private void loop() {
            warmUp();
            while (!closed) {
                idle = true;
                Task t = queue.poll();
                // Before parking, yield the CPU a few times: under load the next task arrives while this thread is
                // runnable, so the request side offers it without a wake-up (a futex call and a context switch
                // each way, which cost more than a compiled filter). An idle worker parks after ~SPINS yields.
                for (int i = 0; t == null && i < SPINS; i++) {
                    Thread.yield();
                    t = queue.poll();
                }
                if (t == null) {
                    try {
                        t = queue.take();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                idle = false;
                if (!t.state.compareAndSet(Task.QUEUED, Task.RUNNING)) {
                    continue;   // its request gave up waiting
                }
                queued.decrementAndGet();
                onWorker.increment();
                run(t);
                t.done();
                sweep();
            }
        }

        /**
         * Runs warm-up.mjs a few times over made-up exchanges in a throwaway context, before taking tasks: classes
         * load and code paths that filters share (the ctx facade, regular expressions, JSON) run once, so the
         * first requests after a start find them warm. Tasks queued meanwhile wait for it (see abandonLate).
         */
        private void warmUp() {
            if (!WARM_UP) {
                return;
            }
            busyCold = true;
            long t0 = System.nanoTime();
            Context c = newContext(10_000_000);
            try {
                Value invoke = prelude(c);
                Value exports = c.eval(WARM_UP_MODULE).getMember("default");
                Value conf = c.getBindings("js").getMember("JSON").getMember("parse")
                        .execute("{\"tags\": [\" a1\", \"b2 \", \"c\"]}");
                String[] paths = {"/orders/42.json?a=1&b=2", "/Orders/7", "/x/deny", "/"};
                for (int round = 0; round < 3 && !closed; round++) {
                    for (String path : paths) {
                        TestExchange ex = TestExchange.request(round == 2 ? "POST" : "GET", path)
                                .header("X-Cold", "1").route("warm-up", Map.of("id", "7"));
                        JsModules.toArray(invoke.execute(exports.getMember("onRequest"),
                                new JsHost(ex, "sluice-warm-up"), conf));
                        ex.respond(round == 1 ? 502 : 200, new Headers(), "{}");
                        JsModules.toArray(invoke.execute(exports.getMember("onResponse"),
                                new JsHost(ex, "sluice-warm-up"), conf));
                    }
                }
                LOG.log(System.Logger.Level.DEBUG, () -> thread.getName() + " warmed up in "
                        + (System.nanoTime() - t0) / 1_000_000 + " ms");
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "JavaScript warm-up failed (filters still run, colder): " + e);
            } finally {
                try {
                    c.close(true);
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.DEBUG, "closing the warm-up context: " + e);
                }
                busyCold = false;
            }
        }
    }

    /**
     * A place on a request's own thread where a warm invocation runs (see {@link #onCarrier}): claimed by one
     * request at a time, it holds its own contexts like a worker. There are as many as the virtual-thread scheduler
     * has carriers, since each running call pins one.
     */
    private final class Slot extends Runner {
        final java.util.concurrent.atomic.AtomicBoolean claimed = new java.util.concurrent.atomic.AtomicBoolean();
        /** the carrier the claiming request is pinned to, while it holds the slot */
        volatile Thread carrier;
        private final int index;

        Slot(int index) {
            this.index = index;
        }

        @Override
        String name() {
            return "request-thread slot " + index;
        }

        @Override
        long allocated() {
            Thread c = carrier;
            return c == null ? 0 : threads.getThreadAllocatedBytes(c.threadId());
        }
    }

    /** A filter binding evaluated in a context of one worker. */
    static final class Loaded {
        private final Context context;
        private final Value invoke;
        private final Value onRequest;
        private final Value onResponse;
        private final Value conf;
        private int requestCalls;
        private int responseCalls;
        long lastUsed = System.nanoTime();

        private Loaded(Context context, Value invoke, Value onRequest, Value onResponse, Value conf) {
            this.context = context;
            this.invoke = invoke;
            this.onRequest = onRequest;
            this.onResponse = onResponse;
            this.conf = conf;
        }

        static Loaded load(JsSandbox sandbox, Context c, JsFilter filter) {
            Value invoke = sandbox.prelude(c);
            Value exports = c.eval(filter.script().source()).getMember("default");
            Value conf = c.getBindings("js").getMember("JSON").getMember("parse").execute(filter.confJson());
            Value fnReq = exports.getMember("onRequest");
            Value fnRes = exports.getMember("onResponse");
            return new Loaded(c, invoke, fnReq != null && fnReq.canExecute() ? fnReq : null,
                    fnRes != null && fnRes.canExecute() ? fnRes : null, conf);
        }

        Context context() {
            return context;
        }

        /** Calls of a phase completed in this context (counted up to the cold limit). */
        int calls(boolean request) {
            return request ? requestCalls : responseCalls;
        }

        void called(boolean request) {
            if (request && requestCalls < Integer.MAX_VALUE) {
                requestCalls++;
            } else if (!request && responseCalls < Integer.MAX_VALUE) {
                responseCalls++;
            }
        }

        Value invoke() {
            return invoke;
        }

        Value onRequest() {
            return onRequest;
        }

        Value onResponse() {
            return onResponse;
        }

        Value conf() {
            return conf;
        }

        void close() {
            try {
                context.close(true);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.DEBUG, "closing a context: " + e);
            }
        }
    }

    private static String resource(String name) {
        try (InputStream in = JsSandbox.class.getResourceAsStream(name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
