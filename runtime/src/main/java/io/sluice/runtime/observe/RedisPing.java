package io.sluice.runtime.observe;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.sluice.builtin.DependencyStatus.State;

import java.time.Duration;

/**
 * Whether a Redis server answers: {@code PING} on a connection of its own, connected (again) when needed, with a
 * 1 s connect and command timeout. For dependencies with no signal of their own (the config publisher only
 * learns Redis is gone when it next publishes).
 */
final class RedisPing implements AutoCloseable {
    private static final Duration TIMEOUT = Duration.ofSeconds(1);

    private final RedisClient client;
    private StatefulRedisConnection<String, String> connection;

    /**
     * @param url {@code redis://host:port}
     */
    RedisPing(String url) {
        client = RedisClient.create(RedisURI.create(url));
        client.setOptions(ClientOptions.builder()
                .autoReconnect(false)   // check() reconnects, once per check, without Lettuce's retry logging
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .timeoutOptions(TimeoutOptions.enabled(TIMEOUT))
                .socketOptions(SocketOptions.builder().connectTimeout(TIMEOUT).build())
                .build());
    }

    /** @return up if PING was answered, else why not; never throws */
    synchronized State check() {
        try {
            if (connection == null || !connection.isOpen()) {
                if (connection != null) {
                    connection.close();
                }
                connection = null;
                connection = client.connect();
            }
            connection.sync().ping();
            return State.UP;
        } catch (RuntimeException e) {
            return State.down(State.reason(e));
        }
    }

    /** @return a Redis URL without its password, for the log */
    static String loggable(String url) {
        return url.replaceFirst("//[^@/]*@", "//***@");
    }

    @Override
    public synchronized void close() {
        if (connection != null) {
            connection.close();
        }
        client.shutdown(Duration.ZERO, TIMEOUT);
    }
}
