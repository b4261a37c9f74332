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
     * The registry's consumers, for auth filters that resolve credentials.
     *
     * @return the directory of the config snapshot this request runs on
     */
    Consumers consumers();

    /**
     * The upstream group the request will be sent to: {@code default} (the route's {@code upstream}) unless a
     * filter chose one of the route's named {@code upstreams}.
     *
     * @return the group name
     */
    String upstream();

    /**
     * Chooses one of the route's upstream groups. The filter must declare the names it may choose in
     * {@link Filter#upstreams()} so that a route lacking one is refused when the config is written.
     *
     * @param group {@code default} or a key of the route's {@code upstreams}
     * @throws IllegalArgumentException if the route has no such group
     */
    void upstream(String group);

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
