package io.sluice.runtime.proxy;

import io.sluice.registry.config.GatewayConfig;
import io.sluice.registry.config.GatewayConfig.UpstreamRef;
import io.sluice.registry.config.GatewayConfig.UpstreamSpec;
import io.sluice.registry.config.Problem;
import io.sluice.runtime.upstream.Upstream;
import io.sluice.runtime.upstream.UpstreamClient;
import io.sluice.runtime.upstream.Upstreams;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Binds the upstream groups of the routes one snapshot build compiles to the data plane's {@link Upstream}s:
 * a shared upstream by its id (one object for every route naming it), an inline one by route and group.
 *
 * @param client    the pools' owner (aggregate calls use it directly)
 * @param upstreams the data plane's upstreams
 * @param shared    the shared upstreams' configs in the snapshot being built, by id
 * @param made      what this build bound, by key (two routes naming a new shared upstream get one object)
 */
record UpstreamBinder(UpstreamClient client, Upstreams upstreams, Map<String, UpstreamSpec> shared,
                      Map<String, Upstream> made) {

    UpstreamBinder(UpstreamClient client, Upstreams upstreams, Map<String, UpstreamSpec> shared) {
        this(client, upstreams, shared, new HashMap<>());
    }

    /**
     * @return the group, or null with a problem added when it cannot be bound
     */
    CompiledRoute.Group bind(String route, String group, UpstreamRef ref, String at, List<Problem> problems) {
        String key;
        UpstreamSpec spec;
        if (ref instanceof GatewayConfig.Named n) {
            key = "upstream:" + n.id();
            spec = shared.get(n.id());
            if (spec == null) {
                problems.add(new Problem(at, 0, "unknown upstream '" + n.id() + "'"));
                return null;
            }
        } else {
            key = "route:" + route + ":" + group;
            spec = (UpstreamSpec) ref;
        }
        try {
            Upstream u = made.get(key);
            if (u == null) {
                u = upstreams.obtain(key, spec);
                made.put(key, u);
            }
            return new CompiledRoute.Group(group, u, key, spec);
        } catch (IllegalArgumentException e) {
            problems.add(new Problem(at + ".tls", 0, e.getMessage()));
            return null;
        }
    }
}
