package io.sluice.registry.distribution;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.sluice.registry.model.EntitySet;
import io.sluice.registry.store.ConfigVersion;
import io.sluice.registry.store.StoredConfig;
import io.sluice.registry.store.VersionChanges;
import io.sluice.registry.store.Store;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A data plane's link to the config: catches up with the newest version when Redis announces one
 * ({@link ConfigPublisher#CHANNEL}) and, as a fallback, when a periodic poll finds one. Close behind, it
 * fetches the change sets since the version it serves and applies them one version at a time; too far behind
 * (or after a refused change set) it loads the whole config. At start, when the store cannot be reached, the
 * {@link SnapshotFile} the applier keeps is served instead (static stability). Nothing here ever stops the proxy from serving what it has.
 */
public final class ConfigFollower implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ConfigFollower.class.getName());

    /** Beyond this many changes behind, a data plane loads the whole config instead of the change sets. */
    public static final int RESYNC_LIMIT = 10_000;

    /** Swaps config in; throws to refuse it (what is served stays). */
    public interface Applier {
        /**
         * Serves a whole config (at start, from the local snapshot, or when too far behind).
         *
         * @param version  its version
         * @param entities its entities
         * @throws Exception if it cannot be applied
         */
        void full(ConfigVersion version, EntitySet entities) throws Exception;

        /**
         * Applies the next version's change set to what is served.
         *
         * @param changes the version right after the one served, with its change set
         * @throws Exception if it cannot be applied (nothing changed)
         */
        void changes(VersionChanges changes) throws Exception;
    }

    private final Store store;
    private final Optional<String> redisUrl;
    private final SnapshotFile snapshots;
    private final Applier applier;
    private final Duration poll;
    private final int resyncLimit;
    private final Semaphore wake = new Semaphore(0);
    private volatile long applied = -1;
    private volatile boolean storeDown;
    private long refused = -1;
    private RedisClient redis;
    private volatile StatefulRedisPubSubConnection<String, String> subscription;
    private Thread loop;
    private volatile boolean closed;

    /**
     * @param store     the store to read versions from
     * @param redisUrl  where notices are published, if used
     * @param snapshots the local snapshot file
     * @param applier   swaps a version in
     * @param poll      fallback poll interval
     */
    public ConfigFollower(Store store, Optional<String> redisUrl, SnapshotFile snapshots, Applier applier,
                          Duration poll) {
        this(store, redisUrl, snapshots, applier, poll, Integer.getInteger("sluice.config.resync-limit", RESYNC_LIMIT));
    }

    /**
     * @param store       the store to read versions from
     * @param redisUrl    where notices are published, if used
     * @param snapshots   the local snapshot file
     * @param applier     swaps a version in
     * @param poll        fallback poll interval
     * @param resyncLimit beyond this many changes behind, load the whole config
     */
    public ConfigFollower(Store store, Optional<String> redisUrl, SnapshotFile snapshots, Applier applier,
                          Duration poll, int resyncLimit) {
        this.resyncLimit = resyncLimit;
        this.store = store;
        this.redisUrl = redisUrl;
        this.snapshots = snapshots;
        this.applier = applier;
        this.poll = poll;
    }

    /**
     * Loads the first config (store, else the local snapshot) and starts following.
     *
     * @return where the first config came from, for the start banner
     */
    public String start() {
        String origin;
        try {
            if (check()) {
                origin = "store, version " + applied;
            } else {
                origin = "store (no version yet)";
            }
        } catch (RuntimeException e) {
            origin = fromSnapshot(e);
        }
        redisUrl.ifPresent(url -> {
            redis = RedisClient.create(RedisURI.create(url));
            redis.setOptions(ClientOptions.builder().autoReconnect(true)
                    .socketOptions(SocketOptions.builder().connectTimeout(Duration.ofSeconds(1)).build()).build());
        });
        loop = Thread.ofPlatform().daemon().name("sluice-config-follower").start(this::run);
        return origin;
    }

    private String fromSnapshot(RuntimeException cause) {
        storeDown = true;
        LOG.warning("config store unreachable at start (" + cause.getMessage() + "); serving the local snapshot");
        try {
            Optional<SnapshotFile.Saved> saved = snapshots.read();
            if (saved.isEmpty()) {
                return "nothing yet: store unreachable and no local snapshot (not ready)";
            }
            applier.full(saved.get().version(), saved.get().entities());
            applied = saved.get().version().version();
            return "local snapshot " + snapshots.path() + ", version " + applied + " (store unreachable)";
        } catch (Exception e) {
            LOG.log(Level.SEVERE, "cannot load local snapshot " + snapshots.path(), e);
            return "nothing yet: local snapshot unusable: " + e.getMessage();
        }
    }

    /**
     * @return the version being served, -1 before any
     */
    public long appliedVersion() {
        return applied;
    }

    /**
     * @return whether the last attempt to reach the store failed
     */
    public boolean storeDown() {
        return storeDown;
    }

    /**
     * @return whether the Redis subscription to {@link ConfigPublisher#CHANNEL} is open (false without Redis)
     */
    public boolean subscribed() {
        StatefulRedisPubSubConnection<String, String> s = subscription;
        return s != null && s.isOpen();
    }

    /** Asks the follower to look for a new version now. */
    public void wake() {
        wake.release();
    }

    private void run() {
        while (!closed) {
            try {
                if (redis != null && (subscription == null || !subscription.isOpen())) {
                    subscribe();
                }
                if (wake.tryAcquire(poll.toMillis(), TimeUnit.MILLISECONDS)) {
                    wake.drainPermits();
                }
                if (closed) {
                    return;
                }
                check();
                if (storeDown) {
                    LOG.info("config store reachable again");
                    storeDown = false;
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                if (!storeDown) {
                    LOG.warning("config store unreachable (" + e.getMessage() + "); still serving version " + applied);
                    storeDown = true;
                }
            }
        }
    }

    private void subscribe() {
        try {
            StatefulRedisPubSubConnection<String, String> c = redis.connectPubSub();
            c.addListener(new RedisPubSubAdapter<>() {
                @Override
                public void message(String channel, String message) {
                    wake.release();
                }
            });
            c.sync().subscribe(ConfigPublisher.CHANNEL);
            subscription = c;
            wake.release(); // a notice may have been missed while unsubscribed
        } catch (RuntimeException e) {
            LOG.fine("cannot subscribe to Redis yet: " + e.getMessage());
        }
    }

    // catches up with the newest version: its change sets when close behind, else the whole config; true if
    // something is being served
    private synchronized boolean check() {
        long newest = store.latestVersion();
        if (newest <= applied || newest == 0 || newest == refused) {
            return newest > 0 || applied > 0;
        }
        if (applied > 0) {
            Optional<List<VersionChanges>> since = store.changesSince(applied, resyncLimit);
            if (since.isPresent()) {
                try {
                    for (VersionChanges vc : since.get()) {
                        applier.changes(vc);
                        applied = vc.version().version();
                    }
                    return true;
                } catch (Exception e) {
                    LOG.log(Level.WARNING, "cannot apply the change sets after version " + applied
                            + " (" + e.getMessage() + "); loading the whole config");
                }
            } else {
                LOG.info("more than " + resyncLimit + " changes behind (or they were pruned): loading the whole"
                        + " config, version " + newest);
            }
        }
        StoredConfig all = store.load();
        if (all.version() == 0) {
            return false;
        }
        try {
            applier.full(all.latest(), all.entities());
        } catch (Exception e) {
            refused = all.version();
            LOG.log(Level.SEVERE, "config version " + refused + " cannot be applied here; still serving " + applied
                    + ": " + e.getMessage());
            return applied > 0;
        }
        applied = all.version();
        return true;
    }

    @Override
    public void close() {
        closed = true;
        wake.release();
        if (loop != null) {
            try {
                loop.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (subscription != null) {
            subscription.close();
        }
        if (redis != null) {
            redis.shutdown(Duration.ZERO, Duration.ofSeconds(1));
        }
    }
}
