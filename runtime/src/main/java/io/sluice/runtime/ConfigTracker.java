package io.sluice.runtime;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.Timer;
import io.sluice.registry.admin.Registry;
import io.sluice.registry.config.ConfigException;
import io.sluice.registry.config.ConfigParser;
import io.sluice.registry.config.GatewayConfig;
import io.sluice.registry.config.GatewayConfig.ConsumerSpec;
import io.sluice.registry.config.GatewayConfig.RouteSpec;
import io.sluice.registry.config.SourceTree;
import io.sluice.registry.distribution.ConfigFollower;
import io.sluice.registry.distribution.SnapshotFile;
import io.sluice.registry.model.EntityChange;
import io.sluice.registry.model.EntityKind;
import io.sluice.registry.model.EntitySet;
import io.sluice.registry.store.ConfigVersion;
import io.sluice.registry.store.VersionChanges;
import io.sluice.runtime.observe.Telemetry;
import io.sluice.runtime.proxy.ConfigSnapshot;
import io.sluice.runtime.proxy.Gateway;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Semaphore;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * What a node serves, kept in step with the registry's versions: the entities of the version served, and the
 * gateway built from them. A whole config (at start, from the local snapshot, or after falling too far behind) is
 * parsed and built in full; a change set parses only the entities it changed and has the gateway rebuild only
 * what they touch ({@link ConfigSnapshot#next}). The same path serves a data plane following the store and a
 * standalone node applying its own commits.
 *
 * <p>Each applied change set is appended to the local {@link SnapshotFile}'s journal (a line as big as the change);
 * a background writer saves the whole config after a full load, when the journal passes
 * {@code sluice.snapshot.journal-bytes} (4 MiB), and on close, at most once per {@code sluice.snapshot.interval-ms}
 * (2 s). The request path never waits for the disk, and a stream of key creations costs a line each, not a
 * rewrite of the whole config.
 */
public final class ConfigTracker implements ConfigFollower.Applier, AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ConfigTracker.class.getName());
    private static final Timer APPLY_CHANGES = Timer.builder("sluice_config_apply_seconds")
            .description("Time to apply a config version on this node").tag("kind", "changes")
            .publishPercentiles(0.5, 0.99).register(Telemetry.registry());
    private static final Timer APPLY_FULL = Timer.builder("sluice_config_apply_seconds")
            .description("Time to apply a config version on this node").tag("kind", "full")
            .publishPercentiles(0.5, 0.99).register(Telemetry.registry());
    /** Shortest time between two whole-snapshot writes. */
    private static final long SAVE_INTERVAL_MS = Long.getLong("sluice.snapshot.interval-ms", 2_000);
    /** A journal past this size is folded into a new whole snapshot. */
    private static final long COMPACT_BYTES = Long.getLong("sluice.snapshot.journal-bytes", 4L * 1024 * 1024);

    private final Gateway gateway;
    private final ConfigParser parser;
    private final Optional<SnapshotFile> file;
    private final Semaphore dirty = new Semaphore(0);
    private final Thread writer;
    private volatile boolean closed;

    // guarded by this
    private EntitySet entities = new EntitySet();
    private ConfigVersion version;
    private final java.util.concurrent.atomic.AtomicLong fullLoads = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong changeSets = new java.util.concurrent.atomic.AtomicLong();

    /**
     * @param gateway what serves the config
     * @param parser  parses entities (with the node's filter catalog)
     * @param file    where to save each applied version, if anywhere
     */
    public ConfigTracker(Gateway gateway, ConfigParser parser, Optional<SnapshotFile> file) {
        this.gateway = gateway;
        this.parser = parser;
        this.file = file;
        this.writer = file.isEmpty() ? null
                : Thread.ofPlatform().daemon().name("sluice-snapshot-writer").start(this::writeLoop);
    }

    @Override
    public synchronized void full(ConfigVersion v, EntitySet all) throws ConfigException {
        long t0 = System.nanoTime();
        GatewayConfig config = parser.parse(SourceTree.parse(all.document().toString()));
        gateway.apply(v.version(), config);
        entities = all;
        version = v;
        APPLY_FULL.record(java.time.Duration.ofNanos(System.nanoTime() - t0));
        fullLoads.incrementAndGet();
        dirty.release();
    }

    @Override
    public synchronized void changes(VersionChanges vc) throws ConfigException {
        long t0 = System.nanoTime();
        List<EntityChange> changes = vc.changes();
        entities.apply(changes);
        try {
            gateway.apply(vc.version().version(), delta(changes));
        } catch (ConfigException | RuntimeException e) {
            for (int i = changes.size() - 1; i >= 0; i--) {
                entities.apply(List.of(changes.get(i).inverse()));
            }
            throw e;
        }
        version = vc.version();
        APPLY_CHANGES.record(java.time.Duration.ofNanos(System.nanoTime() - t0));
        changeSets.incrementAndGet();
        if (file.isPresent()) {
            try {
                if (file.get().append(vc) > COMPACT_BYTES) {
                    dirty.release();   // the journal grew: the writer folds it into a whole snapshot
                }
            } catch (IOException e) {
                LOG.log(Level.WARNING, "cannot append to " + file.get().journal() + ": " + e.getMessage());
                dirty.release();
            }
        }
    }

    /**
     * @return how many whole configs this node has loaded
     */
    public long fullLoads() {
        return fullLoads.get();
    }

    /**
     * @return how many versions this node has applied as change sets
     */
    public long changeSets() {
        return changeSets.get();
    }

    /** What the (already applied) changes mean for the gateway: the changed entities, parsed. */
    private ConfigSnapshot.Delta delta(List<EntityChange> changes) throws ConfigException {
        Set<String> routes = new LinkedHashSet<>();
        Set<String> consumers = new LinkedHashSet<>();
        Set<String> upstreams = new LinkedHashSet<>();
        boolean globals = false;
        boolean settings = false;
        boolean certificates = false;
        for (EntityChange c : changes) {
            switch (c.kind()) {
                case ROUTE -> routes.add(c.id());
                case CONSUMER -> consumers.add(c.id());
                case API_KEY -> consumers.add(EntityKind.parentOf(c.id()));
                case GLOBAL_PLUGINS -> globals = true;
                case SETTINGS -> settings = true;
                case UPSTREAM -> upstreams.add(c.id());
                case CERTIFICATE -> certificates = true;
                case TRUSTED_JAR_SIGNERS -> { }   // read by the control plane only
            }
        }
        ObjectNode doc = Registry.mapper().createObjectNode();
        String g = entities.get(EntityKind.GLOBAL_PLUGINS, EntityKind.SINGLE);
        if (globals && g != null) {
            doc.set(EntityKind.GLOBAL_PLUGINS.field(), EntitySet.tree(g));
        }
        ArrayNode routeArr = doc.putArray(EntityKind.ROUTE.field());
        routes.forEach(id -> {
            ObjectNode r = entities.element(EntityKind.ROUTE, id);
            if (r != null) {
                routeArr.add(r);
            }
        });
        // the changed upstreams, and those the changed routes name (a document names only what it holds)
        Set<String> named = new LinkedHashSet<>(upstreams);
        routeArr.forEach(r -> named.addAll(Registry.namedUpstreams(r)));
        ArrayNode upstreamArr = doc.putArray(EntityKind.UPSTREAM.field());
        named.forEach(id -> {
            ObjectNode u = entities.element(EntityKind.UPSTREAM, id);
            if (u != null) {
                upstreamArr.add(u);
            }
        });
        ArrayNode consumerArr = doc.putArray(EntityKind.CONSUMER.field());
        consumers.forEach(id -> {
            ObjectNode c = entities.element(EntityKind.CONSUMER, id);
            if (c != null) {
                consumerArr.add(c);
            }
        });
        String s = entities.get(EntityKind.SETTINGS, EntityKind.SINGLE);
        if (settings && s != null) {
            doc.set(EntityKind.SETTINGS.field(), EntitySet.tree(s));
        }
        if (certificates) {
            ArrayNode certArr = doc.putArray(EntityKind.CERTIFICATE.field());   // all of them: they are few
            entities.all(EntityKind.CERTIFICATE).forEach((id, body) -> certArr.add(EntitySet.tree(body)));
        }
        GatewayConfig parsed = parser.parse(SourceTree.parse(doc.toString()));
        Map<String, Optional<RouteSpec>> routeDelta = new LinkedHashMap<>();
        routes.forEach(id -> routeDelta.put(id, Optional.empty()));
        parsed.routes().forEach(r -> routeDelta.put(r.id(), Optional.of(r)));
        Map<String, Optional<ConsumerSpec>> consumerDelta = new LinkedHashMap<>();
        consumers.forEach(id -> consumerDelta.put(id, Optional.empty()));
        parsed.consumers().forEach(c -> consumerDelta.put(c.id(), Optional.of(c)));
        Map<String, Optional<GatewayConfig.UpstreamSpec>> upstreamDelta = new LinkedHashMap<>();
        upstreams.forEach(id -> upstreamDelta.put(id, Optional.empty()));
        parsed.upstreams().stream().filter(u -> upstreams.contains(u.id().orElseThrow()))
                .forEach(u -> upstreamDelta.put(u.id().orElseThrow(), Optional.of(u)));
        return new ConfigSnapshot.Delta(globals ? Optional.of(parsed.globalPlugins()) : Optional.empty(),
                settings ? Optional.of(parsed.settings()) : Optional.empty(), routeDelta, consumerDelta,
                upstreamDelta, certificates ? Optional.of(parsed.certificates()) : Optional.empty());
    }

    private void writeLoop() {
        while (!closed) {
            try {
                dirty.acquire();
                Thread.sleep(SAVE_INTERVAL_MS);   // let a burst of changes finish; then save the newest once
                dirty.drainPermits();
                saveNow();
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** Writes the version served to the snapshot file now (the writer does this after every change). */
    public void saveNow() {
        if (file.isEmpty()) {
            return;
        }
        ConfigVersion v;
        EntitySet copy;
        synchronized (this) {
            if (version == null) {
                return;
            }
            v = version;
            copy = entities.copy();
        }
        try {
            file.get().write(v, copy);
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.WARNING, "cannot save snapshot " + file.get().path() + ": " + e.getMessage());
        }
    }

    @Override
    public void close() {
        closed = true;
        if (writer != null) {
            writer.interrupt();
            try {
                writer.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        saveNow();
    }

}
