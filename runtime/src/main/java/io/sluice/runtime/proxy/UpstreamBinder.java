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
 * @param previous  the shared upstreams the snapshot this one follows uses, by id (reused when unchanged)
 * @param made      the shared upstreams this build's routes name, by id (one object per id)
 */
record UpstreamBinder(UpstreamClient client, Upstreams upstreams, Map<String, UpstreamSpec> shared,
                      Map<String, Upstream> previous, Map<String, Upstream> made) {

    UpstreamBinder(UpstreamClient client, Upstreams upstreams, Map<String, UpstreamSpec> shared,
                   Map<String, Upstream> previous) {
        this(client, upstreams, shared, previous, new HashMap<>());
    }

    /**
     * The shared upstream named {@code id} in the snapshot being built, bound once per build.
     *
     * @return it, or null when the config has no such upstream
     */
    Upstream shared(String id) {
        Upstream u = made.get(id);
        if (u == null) {
            UpstreamSpec spec = shared.get(id);
            if (spec == null) {
                return null;
            }
            Upstream before = previous.get(id);
            u = before != null && before.spec().equals(spec) ? before : upstreams.obtain("upstream:" + id, spec);
            made.put(id, u);
        }
        return u;
    }

    /**
     * @return the group, or null with a problem added when it cannot be bound
     */
    CompiledRoute.Group bind(String route, String group, UpstreamRef ref, String at, List<Problem> problems) {
        try {
            if (ref instanceof GatewayConfig.Named n) {
                if (shared(n.id()) == null) {
                    problems.add(new Problem(at, 0, "unknown upstream '" + n.id() + "'"));
                    return null;
                }
                return new CompiledRoute.Group(group, null, n.id());   // the snapshot's, looked up per request
            }
            return new CompiledRoute.Group(group, upstreams.obtain("route:" + route + ":" + group,
                    (UpstreamSpec) ref), null);
        } catch (IllegalArgumentException e) {
            problems.add(new Problem(at + ".tls", 0, e.getMessage()));
            return null;
        }
    }
}
