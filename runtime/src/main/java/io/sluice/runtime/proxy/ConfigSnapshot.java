package io.sluice.runtime.proxy;

import io.sluice.plugin.Filter;
import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.FilterFactory;
import io.sluice.registry.config.ConfigException;
import io.sluice.registry.config.GatewayConfig;
import io.sluice.registry.config.GatewayConfig.PluginEntry;
import io.sluice.registry.config.GatewayConfig.RouteSpec;
import io.sluice.registry.config.PathPattern;
import io.sluice.registry.config.Problem;
import io.sluice.runtime.FilterCatalog;
import io.sluice.runtime.routing.Router;
import io.sluice.runtime.upstream.ConnectionPool;
import io.sluice.runtime.upstream.UpstreamClient;

import java.net.URI;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Everything a request needs, immutable: the config, the router over it, and each route's compiled chain. A new
 * config builds a new snapshot off the hot path; {@link Gateway} swaps one reference.
 *
 * @param version config version
 * @param config  the config it was built from
 * @param router  routes by method, host and path
 * @param pools   the connection pools its targets use
 */
public record ConfigSnapshot(long version, GatewayConfig config, Router<CompiledRoute> router,
                             Set<ConnectionPool> pools) {

    /**
     * Builds a snapshot: instantiates every filter and binds targets to pools.
     *
     * @param version config version
     * @param config  a validated config
     * @param catalog filter factories
     * @param client  upstream client owning the pools
     * @return the snapshot
     * @throws ConfigException if a filter refuses its config
     */
    public static ConfigSnapshot build(long version, GatewayConfig config, FilterCatalog catalog,
                                       UpstreamClient client) throws ConfigException {
        List<Problem> problems = new ArrayList<>();
        List<CompiledRoute.BoundFilter> globals = bind(config.globalPlugins(), "global_plugins", catalog, problems);
        Router.Builder<CompiledRoute> router = Router.builder();
        Set<ConnectionPool> pools = new HashSet<>();
        for (int i = 0; i < config.routes().size(); i++) {
            RouteSpec r = config.routes().get(i);
            List<CompiledRoute.BoundFilter> chain = new ArrayList<>(globals);
            chain.addAll(bind(r.plugins(), "routes[" + i + "].plugins", catalog, problems));
            CompiledRoute.BoundFilter[] filters = chain.toArray(CompiledRoute.BoundFilter[]::new);
            List<CompiledRoute.Target> targets = new ArrayList<>();
            int total = 0;
            for (GatewayConfig.Target t : r.upstream().targets()) {
                if (t.weight() == 0) {
                    continue;
                }
                URI u = t.url();
                int port = u.getPort() < 0 ? 80 : u.getPort();
                String base = u.getRawPath() == null || u.getRawPath().equals("/") ? "" : u.getRawPath();
                if (base.endsWith("/")) {
                    base = base.substring(0, base.length() - 1);
                }
                ConnectionPool pool = client.pool(u.getHost(), port);
                pools.add(pool);
                targets.add(new CompiledRoute.Target(pool, base, t.weight()));
                total += t.weight();
            }
            CompiledRoute compiled = new CompiledRoute(r, filters,
                    chain.stream().anyMatch(f -> f.filter().needsRequestBody()),
                    chain.stream().anyMatch(f -> f.filter().needsResponseBody()),
                    targets.toArray(CompiledRoute.Target[]::new), total);
            for (int p = 0; p < r.paths().size(); p++) {
                PathPattern pattern = r.paths().get(p);
                try {
                    router.add(pattern, r.methods(), r.hosts(), compiled);
                } catch (IllegalArgumentException e) {
                    problems.add(new Problem("routes[" + i + "].paths[" + p + "]", 0, e.getMessage()));
                }
            }
        }
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        return new ConfigSnapshot(version, config, router.build(), Set.copyOf(pools));
    }

    private static List<CompiledRoute.BoundFilter> bind(List<PluginEntry> entries, String path,
                                                        FilterCatalog catalog, List<Problem> problems) {
        List<CompiledRoute.BoundFilter> out = new ArrayList<>();
        for (int j = 0; j < entries.size(); j++) {
            PluginEntry e = entries.get(j);
            String at = path + "[" + j + "]";
            FilterFactory factory = catalog.factory(e.name(), e.version()).orElse(null);
            if (factory == null) {
                problems.add(new Problem(at + ".name", 0, "unknown plugin '" + e.name() + "'"));
                continue;
            }
            try {
                Filter f = factory.create(FilterConfig.of(e.config()));
                out.add(new CompiledRoute.BoundFilter(e.name(), f, e.onError()));
            } catch (RuntimeException ex) {
                problems.add(new Problem(at + ".config", 0, "plugin refused its config: " + ex.getMessage()));
            }
        }
        return out;
    }
}
