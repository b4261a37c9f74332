package io.sluice.runtime;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.registry.admin.AdminApi;
import io.sluice.registry.admin.AdminAuth;
import io.sluice.registry.admin.ApiError;
import io.sluice.registry.admin.AuditLog;
import io.sluice.registry.admin.Registry;
import io.sluice.registry.admin.Role;
import io.sluice.registry.config.ConfigException;
import io.sluice.registry.config.ConfigParser;
import io.sluice.registry.config.GatewayConfig;
import io.sluice.registry.distribution.ConfigFollower;
import io.sluice.registry.distribution.ConfigPublisher;
import io.sluice.registry.distribution.SnapshotFile;
import io.sluice.registry.store.StoredConfig;
import io.sluice.registry.store.VersionChanges;
import io.sluice.registry.store.Store;
import io.sluice.registry.store.StoreUnavailableException;
import io.sluice.runtime.SluiceServer.Listeners;
import io.sluice.runtime.js.JsSandbox;
import io.sluice.runtime.js.Quarantine;
import io.sluice.runtime.observe.Dependencies;
import io.sluice.runtime.observe.AccessLog;
import io.sluice.runtime.observe.Tracing;
import io.sluice.runtime.plugins.UploadedFilters;
import io.sluice.runtime.proxy.ConfigSnapshot;
import io.sluice.runtime.proxy.Gateway;
import io.sluice.runtime.upstream.UpstreamClient;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One running Sluice process in one of its three roles:
 * <ul>
 *   <li>{@code standalone}: proxy + admin API + store (embedded H2 by default, or PostgreSQL); commits are
 *       applied in-process, and published on Redis when {@code --redis} is given so data planes can follow;</li>
 *   <li>{@code control-plane}: admin API + PostgreSQL store, publishing each version on Redis; no proxy;</li>
 *   <li>{@code data-plane}: proxy only; follows the store (Redis notice, poll fallback), saves each applied
 *       version to {@code <data-dir>/snapshot.json} and serves from it when the store is down.</li>
 * </ul>
 */
public final class Node implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Node.class.getName());

    /**
     * Start options.
     *
     * @param role       standalone, control-plane or data-plane
     * @param dataDir    data directory (embedded store, admin token file, snapshot)
     * @param listeners  addresses
     * @param postgres   JDBC URL of PostgreSQL, if used
     * @param redis      Redis URL for config notices, if used
     * @param envToken   {@code SLUICE_ADMIN_TOKEN}, if set
     * @param poll       data-plane poll interval
     * @param env        where {@code {"$env": "NAME"}} secrets are read (the process environment by default)
     * @param audit      how long audit rows are kept (control plane, standalone)
     * @param accessLog  one line per proxied request (standalone, data plane; closed with the node)
     */
    public record Options(String role, Path dataDir, Listeners listeners, Optional<String> postgres,
                          Optional<String> redis, Optional<String> envToken, Duration poll,
                          Function<String, Optional<String>> env, AuditLog.Retention audit,
                          AccessLog accessLog) {
        /**
         * Options with the process environment and the default audit retention.
         *
         * @param role      standalone, control-plane or data-plane
         * @param dataDir   data directory
         * @param listeners addresses
         * @param postgres  JDBC URL of PostgreSQL, if used
         * @param redis     Redis URL for config notices, if used
         * @param envToken  {@code SLUICE_ADMIN_TOKEN}, if set
         * @param poll      data-plane poll interval
         */
        public Options(String role, Path dataDir, Listeners listeners, Optional<String> postgres,
                       Optional<String> redis, Optional<String> envToken, Duration poll) {
            this(role, dataDir, listeners, postgres, redis, envToken, poll, FilterCatalog.SYSTEM_ENV,
                    AuditLog.Retention.DEFAULT, AccessLog.OFF);
        }

        /**
         * @param environment where {@code $env} secrets are read
         * @return these options with another environment
         */
        public Options withEnv(Function<String, Optional<String>> environment) {
            return new Options(role, dataDir, listeners, postgres, redis, envToken, poll, environment, audit,
                    accessLog);
        }

        /**
         * @param retention audit retention
         * @return these options with another audit retention
         */
        public Options withAudit(AuditLog.Retention retention) {
            return new Options(role, dataDir, listeners, postgres, redis, envToken, poll, env, retention,
                    accessLog);
        }

        /**
         * @param log the access log
         * @return these options with an access log
         */
        public Options withAccessLog(AccessLog log) {
            return new Options(role, dataDir, listeners, postgres, redis, envToken, poll, env, audit, log);
        }
    }

    private final SluiceServer server;
    private final Store store;
    private final Optional<Registry> registry;
    private final Optional<ConfigFollower> follower;
    private final Optional<ConfigPublisher> publisher;
    private final Optional<String> generatedToken;
    private final String origin;

    private final UploadedFilters uploads;
    private final Optional<AuditLog> auditLog;
    private final ConfigTracker tracker;
    private final Optional<AdminApi> adminApi;
    private final Dependencies dependencies;

    private Node(SluiceServer server, Store store, Optional<Registry> registry, Optional<ConfigFollower> follower,
                 Optional<ConfigPublisher> publisher, Optional<String> generatedToken, String origin,
                 UploadedFilters uploads, Optional<AuditLog> auditLog, ConfigTracker tracker,
                 Optional<AdminApi> adminApi, Dependencies dependencies) {
        this.tracker = tracker;
        this.adminApi = adminApi;
        this.dependencies = dependencies;
        this.uploads = uploads;
        this.auditLog = auditLog;
        this.server = server;
        this.store = store;
        this.registry = registry;
        this.follower = follower;
        this.publisher = publisher;
        this.generatedToken = generatedToken;
        this.origin = origin;
    }

    /**
     * Starts a node.
     *
     * @param o options
     * @return the running node
     * @throws StartException with a message for the user
     */
    public static Node start(Options o) throws StartException {
        try {
            Files.createDirectories(o.dataDir());
        } catch (IOException e) {
            throw new StartException("cannot create data dir " + o.dataDir() + ": " + e.getMessage());
        }
        return switch (o.role()) {
            case "standalone" -> startWithRegistry(o, true);
            case "control-plane" -> startWithRegistry(o, false);
            case "data-plane" -> startDataPlane(o);
            default -> throw new StartException("--role must be standalone, control-plane or data-plane");
        };
    }

    private static Node startWithRegistry(Options o, boolean proxy) throws StartException {
        if (!proxy && o.postgres().isEmpty()) {
            throw new StartException("--role control-plane needs --postgres JDBC_URL (data planes read the same"
                    + " database; the embedded store serves one process only)");
        }
        Store store = openStore(() -> o.postgres().map(Store::postgres).orElseGet(() -> Store.embedded(o.dataDir())));
        Tracing tracing = proxy ? tracing(store) : Tracing.OFF;
        UploadedFilters uploads = uploads(store, o.dataDir());
        FilterCatalog catalog = FilterCatalog.builtins().withUploads(uploads).withEnvironment(o.env());
        Gateway gateway = new Gateway(catalog, new UpstreamClient(), tracing,
                proxy ? o.accessLog() : AccessLog.OFF);
        Registry registry = new Registry(store, catalog, config -> ConfigSnapshot.check(config, catalog));
        SnapshotFile snapshots = new SnapshotFile(o.dataDir());
        ConfigTracker tracker = new ConfigTracker(gateway, new ConfigParser(catalog),
                proxy ? Optional.of(snapshots) : Optional.empty());
        Optional<ConfigPublisher> publisher = o.redis().map(ConfigPublisher::new);
        if (proxy) {
            registry.addListener((v, changes) -> {
                try {
                    tracker.changes(new VersionChanges(v, changes));
                } catch (ConfigException | RuntimeException e) {
                    LOG.log(Level.SEVERE, "committed version " + v.version() + " could not be applied here;"
                            + " loading the whole config", e);
                    try {
                        StoredConfig all = store.load();
                        tracker.full(all.latest(), all.entities());
                    } catch (ConfigException | RuntimeException again) {
                        LOG.log(Level.SEVERE, "the whole config could not be applied either", again);
                    }
                }
            });
        }
        publisher.ifPresent(p -> registry.addListener((v, changes) -> p.publish(v.version())));
        AtomicLong committed = new AtomicLong();   // what a control plane reports as its version
        registry.addListener((v, changes) -> committed.accumulateAndGet(v.version(), Math::max));
        AdminAuth auth = new AdminAuth(store, o.envToken());
        String origin;
        Optional<String> token;
        try {
            token = auth.bootstrap(o.dataDir());
            StoredConfig all = store.load();
            if (proxy) {
                if (all.version() == 0) {
                    gateway.apply(0, GatewayConfig.EMPTY);
                } else {
                    tracker.full(all.latest(), all.entities());
                }
            }
            committed.accumulateAndGet(all.version(), Math::max);
            origin = store.description() + ", version " + all.version();
        } catch (ConfigException e) {
            tracker.close();
            store.close();
            gateway.close();
            throw new StartException("the stored config no longer validates: " + e.getMessage());
        } catch (RuntimeException e) {
            tracker.close();
            store.close();
            gateway.close();
            throw new StartException(e.getMessage());
        }
        BooleanSupplier ready = proxy ? gateway::loaded : () -> {
            try {
                store.ping();
                return true;
            } catch (StoreUnavailableException e) {
                return false;
            }
        };
        AuditLog auditLog = AuditLog.start(store, o.audit());
        Dependencies deps = Dependencies.start(o.postgres().map(p -> store), o.redis(), Optional.empty());
        SluiceServer server;
        AdminApi api = new AdminApi(registry, auth, Optional.of(uploads), auditLog);
        if (proxy) {
            api.upstreamHealth(id -> gateway.upstreams().shared(id).map(u ->
                    io.sluice.runtime.observe.UpstreamHealthView.json(u, gateway.current().version())));
        }
        try {
            server = listen(o.listeners().withProxy(proxy), gateway,
                    api, new SluiceServer.Status(ready,
                            proxy ? () -> gateway.current().version() : committed::get, deps::states), store);
        } catch (StartException e) {
            deps.close();
            auditLog.close();
            throw e;
        }
        return new Node(server, store, Optional.of(registry), Optional.empty(), publisher, token, origin, uploads,
                Optional.of(auditLog), tracker, Optional.of(api), deps);
    }

    private static Node startDataPlane(Options o) throws StartException {
        String url = o.postgres().orElseThrow(() -> new StartException("--role data-plane needs --postgres JDBC_URL"
                + " (the control plane's database; it is only read)"));
        Store store = openStore(() -> Store.postgresReader(url));
        Tracing tracing = tracing(store);
        UploadedFilters uploads = uploads(store, o.dataDir());
        FilterCatalog catalog = FilterCatalog.builtins().withUploads(uploads).withEnvironment(o.env());
        Gateway gateway = new Gateway(catalog, new UpstreamClient(), tracing, o.accessLog());
        SnapshotFile snapshots = new SnapshotFile(o.dataDir());
        ConfigTracker tracker = new ConfigTracker(gateway, new ConfigParser(catalog), Optional.of(snapshots));
        ConfigFollower follower = new ConfigFollower(store, o.redis(), snapshots, tracker, o.poll());
        String origin = follower.start();
        Dependencies deps = Dependencies.start(Optional.of(store), o.redis(), Optional.of(follower));
        SluiceServer server;
        try {
            server = listen(o.listeners(), gateway, null, new SluiceServer.Status(gateway::loaded,
                    () -> gateway.current().version(), deps::states), store);
        } catch (StartException e) {
            deps.close();
            follower.close();
            throw e;
        }
        return new Node(server, store, Optional.empty(), Optional.of(follower), Optional.empty(), Optional.empty(),
                origin, uploads, Optional.empty(), tracker, Optional.empty(), deps);
    }

    /** Tracing as OTEL_* variables / otel.* properties configure it; off without an exporter. */
    private static Tracing tracing(Store store) throws StartException {
        try {
            return Tracing.fromEnvironment(java.util.Map.of());
        } catch (RuntimeException e) {
            store.close();
            throw new StartException("OpenTelemetry tracing is misconfigured: " + e.getMessage());
        }
    }

    private static UploadedFilters uploads(Store store, java.nio.file.Path dataDir) {
        // At least 4 even on one or two cores (issue 19): a task handed to one of several runnable workers costs less
        // than waking a parked one. A JavaScript route on one core served 34.3k req/s at 28.9 us CPU each with 2
        // workers, 37.5k at 26.4 us with 4, and 40.4k at 24.6 us with 8 (runtime/bench/RESULTS.md). Each worker keeps
        // its own context per filter binding, so memory grows with the count: 4 is the knee, not 8.
        int workers = Integer.getInteger("sluice.js.workers", Math.max(4, Runtime.getRuntime().availableProcessors()));
        return new UploadedFilters(() -> new JsSandbox(workers, Quarantine.defaults()), store, dataDir);
    }

    /** @return uploaded filters of this node */
    public UploadedFilters uploads() {
        return uploads;
    }

    private static Store openStore(java.util.function.Supplier<Store> open) throws StartException {
        try {
            return open.get();
        } catch (StoreUnavailableException | IllegalArgumentException e) {
            throw new StartException(e.getMessage());
        }
    }

    private static SluiceServer listen(Listeners l, Gateway gateway, AdminApi api, SluiceServer.Status status,
                                       Store store) throws StartException {
        try {
            return SluiceServer.start(l, gateway, Optional.ofNullable(api), status);
        } catch (RuntimeException e) {
            store.close();
            gateway.close();
            throw new StartException("cannot listen: " + e.getMessage());
        }
    }

    /**
     * Imports a declarative file as the next version, unless it equals the current config.
     *
     * @param file     the file (for messages)
     * @param document its validated content
     * @return the version now current
     * @throws StartException if this node has no registry or the import is refused
     */
    public long importFile(String file, ObjectNode document) throws StartException {
        Registry r = registry.orElseThrow(() -> new StartException("--config is not available on a data plane;"
                + " import it on the control plane"));
        try {
            Registry.Committed c = r.importDocument(io.sluice.registry.config.SourceTree.parse(document.toString()),
                    "config-file:" + file, Role.PLATFORM, "import " + file);
            return c.version() == null ? r.version() : c.version().version();
        } catch (ApiError e) {
            List<String> details = new ArrayList<>();
            e.details().forEach(p -> details.add(p.path() + ": " + p.message()));
            throw new StartException(file + ": " + e.getMessage() + (details.isEmpty() ? "" : " " + details));
        } catch (StoreUnavailableException e) {
            throw new StartException(e.getMessage());
        } catch (ConfigException e) {
            throw new StartException(file + ": " + e.getMessage());
        }
    }

    /**
     * @return the listeners
     */
    public SluiceServer server() {
        return server;
    }

    /**
     * @return the registry (standalone, control plane)
     */
    public Optional<Registry> registry() {
        return registry;
    }

    /**
     * @return the audit log (standalone, control plane)
     */
    public Optional<AuditLog> auditLog() {
        return auditLog;
    }

    /**
     * @return what this node serves, kept in step with the versions (standalone, data plane)
     */
    public ConfigTracker tracker() {
        return tracker;
    }

    /**
     * @return the admin API this node serves (standalone, control plane): its routing table is
     *         {@link AdminApi#endpoints()}
     */
    public Optional<AdminApi> adminApi() {
        return adminApi;
    }

    /**
     * @return the follower (data plane)
     */
    public Optional<ConfigFollower> follower() {
        return follower;
    }

    /**
     * @return the admin token generated on this first start, if any
     */
    public Optional<String> generatedToken() {
        return generatedToken;
    }

    /**
     * @return where the served config came from, for the banner
     */
    public String origin() {
        return origin;
    }

    /**
     * @return the external services this node uses and their states
     */
    public Dependencies dependencies() {
        return dependencies;
    }

    @Override
    public void close() {
        dependencies.close();
        follower.ifPresent(ConfigFollower::close);
        server.close();
        tracker.close();
        auditLog.ifPresent(AuditLog::close);   // writes the folded refusals of the current minute
        publisher.ifPresent(ConfigPublisher::close);
        uploads.close();
        store.close();
    }

    /** A start that cannot proceed, with a message for the user. */
    public static final class StartException extends Exception {
        /**
         * @param message what is wrong
         */
        public StartException(String message) {
            super(message);
        }
    }
}
