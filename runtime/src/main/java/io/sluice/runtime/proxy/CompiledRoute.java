package io.sluice.runtime.proxy;

import io.sluice.plugin.Filter;
import io.sluice.plugin.UpstreamPolicy;
import io.sluice.runtime.FilterMethods;
import io.sluice.registry.config.GatewayConfig.OnError;
import io.sluice.registry.config.GatewayConfig.RouteSpec;
import io.sluice.runtime.observe.RouteMeters;
import io.sluice.runtime.upstream.Upstream;

import java.util.Map;

/**
 * A route made ready for traffic: its filter chain instantiated, its upstream groups bound to upstreams.
 *
 * @param spec           the route as configured
 * @param chain          global filters, then the route's, in order
 * @param bufferRequest  some filter reads the request body
 * @param bufferResponse some filter reads the response body
 * @param upstream       the default group (the route's {@code upstream})
 * @param groups         every group by name, {@code default} included
 * @param meters         the route's metrics
 * @param policies       the filters of the chain that govern upstream calls, in chain order
 * @param aggregate      an aggregate route's fan-out (then {@code upstream} is {@link #AGGREGATE} and there are no
 *                       groups); null for an ordinary route
 * @param clientCerts    the route's mTLS check ({@code tls.client_ca}); null when it has none
 */
record CompiledRoute(RouteSpec spec, BoundFilter[] chain, boolean bufferRequest, boolean bufferResponse,
                     Group upstream, Map<String, Group> groups, RouteMeters meters, UpstreamPolicy[] policies,
                     Aggregator aggregate, io.sluice.runtime.tls.ClientCertificates clientCerts) {

    /** The upstream "group" of an aggregate route: no targets; what {@code Exchange.upstream()} names. */
    static final Group AGGREGATE = new Group("aggregate", null, null);

    CompiledRoute(RouteSpec spec, BoundFilter[] chain, boolean bufferRequest, boolean bufferResponse,
                  Group upstream, Map<String, Group> groups, RouteMeters meters, Aggregator aggregate) {
        this(spec, chain, bufferRequest, bufferResponse, upstream, groups, meters, java.util.Arrays.stream(chain)
                .map(BoundFilter::filter).filter(f -> f instanceof UpstreamPolicy)
                .map(f -> (UpstreamPolicy) f).toArray(UpstreamPolicy[]::new), aggregate,
                spec.tls().mtls() ? new io.sluice.runtime.tls.ClientCertificates(spec.tls().clientCas()) : null);
    }

    /**
     * A filter in a chain.
     *
     * @param name    plugin name, for errors and metrics
     * @param filter  the instance
     * @param onError failure policy
     * @param path    where the entry is in the config, for errors
     * @param completes whether the filter has an {@code onComplete} of its own (others are not called for it)
     * @param responds  whether the filter has an {@code onResponse} of its own (traced only then)
     */
    record BoundFilter(String name, Filter filter, OnError onError, String path, boolean completes,
                       boolean responds) {
        BoundFilter(String name, Filter filter, OnError onError, String path) {
            this(name, filter, onError, path, FilterMethods.overrides(filter, "onComplete",
                    io.sluice.plugin.Exchange.class, io.sluice.plugin.Completion.class),
                    FilterMethods.overrides(filter, "onResponse", io.sluice.plugin.Exchange.class));
        }
    }

    /**
     * An upstream group of a route: the route's {@code upstream} ({@code default}) or one of its named
     * {@code upstreams}, bound to the data plane's {@link Upstream} (shared by every route naming the same one).
     *
     * @param name     {@code default} or the key in the route's {@code upstreams}
     * @param upstream an inline upstream; null for a shared one (and an aggregate route's placeholder)
     * @param shared   a shared upstream's id: the serving snapshot holds the object, so that editing the upstream
     *                 needs no route rebuilt; null for an inline one
     */
    record Group(String name, Upstream upstream, String shared) {
    }
}
