package io.sluice.runtime.proxy;

import io.sluice.plugin.Filter;
import io.sluice.registry.config.GatewayConfig.OnError;
import io.sluice.registry.config.GatewayConfig.RouteSpec;
import io.sluice.runtime.upstream.ConnectionPool;

import java.util.concurrent.ThreadLocalRandom;

/**
 * A route made ready for traffic: its filter chain instantiated, its targets bound to connection pools.
 *
 * @param spec             the route as configured
 * @param chain            global filters, then the route's, in order
 * @param bufferRequest    some filter reads the request body
 * @param bufferResponse   some filter reads the response body
 * @param targets          weighted targets
 * @param totalWeight      sum of weights
 */
record CompiledRoute(RouteSpec spec, BoundFilter[] chain, boolean bufferRequest, boolean bufferResponse,
                     Target[] targets, int totalWeight) {

    /**
     * A filter in a chain.
     *
     * @param name    plugin name, for errors and metrics
     * @param filter  the instance
     * @param onError failure policy
     */
    record BoundFilter(String name, Filter filter, OnError onError) {
    }

    /**
     * @param pool     connections to the target
     * @param basePath path prefix of the target URL ("" for none)
     * @param weight   relative weight
     */
    record Target(ConnectionPool pool, String basePath, int weight) {
    }

    Target pickTarget() {
        if (targets.length == 1) {
            return targets[0];
        }
        int r = ThreadLocalRandom.current().nextInt(totalWeight);
        for (Target t : targets) {
            r -= t.weight();
            if (r < 0) {
                return t;
            }
        }
        return targets[targets.length - 1];
    }
}
