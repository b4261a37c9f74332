package io.sluice.runtime.proxy;

import io.sluice.registry.config.ConfigException;
import io.sluice.registry.config.GatewayConfig;
import io.sluice.runtime.FilterCatalog;
import io.sluice.runtime.Preparable;
import io.sluice.runtime.observe.AccessLog;
import io.sluice.runtime.observe.Tracing;
import io.sluice.runtime.upstream.DnsResolver;
import io.sluice.runtime.upstream.UpstreamClient;
import io.sluice.runtime.upstream.Upstreams;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Holds the current {@link ConfigSnapshot}. Readers take the reference once per request and keep it, so a
 * request finishes on the snapshot it started with; writers build a whole new snapshot and swap it in.
 */
public final class Gateway implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(Gateway.class.getName());
    /** How often a retired snapshot's in-flight count is read until it reaches zero. */
    private static final long DRAIN_POLL_MS = 10;
    private final FilterCatalog catalog;
    private final UpstreamClient client;
    private final Upstreams upstreams;
    private final io.sluice.runtime.tls.ServerCertificates certificates = new io.sluice.runtime.tls.ServerCertificates();
    private final Tracing tracing;
    private final AccessLog accessLog;
    private final AtomicReference<ConfigSnapshot> current;
    private final Object writeLock = new Object();
    private volatile boolean loaded;

    /**
     * A gateway with no routes yet (version 0).
     *
     * @param catalog filter factories
     * @param client  the upstream client
     */
    public Gateway(FilterCatalog catalog, UpstreamClient client) {
        this(catalog, client, Tracing.OFF);
    }

    /**
     * A gateway with no routes yet (version 0), tracing its requests.
     *
     * @param catalog filter factories
     * @param client  the upstream client
     * @param tracing spans of the request path (closed with the gateway)
     */
    public Gateway(FilterCatalog catalog, UpstreamClient client, Tracing tracing) {
        this(catalog, client, tracing, AccessLog.OFF);
    }

    /**
     * A gateway with no routes yet (version 0), tracing and logging its requests.
     *
     * @param catalog   filter factories
     * @param client    the upstream client
     * @param tracing   spans of the request path (closed with the gateway)
     * @param accessLog one line per request (closed with the gateway)
     */
    public Gateway(FilterCatalog catalog, UpstreamClient client, Tracing tracing, AccessLog accessLog) {
        this.catalog = catalog;
        this.client = client;
        this.upstreams = new Upstreams(client, DnsResolver.fromSystemProperty());
        this.tracing = tracing;
        this.accessLog = accessLog;
        try {
            this.current = new AtomicReference<>(ConfigSnapshot.build(0, GatewayConfig.EMPTY, catalog, client,
                    upstreams));
        } catch (ConfigException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The snapshot to serve the next request with.
     *
     * @return the current snapshot
     */
    public ConfigSnapshot current() {
        return current.get();
    }

    /**
     * Takes the current snapshot for a request, counted in flight until {@link #exit(ConfigSnapshot)} on the same
     * thread. What the snapshot holds is released only after it was replaced and its last request exited.
     *
     * @return the snapshot the request runs on
     */
    ConfigSnapshot enter() {
        while (true) {
            ConfigSnapshot s = current.get();
            if (!s.tracked()) {
                return s;   // holds nothing to release later (no plugin jars): no need to count its requests
            }
            s.inflight().enter();
            // entered before a replacement was published: the retirer's count sees this request; entered after:
            // take the new one (the count's increment and this read are both volatile, so one of them sees the other)
            if (current.get() == s) {
                return s;
            }
            s.inflight().exit();
        }
    }

    /**
     * Ends a request begun with {@link #enter()}.
     *
     * @param s the snapshot it ran on
     */
    void exit(ConfigSnapshot s) {
        if (s.tracked()) {
            s.inflight().exit();
        }
    }

    /**
     * Builds and swaps in a new config as the next version. On failure nothing changes.
     *
     * @param config a validated config
     * @return the new snapshot
     * @throws ConfigException if a filter refused its config
     */
    public ConfigSnapshot apply(GatewayConfig config) throws ConfigException {
        synchronized (writeLock) {
            return apply(current.get().version() + 1, config);
        }
    }

    /**
     * Builds and swaps in a config with the version number the registry gave it. On failure nothing changes.
     *
     * @param version the config version
     * @param config  a validated config
     * @return the new snapshot
     * @throws ConfigException if a filter refused its config
     */
    public ConfigSnapshot apply(long version, GatewayConfig config) throws ConfigException {
        synchronized (writeLock) {
            ConfigSnapshot next = ConfigSnapshot.build(version, config, catalog, client, upstreams);
            prepare(next, current.get());
            ConfigSnapshot previous = current.getAndSet(next);
            certificates.update(config.certificates());
            loaded = true;
            commitUpstreams(next);
            retire(previous, allOf(previous));
            return next;
        }
    }

    /**
     * Applies a change set to the current snapshot, building only what it changed. On failure nothing changes.
     *
     * @param version the new config version
     * @param delta   what changed
     * @return the new snapshot
     * @throws ConfigException if a filter refused its config
     */
    public ConfigSnapshot apply(long version, ConfigSnapshot.Delta delta) throws ConfigException {
        synchronized (writeLock) {
            ConfigSnapshot.Transition t = current.get().next(version, delta, catalog, client, upstreams);
            prepare(t.next(), current.get());
            ConfigSnapshot previous = current.getAndSet(t.next());
            delta.certificates().ifPresent(certificates::update);
            loaded = true;
            commitUpstreams(t.next());
            retire(previous, t.dropped());
            return t.next();
        }
    }

    /**
     * Prepares the filters of the routes built for {@code next} (those it does not share with {@code serving}) before
     * it serves, so that their first requests do not make what the filters need (a JavaScript filter's contexts:
     * made on the workers, they kept requests waiting past their deadline while a version was swapped).
     */
    private static void prepare(ConfigSnapshot next, ConfigSnapshot serving) {
        if (next.globals() != serving.globals()) {
            next.globals().bound().forEach(Gateway::prepare);
        }
        next.routes().forEach((id, built) -> {
            if (serving.routes().get(id) != built) {
                for (CompiledRoute.BoundFilter f : built.route().chain()) {
                    prepare(f);
                }
            }
        });
    }

    private static void prepare(CompiledRoute.BoundFilter f) {
        if (f.filter() instanceof Preparable p) {
            p.prepare();
        }
    }

    /** The serving snapshot's upstreams go live; the pools nobody uses any more close. */
    private void commitUpstreams(ConfigSnapshot s) {
        upstreams.keepAlso(s.pools());
        upstreams.commit(s.upstreamsInUse());
    }

    private volatile int httpsPort = -1;

    /**
     * @param port the TLS listener's port (where {@code tls.https_redirect} sends clients)
     */
    public void httpsPort(int port) {
        httpsPort = port;
    }

    /** @return the TLS listener's port, -1 without one */
    public int httpsPort() {
        return httpsPort;
    }

    /**
     * The TLS listener's certificates (the config's, and the default one from files), chosen by SNI.
     *
     * @return the certificates
     */
    public io.sluice.runtime.tls.ServerCertificates certificates() {
        return certificates;
    }

    /**
     * The data plane's upstreams: balancing and health state, per upstream.
     *
     * @return the upstreams
     */
    public Upstreams upstreams() {
        return upstreams;
    }

    private static List<Runnable> allOf(ConfigSnapshot s) {
        List<Runnable> out = new ArrayList<>(s.globals().releases());
        s.routes().values().forEach(b -> out.addAll(b.releases()));
        return out;
    }

    /**
     * Whether a config has been applied (readiness).
     *
     * @return true once any config was applied
     */
    public boolean loaded() {
        return loaded;
    }

    /**
     * The filter catalog.
     *
     * @return the catalog
     */
    public FilterCatalog catalog() {
        return catalog;
    }

    /**
     * The upstream client.
     *
     * @return the client
     */
    public UpstreamClient client() {
        return client;
    }

    /**
     * Tracing of the request path.
     *
     * @return {@link Tracing#OFF} unless configured
     */
    public Tracing tracing() {
        return tracing;
    }

    /**
     * The access log.
     *
     * @return {@link AccessLog#OFF} unless configured
     */
    public AccessLog accessLog() {
        return accessLog;
    }

    /**
     * Runs what a replaced snapshot dropped once no request runs on it, nor on any snapshot replaced before it: one
     * queue, drained in order, so a part shared by several snapshots is released only after the newest of them that
     * held it is idle.
     */
    private void retire(ConfigSnapshot old, List<Runnable> dropped) {
        if (!old.tracked() && dropped.isEmpty()) {
            return;
        }
        retiring.add(new Retired(old, dropped));
        synchronized (retiring) {
            if (retirer == null || !retirer.isAlive()) {
                retirer = Thread.ofVirtual().name("sluice-retire-config").start(this::drainRetired);
            }
        }
    }

    private record Retired(ConfigSnapshot snapshot, List<Runnable> dropped) {
    }

    private final java.util.concurrent.LinkedBlockingQueue<Retired> retiring =
            new java.util.concurrent.LinkedBlockingQueue<>();
    private Thread retirer;

    private void drainRetired() {
        try {
            while (true) {
                Retired r = retiring.poll(1, java.util.concurrent.TimeUnit.SECONDS);
                if (r == null) {
                    synchronized (retiring) {
                        if (retiring.isEmpty()) {
                            retirer = null;
                            return;
                        }
                    }
                    continue;
                }
                long waited = 0;
                while (r.snapshot().tracked() && r.snapshot().inflight().count() > 0) {
                    Thread.sleep(DRAIN_POLL_MS);
                    waited += DRAIN_POLL_MS;
                    if (waited % 30_000 == 0) {
                        LOG.log(System.Logger.Level.WARNING, "config version " + r.snapshot().version()
                                + " still has " + r.snapshot().inflight().count() + " requests in flight after "
                                + waited / 1000 + " s");
                    }
                }
                r.dropped().forEach(Gateway::runQuietly);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void runQuietly(Runnable r) {
        try {
            r.run();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "releasing a retired config failed: " + e, e);
        }
    }

    @Override
    public void close() {
        upstreams.close();
        client.close();
        tracing.close();
        accessLog.close();
    }
}
