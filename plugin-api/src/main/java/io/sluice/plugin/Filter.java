package io.sluice.plugin;

/**
 * One step of a route's chain. Instances are immutable and shared by all requests of a route, so they must be
 * thread-safe; per-request state belongs in {@link Exchange#vars()}.
 *
 * <p>Request side: filters run in chain order; the first that does not {@link Outcome#proceed() proceed} ends
 * the request side and its response goes to the client (after the response side of the filters before it).
 * Response side: reverse order.
 */
public interface Filter {

    /**
     * Called before the request goes upstream.
     *
     * @param exchange the request being handled
     * @return {@link Outcome#proceed()} to go on, or a response to send instead
     * @throws Exception any failure; the gateway applies the plugin entry's {@code on_error}
     */
    Outcome onRequest(Exchange exchange) throws Exception;

    /**
     * Called after the upstream (or a later filter) answered, in reverse chain order. The default does nothing.
     *
     * @param exchange the exchange, with {@link Exchange#response()} present
     * @return {@link Outcome#proceed()} to keep the response, or a replacement response
     * @throws Exception any failure; the gateway applies the plugin entry's {@code on_error}
     */
    default Outcome onResponse(Exchange exchange) throws Exception {
        return Outcome.proceed();
    }

    /**
     * Called once the exchange is over (response written, or broken off), for every filter whose
     * {@link #onRequest} ran, in reverse chain order, whatever the outcome: the place to release what
     * {@code onRequest} took (a concurrency permit) and to record what happened (an access log). It must not block
     * for long: the connection waits for it. Failures are logged and otherwise ignored. The default does nothing.
     *
     * @param exchange   the exchange (its response, if any, was already sent)
     * @param completion status, timings and sizes
     */
    default void onComplete(Exchange exchange, Completion completion) {
    }

    /**
     * Whether this filter reads or replaces the request body. Bodies are streamed unless a filter asks.
     *
     * @return true to have {@link Request#body()} buffered before {@link #onRequest} runs
     */
    default boolean needsRequestBody() {
        return false;
    }

    /**
     * Whether this filter reads or replaces the response body.
     *
     * @return true to have {@link Response#body()} buffered before {@link #onResponse} runs
     */
    default boolean needsResponseBody() {
        return false;
    }

    /**
     * The upstream groups this filter may choose with {@link Exchange#upstream(String)}. The gateway refuses a
     * config in which the route lacks one of them.
     *
     * @return group names; the default is none
     */
    default java.util.Set<String> upstreams() {
        return java.util.Set.of();
    }
}
