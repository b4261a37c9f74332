package io.sluice.runtime.plugins;

import io.sluice.plugin.Consumer;
import io.sluice.plugin.Consumers;
import io.sluice.plugin.Exchange;
import io.sluice.plugin.Filter;
import io.sluice.plugin.Outcome;
import io.sluice.plugin.Request;
import io.sluice.plugin.Response;
import io.sluice.plugin.RouteInfo;

import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs a Java filter from an uploaded jar under a deadline. Java code cannot be sandboxed in-process, so each
 * invocation runs on its own virtual thread (the jar's class loader as context class loader) while the request
 * waits at most the deadline. When it passes, the invocation fails (the entry's {@code on_error} applies), the
 * filter's thread is interrupted, and the exchange it was given is fenced: whatever the late filter does to it
 * afterwards throws instead of racing with the request, which has moved on.
 */
final class DeadlineFilter implements Filter {
    private final Filter delegate;
    private final String name;
    private final long deadlineNanos;
    private final ClassLoader loader;

    DeadlineFilter(Filter delegate, String name, long deadlineMs, ClassLoader loader) {
        this.delegate = delegate;
        this.name = name;
        this.deadlineNanos = TimeUnit.MILLISECONDS.toNanos(deadlineMs);
        this.loader = loader;
    }

    @Override
    public Outcome onRequest(Exchange exchange) throws Exception {
        return run(true, exchange);
    }

    @Override
    public Outcome onResponse(Exchange exchange) throws Exception {
        return run(false, exchange);
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

    private Outcome run(boolean request, Exchange exchange) throws Exception {
        Fenced fenced = new Fenced(exchange);
        FutureTask<Outcome> task = new FutureTask<>(() -> request ? delegate.onRequest(fenced)
                : delegate.onResponse(fenced));
        Thread t = Thread.ofVirtual().name("filter-" + name).unstarted(task);
        t.setContextClassLoader(loader);
        t.start();
        try {
            Outcome o = task.get(deadlineNanos, TimeUnit.NANOSECONDS);
            return o == null ? Outcome.proceed() : o;
        } catch (TimeoutException e) {
            fenced.expired = true;
            task.cancel(true);   // interrupts the filter's thread
            throw new DeadlineExceeded(name, TimeUnit.NANOSECONDS.toMillis(deadlineNanos));
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof Exception ex) {
                throw ex;
            }
            throw (Error) cause;
        } catch (InterruptedException e) {
            fenced.expired = true;
            task.cancel(true);
            Thread.currentThread().interrupt();
            throw e;
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
