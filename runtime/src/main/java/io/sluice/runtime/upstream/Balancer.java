package io.sluice.runtime.upstream;

/**
 * Picks the target for one attempt among an upstream's endpoints. One instance per upstream membership (a new
 * one is made when targets are added, removed or re-weighted); {@link #pick} is called concurrently by every
 * request and must not block.
 *
 * <p>Every implementation skips endpoints that are not {@link Endpoint#available() available} and those already
 * tried by this request. When every untried endpoint is unavailable it still returns one of them (Envoy's
 * "panic" rule: with no healthy target left, trying one beats refusing all), and it returns null only when every
 * endpoint has been tried.
 */
public interface Balancer {

    /**
     * @param key   the request's hash key for {@code consistent_hash} (header, cookie, consumer or client address);
     *              null when the balancer does not hash or the request has none (then any target will do)
     * @param tried endpoints this request already tried (null or empty on the first attempt)
     * @return the endpoint, or null when all were tried
     */
    Endpoint pick(String key, Endpoint[] tried);

    /** The balancing algorithms an upstream may name. */
    enum Kind {
        /** Smooth weighted round robin (nginx's): the default. */
        ROUND_ROBIN("round_robin"),
        /** The less loaded of two random targets (weighted by in-flight requests). */
        LEAST_REQUESTS("least_requests"),
        /** A hash ring with virtual nodes: the same key goes to the same target. */
        CONSISTENT_HASH("consistent_hash"),
        /** Peak-EWMA latency times in-flight requests, power of two choices. */
        EWMA("ewma");

        private final String wire;

        Kind(String wire) {
            this.wire = wire;
        }

        /**
         * @return the config name
         */
        public String wire() {
            return wire;
        }

        /**
         * @param wire a config name
         * @return the kind
         */
        public static Kind of(String wire) {
            for (Kind k : values()) {
                if (k.wire.equals(wire)) {
                    return k;
                }
            }
            throw new IllegalArgumentException("unknown balancer " + wire);
        }
    }

    /**
     * A balancer of the given kind over these endpoints.
     *
     * @param kind      the algorithm
     * @param endpoints the upstream's endpoints (weights ≥ 1), in a stable order
     * @return the balancer
     */
    static Balancer create(Kind kind, Endpoint[] endpoints) {
        return Balancers.create(kind, endpoints);
    }
}
