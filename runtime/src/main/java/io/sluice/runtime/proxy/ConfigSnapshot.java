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
import io.sluice.registry.config.SecretFields;
import io.sluice.runtime.FilterCatalog;
import io.sluice.runtime.LimitedFactory;
import io.sluice.runtime.MissingSecretFilter;
import io.sluice.runtime.routing.Router;
import io.sluice.runtime.observe.RouteMeters;
import io.sluice.runtime.upstream.ConnectionPool;
import io.sluice.runtime.upstream.UpstreamClient;

import java.net.URI;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.logging.Logger;

/**
 * Everything a request needs, immutable: the config, the router over it, and each route's compiled chain. A new
 * config builds a new snapshot off the hot path; {@link Gateway} swaps one reference.
 *
 * @param version config version
 * @param config  the config it was built from
 * @param router  routes by method, host and path
 * @param pools     the connection pools its targets use
 * @param consumers the registry consumers, for auth filters
 * @param releases  what to run once no request runs on this snapshot any more (unloading unused plugin jars)
 * @param inflight  requests running on this snapshot
 * @param edge      the edge settings, compiled (paths, trusted proxies, client limits)
 */
public record ConfigSnapshot(long version, GatewayConfig config, Router<CompiledRoute> router,
                             Set<ConnectionPool> pools, Consumers consumers, List<Runnable> releases,
                             Inflight inflight, io.sluice.runtime.edge.EdgePolicy edge) {
    private static final Logger LOG = Logger.getLogger(ConfigSnapshot.class.getName());
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
        List<Runnable> releases = new ArrayList<>();
        List<String> unresolved = new ArrayList<>();
        try {
            ConfigSnapshot s = build(version, config, catalog, client, problems, releases, unresolved);
            unresolved.forEach(u -> LOG.severe("config version " + version + ": " + u));
            releases = List.of();
            return s;
        } finally {
            releases.forEach(Runnable::run);   // the build failed: give back what it took
        }
    }

    /**
     * Checks that a config builds (every filter accepts its config, every route is routable) without serving it:
     * a trial build whose filters are released at once.
     *
     * @param config  a config valid by schema
     * @param catalog filter factories
     * @throws ConfigException with the problems
     */
    public static void check(GatewayConfig config, FilterCatalog catalog) throws ConfigException {
        // a secret's variable missing here is no reason to refuse the config: the nodes that serve it may have it
        List<Runnable> releases = new ArrayList<>();
        try (UpstreamClient offline = new UpstreamClient()) {
            build(0, config, catalog, offline, new ArrayList<>(), releases, new ArrayList<>());
        } finally {
            releases.forEach(Runnable::run);
        }
    }

    private static ConfigSnapshot build(long version, GatewayConfig config, FilterCatalog catalog,
                                        UpstreamClient client, List<Problem> problems, List<Runnable> releases,
                                        List<String> unresolved)
            throws ConfigException {
        List<CompiledRoute.BoundFilter> globals = bind(config.globalPlugins(), "global_plugins", catalog,
                problems, releases, unresolved);
        Router.Builder<CompiledRoute> router = Router.builder();
        Set<ConnectionPool> pools = new HashSet<>();
        for (int i = 0; i < config.routes().size(); i++) {
            RouteSpec r = config.routes().get(i);
            List<CompiledRoute.BoundFilter> chain = new ArrayList<>(globals);
            chain.addAll(bind(r.plugins(), "routes[" + i + "].plugins", catalog, problems, releases, unresolved));
            CompiledRoute.BoundFilter[] filters = chain.toArray(CompiledRoute.BoundFilter[]::new);
            Map<String, CompiledRoute.Group> groups = new LinkedHashMap<>();
            Aggregator aggregate = r.aggregate().map(a -> Aggregator.create(a, client, pools)).orElse(null);
            r.upstream().ifPresent(u -> groups.put(DEFAULT_GROUP, group(DEFAULT_GROUP, u, client, pools)));
            r.upstreams().forEach((name, spec) -> groups.put(name, group(name, spec, client, pools)));
            for (CompiledRoute.BoundFilter f : filters) {
                for (String wanted : f.filter().upstreams()) {
                    if (aggregate != null) {
                        problems.add(new Problem(f.path() + ".config", 0, "plugin '" + f.name()
                                + "' sends traffic to upstream group '" + wanted + "' but route '" + r.id()
                                + "' is an aggregate route, which has no upstream groups"));
                    } else if (!groups.containsKey(wanted)) {
                        problems.add(new Problem(f.path() + ".config", 0, "plugin '" + f.name()
                                + "' sends traffic to upstream group '" + wanted + "' but route '" + r.id()
                                + "' has none; add it under routes[" + i + "].upstreams"));
                    }
                }
            }
            CompiledRoute compiled = new CompiledRoute(r, filters,
                    chain.stream().anyMatch(f -> f.filter().needsRequestBody()),
                    chain.stream().anyMatch(f -> f.filter().needsResponseBody()),
                    aggregate != null ? CompiledRoute.AGGREGATE : groups.get(DEFAULT_GROUP), Map.copyOf(groups),
                    new RouteMeters(r.id(), chain.stream().map(CompiledRoute.BoundFilter::name).toArray(String[]::new)),
                    aggregate);
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
                ConsumerDirectory.of(config.consumers()), List.copyOf(releases), new Inflight(),
                new io.sluice.runtime.edge.EdgePolicy(config.settings()));
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
            targets.add(new CompiledRoute.Target(pool, base, t.weight(), u.toString()));
            total += t.weight();
        }
        return new CompiledRoute.Group(name, targets.toArray(CompiledRoute.Target[]::new), total,
                spec.connectTimeoutMs(), spec.timeoutMs());
    }

    private static List<CompiledRoute.BoundFilter> bind(List<PluginEntry> entries, String path,
                                                        FilterCatalog catalog, List<Problem> problems,
                                                        List<Runnable> releases, List<String> unresolved) {
        List<CompiledRoute.BoundFilter> out = new ArrayList<>();
        for (int j = 0; j < entries.size(); j++) {
            PluginEntry e = entries.get(j);
            String at = path + "[" + j + "]";
            FilterCatalog.Acquired acquired = catalog.acquire(e.name(), e.version()).orElse(null);
            if (acquired == null) {
                problems.add(new Problem(at + ".name", 0, "unknown plugin '" + e.name() + "'"));
                continue;
            }
            releases.add(acquired.release());
            FilterFactory factory = acquired.factory();
            Map<String, Object> config;
            try {
                config = catalog.resolveSecrets(e.name(), e.version(), e.config());
            } catch (SecretFields.MissingVariables missing) {
                // not the whole snapshot: one node's missing variable must not freeze every other change
                unresolved.add(at + " (" + e.name() + ") answers 500 filter_error: " + missing.getMessage());
                out.add(new CompiledRoute.BoundFilter(e.name(), MissingSecretFilter.create(e.name()),
                        GatewayConfig.OnError.FAIL_CLOSED, at));
                continue;
            }
            try {
                Filter f = factory instanceof LimitedFactory limited
                        ? limited.create(FilterConfig.of(config), e.limits(), at)
                        : factory.create(FilterConfig.of(config));
                out.add(new CompiledRoute.BoundFilter(e.name(), f, e.onError(), at));
            } catch (RuntimeException | LinkageError ex) {
                problems.add(new Problem(at + ".config", 0, "plugin refused its config: " + ex.getMessage()));
            }
        }
        return out;
    }
}
