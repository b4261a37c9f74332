package io.sluice.plugin;

import java.util.Map;
import java.util.Optional;

/**
 * One request passing through the gateway, as a filter sees it. Not thread-safe; belongs to one request.
 */
public interface Exchange {

    /**
     * The request as it will be sent upstream; filters may change it.
     *
     * @return the request
     */
    Request request();

    /**
     * The response, present on the response side only.
     *
     * @return the response, or empty during {@link Filter#onRequest}
     */
    Optional<Response> response();

    /**
     * The authenticated consumer, once an auth filter has set one.
     *
     * @return the consumer or empty
     */
    Optional<Consumer> consumer();

    /**
     * Sets the authenticated consumer, for the filters after this one.
     *
     * @param consumer the consumer
     */
    void consumer(Consumer consumer);

    /**
     * The matched route.
     *
     * @return route id and path parameters
     */
    RouteInfo route();

    /**
     * Per-request values shared along the chain.
     *
     * @return a mutable map
     */
    Map<String, Object> vars();

    /**
     * The client's IP address as the gateway saw it on the socket (never taken from a header).
     *
     * @return the address, for example {@code 127.0.0.1}
     */
    String clientAddress();

    /**
     * The request id sent upstream as {@code X-Request-Id}.
     *
     * @return the id
     */
    String requestId();
}
