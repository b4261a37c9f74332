package io.sluice.runtime.proxy;

import io.sluice.registry.config.ConfigException;
import io.sluice.registry.config.GatewayConfig;
import io.sluice.runtime.FilterCatalog;
import io.sluice.runtime.upstream.UpstreamClient;

import java.util.concurrent.atomic.AtomicReference;

/**
 * Holds the current {@link ConfigSnapshot}. Readers take the reference once per request and keep it, so a
 * request finishes on the snapshot it started with; writers build a whole new snapshot and swap it in.
 */
public final class Gateway implements AutoCloseable {
    private final FilterCatalog catalog;
    private final UpstreamClient client;
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
        this.catalog = catalog;
        this.client = client;
        try {
            this.current = new AtomicReference<>(ConfigSnapshot.build(0, GatewayConfig.EMPTY, catalog, client));
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
            ConfigSnapshot next = ConfigSnapshot.build(version, config, catalog, client);
            current.set(next);
            loaded = true;
            client.retainOnly(next.pools());
            return next;
        }
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

    @Override
    public void close() {
        client.close();
    }
}
