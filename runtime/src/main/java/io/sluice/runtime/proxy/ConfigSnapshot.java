package io.sluice.runtime.proxy;

import io.sluice.plugin.Filter;
import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.FilterFactory;
import io.sluice.registry.config.ConfigException;
import io.sluice.registry.config.GatewayConfig;
import io.sluice.registry.config.GatewayConfig.ConsumerSpec;
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
import io.sluice.runtime.upstream.Upstream;
import io.sluice.runtime.upstream.UpstreamClient;
import io.sluice.runtime.upstream.Upstreams;

import java.net.URI;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.logging.Logger;

/**
 * Everything a request needs, immutable: the router, each route's compiled chain, the consumers and the edge
 * settings. A new version is built off the hot path and {@link Gateway} swaps one reference. A change set builds
 * only what it changed ({@link #next}): the changed routes' chains (every chain when the global plugins change),
 * the router over the compiled routes, and the consumer directory updated copy-on-write; everything else is shared
 * with the previous snapshot.
 *
 * @param version   config version
 * @param globals   the global plugins, bound once and shared by every chain
 * @param routes    each route by id, compiled, with what it holds
 * @param router    route slots by method, host and path: an index into {@code table}
 * @param table     the compiled routes the router's slots point at
 * @param slots     each route's slot in {@code table}, by id
 * @param pools     the connection pools its aggregate calls use (upstreams own theirs)
 * @param upstreams the shared upstreams' configs, by id
 * @param shared    the shared upstreams its routes name, by id: what their groups use
 * @param consumers the registry consumers, for auth filters
 * @param settings  the edge settings as configured
 * @param tracked   whether some part holds something to release (a plugin jar): then requests are counted
 * @param inflight  requests running on this snapshot (counted only when tracked)
 * @param edge      the edge settings, compiled (paths, trusted proxies, client limits)
 */
public record ConfigSnapshot(long version, Globals globals, Map<String, Built> routes, Router<Integer> router,
                             CompiledRoute[] table, Map<String, Integer> slots, Set<ConnectionPool> pools,
                             Map<String, GatewayConfig.UpstreamSpec> upstreams, Map<String, Upstream> shared,
                             ConsumerDirectory consumers,
                             GatewayConfig.Settings settings, boolean tracked, Inflight inflight,
                             io.sluice.runtime.edge.EdgePolicy edge) {
    private static final Logger LOG = Logger.getLogger(ConfigSnapshot.class.getName());
    /** The name of a route's {@code upstream}, as filters choose it. */
    public static final String DEFAULT_GROUP = "default";

    /**
     * The global plugins, bound.
     *
     * @param specs    as configured
     * @param bound    the filters
     * @param releases what they hold
     */
    public record Globals(List<PluginEntry> specs, List<CompiledRoute.BoundFilter> bound, List<Runnable> releases) {
        static final Globals NONE = new Globals(List.of(), List.of(), List.of());
    }

    /**
     * One compiled route and what it holds.
     *
     * @param route    the route
     * @param releases what to run once no request uses it (unloading plugin jars)
     * @param pools    the connection pools its targets use
     */
    public record Built(CompiledRoute route, List<Runnable> releases, Set<ConnectionPool> pools) {
    }

    /**
     * What changes from one snapshot to the next.
     *
     * @param globals   the new global plugins, if they changed
     * @param settings  the new settings, if they changed
     * @param routes    changed routes by id: the new spec, or empty when removed
     * @param consumers changed consumers by id (with all their keys): the new spec, or empty when removed
     * @param upstreams changed shared upstreams by id: the new spec, or empty when removed
     * @param certificates all TLS certificates, if any changed (they live beside the snapshot, in the gateway)
     */
    public record Delta(Optional<List<PluginEntry>> globals, Optional<GatewayConfig.Settings> settings,
                        Map<String, Optional<RouteSpec>> routes, Map<String, Optional<ConsumerSpec>> consumers,
                        Map<String, Optional<GatewayConfig.UpstreamSpec>> upstreams,
                        Optional<List<GatewayConfig.CertificateSpec>> certificates) {
        /** A change set without certificate changes. */
        public Delta(Optional<List<PluginEntry>> globals, Optional<GatewayConfig.Settings> settings,
                     Map<String, Optional<RouteSpec>> routes, Map<String, Optional<ConsumerSpec>> consumers,
                     Map<String, Optional<GatewayConfig.UpstreamSpec>> upstreams) {
            this(globals, settings, routes, consumers, upstreams, Optional.empty());
        }
    }

    /**
     * Every upstream this snapshot's routes use, with the config it should run with: what
     * {@link io.sluice.runtime.upstream.Upstreams#commit} makes live once the snapshot serves.
     *
     * @return the upstreams
     */
    public List<Upstream> upstreamsInUse() {
        List<Upstream> out = new ArrayList<>(shared.values());
        for (Built b : routes.values()) {
            for (CompiledRoute.Group g : b.route().groups().values()) {
                if (g.upstream() != null) {
                    out.add(g.upstream());
                }
            }
        }
        return out;
    }

    /** The shared upstreams the routes name, bound (reusing the previous snapshot's where unchanged). */
    private static Map<String, Upstream> sharedOf(Map<String, Built> routes, UpstreamBinder binder) {
        for (Built b : routes.values()) {
            for (CompiledRoute.Group g : b.route().groups().values()) {
                if (g.shared() != null) {
                    binder.shared(g.shared());
                }
            }
        }
        return Map.copyOf(binder.made());
    }

    /**
     * A snapshot and what the one it replaces held that it no longer does.
     *
     * @param next    the new snapshot
     * @param dropped releases to run once the replaced snapshot (and those before it) have no request left
     */
    public record Transition(ConfigSnapshot next, List<Runnable> dropped) {
    }

    /**
     * @return the routes as configured, by id
     */
    public List<RouteSpec> routeSpecs() {
        return routes.values().stream().map(b -> b.route().spec()).toList();
    }

    /**
     * Builds a whole snapshot: instantiates every filter and binds targets to pools.
     *
     * @param version config version
     * @param config  a validated config
     * @param catalog filter factories
     * @param client    upstream client owning the pools
     * @param upstreams the data plane's upstreams
     * @return the snapshot
     * @throws ConfigException if a filter refuses its config
     */
    public static ConfigSnapshot build(long version, GatewayConfig config, FilterCatalog catalog,
                                       UpstreamClient client, Upstreams upstreams) throws ConfigException {
        Map<String, GatewayConfig.UpstreamSpec> shared = new LinkedHashMap<>();
        config.upstreams().forEach(u -> shared.put(u.id().orElseThrow(), u));
        UpstreamBinder binder = new UpstreamBinder(client, upstreams, Map.copyOf(shared), Map.of());
        List<Problem> problems = new ArrayList<>();
        List<Runnable> acquired = new ArrayList<>();
        List<String> unresolved = new ArrayList<>();
        boolean ok = false;
        try {
            Globals globals = globals(config.globalPlugins(), catalog, problems, acquired, unresolved);
            Map<String, Built> routes = new LinkedHashMap<>();
            for (int i = 0; i < config.routes().size(); i++) {
                RouteSpec r = config.routes().get(i);
                routes.put(r.id(), compile(r, "routes[" + i + "]", globals, catalog, binder, problems, acquired,
                        unresolved));
            }
            ConfigSnapshot s = assemble(version, globals, routes, binder.shared(), sharedOf(routes, binder),
                    ConsumerDirectory.of(config.consumers()), config.settings(), problems);
            unresolved.forEach(u -> LOG.severe("config version " + version + ": " + u));
            ok = true;
            return s;
        } finally {
            if (!ok) {
                acquired.forEach(Runnable::run);   // the build failed: give back what it took
            }
        }
    }

    /**
     * Builds the next snapshot from this one and a change set: only what changed is built, the rest is shared.
     *
     * @param version the new version
     * @param delta   what changed
     * @param catalog filter factories
     * @param client    upstream client owning the pools
     * @param upstreams the data plane's upstreams
     * @return the new snapshot and what this one held that it does not
     * @throws ConfigException if a filter refuses its config (nothing changes)
     */
    public Transition next(long version, Delta delta, FilterCatalog catalog, UpstreamClient client,
                           Upstreams upstreams) throws ConfigException {
        Map<String, GatewayConfig.UpstreamSpec> shared = new LinkedHashMap<>(this.upstreams);
        delta.upstreams().forEach((id, spec) -> {
            if (spec.isPresent()) {
                shared.put(id, spec.get());
            } else {
                shared.remove(id);
            }
        });
        UpstreamBinder binder = new UpstreamBinder(client, upstreams, Map.copyOf(shared), this.shared);
        List<Problem> problems = new ArrayList<>();
        List<Runnable> acquired = new ArrayList<>();
        List<String> unresolved = new ArrayList<>();
        List<Runnable> dropped = new ArrayList<>();
        boolean ok = false;
        try {
            Globals g = globals;
            Map<String, Built> next = new LinkedHashMap<>(routes);
            Map<String, RouteSpec> rebuild = new LinkedHashMap<>();
            if (delta.globals().isPresent()) {
                g = globals(delta.globals().get(), catalog, problems, acquired, unresolved);
                dropped.addAll(globals.releases());
                routes.forEach((id, b) -> rebuild.put(id, b.route().spec()));
            }
            delta.routes().forEach((id, spec) -> {
                if (spec.isPresent()) {
                    rebuild.put(id, spec.get());
                } else {
                    rebuild.remove(id);
                    Built old = next.remove(id);
                    if (old != null) {
                        dropped.addAll(old.releases());
                    }
                }
            });
            for (Map.Entry<String, RouteSpec> e : rebuild.entrySet()) {
                Built old = next.put(e.getKey(), compile(e.getValue(), "routes[" + e.getKey() + "]", g, catalog,
                        binder, problems, acquired, unresolved));
                if (old != null) {
                    dropped.addAll(old.releases());
                }
            }
            ConsumerDirectory directory = delta.consumers().isEmpty() ? consumers : consumers.with(delta.consumers());
            ConfigSnapshot s;
            if (rebuild.isEmpty() && delta.routes().isEmpty() && delta.globals().isEmpty()) {
                // consumers or settings only: the routes, router and pools stay as they are
                s = new ConfigSnapshot(version, g, routes, router, table, slots, pools, binder.shared(),
                        sharedOf(routes, binder), directory,
                        delta.settings().orElse(settings), tracked, new Inflight(),
                        delta.settings().isPresent() ? new io.sluice.runtime.edge.EdgePolicy(delta.settings().get())
                                : edge);
            } else if (sameShape(rebuild, delta)) {
                // every route keeps its paths, methods and hosts (a plugin or upstream change): the router stays,
                // and the changed routes take their old slots in a copy of the table
                CompiledRoute[] t = table.clone();
                Set<ConnectionPool> p = new HashSet<>();
                boolean tr = !g.releases().isEmpty();
                for (Map.Entry<String, Built> e : next.entrySet()) {
                    t[slots.get(e.getKey())] = e.getValue().route();
                    p.addAll(e.getValue().pools());
                    tr |= !e.getValue().releases().isEmpty();
                }
                s = new ConfigSnapshot(version, g, java.util.Collections.unmodifiableMap(next), router, t, slots,
                        Set.copyOf(p), binder.shared(), sharedOf(next, binder), directory, delta.settings().orElse(settings), tr, new Inflight(),
                        delta.settings().isPresent() ? new io.sluice.runtime.edge.EdgePolicy(delta.settings().get())
                                : edge);
            } else {
                s = assemble(version, g, next, binder.shared(), sharedOf(next, binder), directory,
                        delta.settings().orElse(settings), problems);
            }
            unresolved.forEach(u -> LOG.severe("config version " + version + ": " + u));
            ok = true;
            return new Transition(s, List.copyOf(dropped));
        } finally {
            if (!ok) {
                acquired.forEach(Runnable::run);
            }
        }
    }

    /** Whether no route is added or removed and every rebuilt one keeps its paths, methods and hosts. */
    private boolean sameShape(Map<String, RouteSpec> rebuild, Delta delta) {
        for (Map.Entry<String, Optional<RouteSpec>> e : delta.routes().entrySet()) {
            if (e.getValue().isEmpty() || !routes.containsKey(e.getKey())) {
                return false;
            }
        }
        for (Map.Entry<String, RouteSpec> e : rebuild.entrySet()) {
            Built old = routes.get(e.getKey());
            RouteSpec a = old.route().spec();
            RouteSpec b = e.getValue();
            if (!a.paths().equals(b.paths()) || !a.methods().equals(b.methods()) || !a.hosts().equals(b.hosts())) {
                return false;
            }
        }
        return true;
    }

    /**
     * Checks that a config builds (every filter accepts its config, every route is routable) without serving it:
     * a trial build whose filters are released at once.
     *
     * @param config  a config valid by schema (the routes a change touches, and the global plugins)
     * @param catalog filter factories
     * @throws ConfigException with the problems
     */
    public static void check(GatewayConfig config, FilterCatalog catalog) throws ConfigException {
        // a secret's variable missing here is no reason to refuse the config: the nodes that serve it may have it
        List<Runnable> acquired = new ArrayList<>();
        List<Problem> problems = new ArrayList<>();
        try (UpstreamClient offline = new UpstreamClient(); Upstreams none = new Upstreams(offline, null)) {
            Map<String, GatewayConfig.UpstreamSpec> shared = new LinkedHashMap<>();
            for (int i = 0; i < config.upstreams().size(); i++) {
                GatewayConfig.UpstreamSpec u = config.upstreams().get(i);
                shared.put(u.id().orElseThrow(), u);
                try {
                    Upstream.check(u);
                } catch (IllegalArgumentException e) {
                    problems.add(new Problem("upstreams[" + i + "].tls", 0, e.getMessage()));
                }
            }
            UpstreamBinder binder = new UpstreamBinder(offline, none, Map.copyOf(shared), Map.of());
            Globals globals = globals(config.globalPlugins(), catalog, problems, acquired, new ArrayList<>());
            Router.Builder<Integer> router = Router.builder();
            for (int i = 0; i < config.routes().size(); i++) {
                Built b = compile(config.routes().get(i), "routes[" + i + "]", globals, catalog, binder, problems,
                        acquired, new ArrayList<>());
                route(router, b.route(), i, "routes[" + i + "]", problems);
            }
            if (!problems.isEmpty()) {
                throw new ConfigException(problems);
            }
        } finally {
            acquired.forEach(Runnable::run);
        }
    }

    private static ConfigSnapshot assemble(long version, Globals globals, Map<String, Built> routes,
                                           Map<String, GatewayConfig.UpstreamSpec> upstreams,
                                           Map<String, Upstream> shared, ConsumerDirectory consumers, GatewayConfig.Settings settings,
                                           List<Problem> problems) throws ConfigException {
        Router.Builder<Integer> router = Router.builder();
        CompiledRoute[] table = new CompiledRoute[routes.size()];
        Map<String, Integer> slots = new java.util.HashMap<>();
        Set<ConnectionPool> pools = new HashSet<>();
        boolean tracked = !globals.releases().isEmpty();
        int i = 0;
        for (Map.Entry<String, Built> e : routes.entrySet()) {
            table[i] = e.getValue().route();
            slots.put(e.getKey(), i);
            route(router, e.getValue().route(), i, "routes[" + e.getKey() + "]", problems);
            pools.addAll(e.getValue().pools());
            tracked |= !e.getValue().releases().isEmpty();
            i++;
        }
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        return new ConfigSnapshot(version, globals, java.util.Collections.unmodifiableMap(routes), router.build(),
                table, Map.copyOf(slots), Set.copyOf(pools), upstreams, shared, consumers, settings, tracked,
                new Inflight(),
                new io.sluice.runtime.edge.EdgePolicy(settings));
    }

    private static void route(Router.Builder<Integer> router, CompiledRoute compiled, int slot, String at,
                              List<Problem> problems) {
        RouteSpec r = compiled.spec();
        Integer boxed = slot;   // one object per route, shared by its paths: lookups never box
        for (int p = 0; p < r.paths().size(); p++) {
            try {
                router.add(r.paths().get(p), r.methods(), r.hosts(), boxed);
            } catch (IllegalArgumentException e) {
                problems.add(new Problem(at + ".paths[" + p + "]", 0, e.getMessage()));
            }
        }
    }

    private static Globals globals(List<PluginEntry> specs, FilterCatalog catalog, List<Problem> problems,
                                   List<Runnable> acquired, List<String> unresolved) {
        if (specs.isEmpty()) {
            return Globals.NONE;
        }
        List<Runnable> releases = new ArrayList<>();
        List<CompiledRoute.BoundFilter> bound = bind(specs, "global_plugins", catalog, problems, releases, unresolved);
        acquired.addAll(releases);
        return new Globals(specs, List.copyOf(bound), List.copyOf(releases));
    }

    private static Built compile(RouteSpec r, String at, Globals globals, FilterCatalog catalog,
                                 UpstreamBinder binder, List<Problem> problems, List<Runnable> acquired,
                                 List<String> unresolved) {
        List<Runnable> releases = new ArrayList<>();
        Set<ConnectionPool> pools = new HashSet<>();
        List<CompiledRoute.BoundFilter> chain = new ArrayList<>(globals.bound());
        chain.addAll(bind(r.plugins(), at + ".plugins", catalog, problems, releases, unresolved));
        acquired.addAll(releases);
        CompiledRoute.BoundFilter[] filters = chain.toArray(CompiledRoute.BoundFilter[]::new);
        Map<String, CompiledRoute.Group> groups = new LinkedHashMap<>();
        Aggregator aggregate = r.aggregate().map(a -> Aggregator.create(a, binder.client(), pools)).orElse(null);
        r.upstream().ifPresent(u -> {
            CompiledRoute.Group g = binder.bind(r.id(), DEFAULT_GROUP, u, at + ".upstream", problems);
            if (g != null) {
                groups.put(DEFAULT_GROUP, g);
            }
        });
        r.upstreams().forEach((name, ref) -> {
            CompiledRoute.Group g = binder.bind(r.id(), name, ref, at + ".upstreams." + name, problems);
            if (g != null) {
                groups.put(name, g);
            }
        });
        for (CompiledRoute.BoundFilter f : filters) {
            for (String wanted : f.filter().upstreams()) {
                if (aggregate != null) {
                    problems.add(new Problem(f.path() + ".config", 0, "plugin '" + f.name()
                            + "' sends traffic to upstream group '" + wanted + "' but route '" + r.id()
                            + "' is an aggregate route, which has no upstream groups"));
                } else if (!groups.containsKey(wanted)) {
                    problems.add(new Problem(f.path() + ".config", 0, "plugin '" + f.name()
                            + "' sends traffic to upstream group '" + wanted + "' but route '" + r.id()
                            + "' has none; add it under " + at + ".upstreams"));
                }
            }
        }
        CompiledRoute compiled = new CompiledRoute(r, filters,
                chain.stream().anyMatch(f -> f.filter().needsRequestBody()),
                chain.stream().anyMatch(f -> f.filter().needsResponseBody()),
                aggregate != null ? CompiledRoute.AGGREGATE : groups.get(DEFAULT_GROUP), Map.copyOf(groups),
                new RouteMeters(r.id(), chain.stream().map(CompiledRoute.BoundFilter::name).toArray(String[]::new)),
                aggregate);
        return new Built(compiled, List.copyOf(releases), Set.copyOf(pools));
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
