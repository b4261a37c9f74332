package io.sluice.registry.distribution;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;

import java.time.Duration;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Tells data planes that a new config version exists: {@code PUBLISH sluice:config <version>}. Best effort:
 * while Redis is down the notice is lost and data planes find the version by polling instead.
 */
public final class ConfigPublisher implements AutoCloseable {
    /** The pub/sub channel. */
    public static final String CHANNEL = "sluice:config";
    private static final Logger LOG = Logger.getLogger(ConfigPublisher.class.getName());

    private final RedisClient client;
    private volatile StatefulRedisConnection<String, String> connection;

    /**
     * @param redisUrl {@code redis://host:port}
     */
    public ConfigPublisher(String redisUrl) {
        this.client = RedisClient.create(RedisURI.create(redisUrl));
        client.setOptions(ClientOptions.builder()
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .timeoutOptions(TimeoutOptions.enabled(Duration.ofSeconds(1)))
                .socketOptions(SocketOptions.builder().connectTimeout(Duration.ofSeconds(1)).build())
                .build());
    }

    /**
     * Publishes a version; never throws.
     *
     * @param version the committed version
     */
    public void publish(long version) {
        try {
            StatefulRedisConnection<String, String> c = connection;
            if (c == null || !c.isOpen()) {
                c = client.connect();
                connection = c;
            }
            c.sync().publish(CHANNEL, Long.toString(version));
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "cannot publish config version " + version + " to Redis (data planes will"
                    + " find it by polling): " + e.getMessage());
        }
    }

    @Override
    public void close() {
        StatefulRedisConnection<String, String> c = connection;
        if (c != null) {
            c.close();
        }
        client.shutdown(Duration.ZERO, Duration.ofSeconds(1));
    }
}
