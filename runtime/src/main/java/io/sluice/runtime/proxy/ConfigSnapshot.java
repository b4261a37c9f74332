package io.sluice.runtime.proxy;

import io.sluice.plugin.Consumers;
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
import io.sluice.runtime.js.JsFilterFactory;
import io.sluice.runtime.routing.Router;
import io.sluice.runtime.upstream.ConnectionPool;
import io.sluice.runtime.upstream.UpstreamClient;

import java.net.URI;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Everything a request needs, immutable: the config, the router over it, and each route's compiled chain. A new
 * config builds a new snapshot off the hot path; {@link Gateway} swaps one reference.
 *
 * @param version config version
 * @param config  the config it was built from
 * @param router  routes by method, host and path
 * @param pools     the connection pools its targets use
 * @param consumers the registry consumers, for auth filters
 */
public record ConfigSnapshot(long version, GatewayConfig config, Router<CompiledRoute> router,
                             Set<ConnectionPool> pools, Consumers consumers) {
    /** The name of a route's {@code upstream}, as filters choose it. */
    public static final String DEFAULT_GROUP = "default";


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
            Map<String, CompiledRoute.Group> groups = new LinkedHashMap<>();
            groups.put(DEFAULT_GROUP, group(DEFAULT_GROUP, r.upstream(), client, pools));
            r.upstreams().forEach((name, spec) -> groups.put(name, group(name, spec, client, pools)));
            for (CompiledRoute.BoundFilter f : filters) {
                for (String wanted : f.filter().upstreams()) {
                    if (!groups.containsKey(wanted)) {
                        problems.add(new Problem(f.path() + ".config", 0, "plugin '" + f.name()
                                + "' sends traffic to upstream group '" + wanted + "' but route '" + r.id()
                                + "' has none; add it under routes[" + i + "].upstreams"));
                    }
                }
            }
            CompiledRoute compiled = new CompiledRoute(r, filters,
                    chain.stream().anyMatch(f -> f.filter().needsRequestBody()),
                    chain.stream().anyMatch(f -> f.filter().needsResponseBody()),
                    groups.get(DEFAULT_GROUP), Map.copyOf(groups));
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
        return new ConfigSnapshot(version, config, router.build(), Set.copyOf(pools),
                ConsumerDirectory.of(config.consumers()));
    }

    private static CompiledRoute.Group group(String name, GatewayConfig.UpstreamSpec spec, UpstreamClient client,
                                             Set<ConnectionPool> pools) {
        List<CompiledRoute.Target> targets = new ArrayList<>();
        int total = 0;
        for (GatewayConfig.Target t : spec.targets()) {
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
        return new CompiledRoute.Group(name, targets.toArray(CompiledRoute.Target[]::new), total,
                spec.connectTimeoutMs(), spec.timeoutMs());
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
                Filter f = factory instanceof JsFilterFactory js
                        ? js.create(FilterConfig.of(e.config()), e.limits(), at)
                        : factory.create(FilterConfig.of(e.config()));
                out.add(new CompiledRoute.BoundFilter(e.name(), f, e.onError(), at));
            } catch (RuntimeException ex) {
                problems.add(new Problem(at + ".config", 0, "plugin refused its config: " + ex.getMessage()));
            }
        }
        return out;
    }
}
