package io.sluice.registry.distribution;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.sluice.registry.store.ConfigVersion;
import io.sluice.registry.store.Store;

import java.io.IOException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A data plane's link to the config: applies the newest version from the store when Redis announces one
 * ({@link ConfigPublisher#CHANNEL}) and, as a fallback, when a periodic poll finds one. Every applied version
 * is saved to the {@link SnapshotFile}; at start, when the store cannot be reached, the saved snapshot is
 * served instead (static stability). Nothing here ever stops the proxy from serving what it has.
 */
public final class ConfigFollower implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ConfigFollower.class.getName());

    /** Parses a version and swaps it in; throws to refuse it (the previous one stays). */
    @FunctionalInterface
    public interface Applier {
        /**
         * @param version the version to serve
         * @throws Exception if it cannot be applied
         */
        void apply(ConfigVersion version) throws Exception;
    }

    private final Store store;
    private final Optional<String> redisUrl;
    private final SnapshotFile snapshots;
    private final Applier applier;
    private final Duration poll;
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
            Optional<ConfigVersion> saved = snapshots.read();
            if (saved.isEmpty()) {
                return "nothing yet: store unreachable and no local snapshot (not ready)";
            }
            applier.apply(saved.get());
            applied = saved.get().version();
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

    // applies the newest version if it is newer than the one served; true if something is being served
    private synchronized boolean check() {
        long newest = store.latestVersion();
        if (newest <= applied || newest == 0 || newest == refused) {
            return newest > 0;
        }
        Optional<ConfigVersion> v = store.latest();
        if (v.isEmpty()) {
            return false;
        }
        try {
            applier.apply(v.get());
        } catch (Exception e) {
            refused = v.get().version();
            LOG.log(Level.SEVERE, "config version " + refused + " cannot be applied here; still serving " + applied
                    + ": " + e.getMessage());
            return applied > 0;
        }
        applied = v.get().version();
        try {
            snapshots.write(v.get());
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot save snapshot " + snapshots.path() + ": " + e.getMessage());
        }
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
