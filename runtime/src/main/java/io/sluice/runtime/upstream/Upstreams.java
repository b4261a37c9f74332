package io.sluice.runtime.upstream;

import io.sluice.registry.config.GatewayConfig.UpstreamSpec;

import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The data plane's upstreams by key, each one object for as long as some route uses it: shared upstreams under
 * {@code upstream:<id>}, inline ones under {@code route:<route id>:<group>}.
 *
 * <p>Two steps, so that a snapshot that fails to build changes nothing: {@link #obtain} while a snapshot is built
 * (a new upstream is made and configured but not started; an existing one is returned as is), and {@link #commit}
 * once it serves (existing ones take their new config, new ones start, unused ones stop, unused pools close).
 */
public final class Upstreams implements AutoCloseable {
    private final UpstreamClient client;
    private final DnsResolver resolver;
    private final Map<String, Upstream> live = new ConcurrentHashMap<>();

    /**
     * @param client   owner of the connection pools
     * @param resolver DNS for discovery
     */
    public Upstreams(UpstreamClient client, DnsResolver resolver) {
        this.client = client;
        this.resolver = resolver;
    }

    /**
     * The upstream for a key while a snapshot is built: the live one when its config is the same, otherwise a new
     * one (not started) that takes over the live one's endpoints.
     *
     * @param key  {@code upstream:<id>} or {@code route:<id>:<group>}
     * @param spec its config in the snapshot being built
     * @return the upstream
     * @throws IllegalArgumentException when the config cannot be used (bad TLS material)
     */
    public Upstream obtain(String key, UpstreamSpec spec) {
        Upstream u = live.get(key);
        if (u != null && u.spec().equals(spec)) {
            return u;
        }
        Upstream.check(spec);
        return new Upstream(key, spec, client, resolver, this::closeUnusedPools, u);
    }

    /**
     * Makes a snapshot's upstreams live once it serves: new ones start (replacing and stopping the older one of
     * the same key), the ones no longer used stop, and the pools nobody uses any more close (requests in flight on
     * them finish).
     *
     * @param inUse the serving snapshot's upstreams
     */
    public synchronized void commit(Collection<Upstream> inUse) {
        Set<String> keys = new HashSet<>();
        for (Upstream u : inUse) {
            keys.add(u.key());
            Upstream current = live.get(u.key());
            if (current != u) {
                if (current != null) {
                    current.close();
                }
                live.put(u.key(), u);
                u.start();
            }
        }
        live.entrySet().removeIf(e -> {
            if (keys.contains(e.getKey())) {
                return false;
            }
            e.getValue().close();
            return true;
        });
        closeUnusedPools();
    }

    private synchronized void closeUnusedPools() {
        Set<Transport> pools = new HashSet<>();
        live.values().forEach(u -> u.poolsInto(pools));
        pools.addAll(extra);
        client.retainOnly(pools);
    }

    // pools used outside upstreams (aggregate calls), registered by the snapshot that serves
    private final Set<Transport> extra = ConcurrentHashMap.newKeySet();

    /**
     * Pools used by aggregate calls of the serving snapshot, kept open beside the upstreams'.
     *
     * @param pools the pools
     */
    public synchronized void keepAlso(Collection<ConnectionPool> pools) {
        extra.clear();
        extra.addAll(pools);
    }

    /**
     * @param id a shared upstream's id
     * @return it, when a route of the serving config uses it
     */
    public Optional<Upstream> shared(String id) {
        return Optional.ofNullable(live.get("upstream:" + id));
    }

    /**
     * @return every live upstream
     */
    public List<Upstream> all() {
        return List.copyOf(live.values());
    }

    @Override
    public synchronized void close() {
        live.values().forEach(Upstream::close);
        live.clear();
    }
}
