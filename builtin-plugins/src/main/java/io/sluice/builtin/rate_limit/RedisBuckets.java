package io.sluice.builtin.rate_limit;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.StringCodec;
import io.sluice.builtin.DependencyStatus;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Token buckets in Redis: one Lua script takes up to n tokens atomically (read, refill, take, write, expire), with
 * Redis's own clock so that gateways with skewed clocks agree. Sent with EVALSHA; a NOSCRIPT answer (Redis restarted or
 * flushed) loads it again once.
 *
 * <p>One connection per Redis URL for the whole process, shared by every rate-limit filter and every config
 * version (filters are rebuilt on each config change; connections must not be). Commands are rejected at once
 * while disconnected (no unbounded queue), and each has a short timeout; the caller falls back on any failure.
 */
final class RedisBuckets {
    static final String SCRIPT = """
            local t = redis.call('TIME')
            local now = t[1] * 1000 + math.floor(t[2] / 1000)
            local per_ms = tonumber(ARGV[1])
            local capacity = tonumber(ARGV[2])
            local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
            local tokens = tonumber(state[1])
            local ts = tonumber(state[2])
            if tokens == nil or ts == nil then
              tokens = capacity
              ts = now
            end
            tokens = math.min(capacity, tokens + math.max(0, now - ts) * per_ms)
            local granted = math.min(tonumber(ARGV[3]), math.floor(tokens))
            tokens = tokens - granted
            redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
            redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / per_ms) + 1000)
            return {granted, tostring(tokens)}
            """;
    static final String SHA = sha1(SCRIPT);

    private static final Map<String, RedisBuckets> SHARED = new ConcurrentHashMap<>();
    private static final long RETRY_CONNECT_MILLIS = 1000;

    private final RedisClient client;
    private final RedisURI uri;
    private final Duration timeout;
    private final AtomicBoolean connecting = new AtomicBoolean();
    private volatile StatefulRedisConnection<String, String> connection;
    private volatile long lastAttempt;
    private volatile String connectFailure = "connecting";

    private RedisBuckets(String url, Duration timeout) {
        this.uri = RedisURI.create(url);
        this.timeout = timeout;
        this.client = RedisClient.create();
        client.setOptions(ClientOptions.builder()
                .autoReconnect(true)
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .socketOptions(SocketOptions.builder().connectTimeout(Duration.ofSeconds(1)).build())
                .timeoutOptions(TimeoutOptions.enabled(timeout))
                .build());
        maybeConnect();
    }

    /**
     * The shared buckets for a URL. Connecting happens in the background; until it succeeds, {@link #take}
     * throws and the caller falls back.
     */
    static RedisBuckets forUrl(String url, Duration timeout) {
        return SHARED.computeIfAbsent(url, u -> {
            RedisBuckets b = new RedisBuckets(u, timeout);
            DependencyStatus.register(DependencyStatus.REDIS_RATE_LIMIT, RateLimitFilter.loggable(u), b::probe);
            return b;
        });
    }

    /**
     * Whether Redis answers now, for the dependency report: a PING on the shared connection (within the
     * configured command timeout); while not connected, a connection attempt is started and its last failure
     * is the reason.
     */
    DependencyStatus.State probe() {
        StatefulRedisConnection<String, String> c = connection;
        if (c == null) {
            maybeConnect();
            return DependencyStatus.State.down(connectFailure);
        }
        if (!c.isOpen()) {
            return DependencyStatus.State.down("disconnected; reconnecting");
        }
        try {
            c.sync().ping();
            return DependencyStatus.State.UP;
        } catch (RuntimeException e) {
            return DependencyStatus.State.down(DependencyStatus.State.reason(e));
        }
    }

    /** Starts a connection attempt unless one is running or one was started within the last second. */
    private void maybeConnect() {
        long now = System.currentTimeMillis();
        if (now - lastAttempt < RETRY_CONNECT_MILLIS || !connecting.compareAndSet(false, true)) {
            return;
        }
        lastAttempt = now;
        client.connectAsync(StringCodec.UTF8, uri).whenComplete((c, error) -> {
            if (c != null) {
                c.setTimeout(timeout);
                connection = c;   // from here on Lettuce reconnects by itself
            } else {
                connectFailure = DependencyStatus.State.reason(error);
            }
            connecting.set(false);
        });
    }

    /**
     * What the script granted.
     *
     * @param granted tokens taken, 0 to {@code want}
     * @param tokens  tokens left in the shared bucket afterwards
     */
    record Grant(long granted, double tokens) {
    }

    /** Takes up to {@code want} tokens; throws when Redis is unavailable, slow or failing. */
    Grant take(String key, double perMilli, long capacity, long want) {
        StatefulRedisConnection<String, String> connection = this.connection;
        if (connection == null) {
            maybeConnect();
            throw new IllegalStateException("not connected to redis");
        }
        if (!connection.isOpen()) {
            throw new IllegalStateException("redis disconnected");
        }
        String[] keys = {key};
        String perMs = Double.toString(perMilli);
        String cap = Long.toString(capacity);
        String n = Long.toString(want);
        List<Object> result;
        try {
            result = connection.sync().evalsha(SHA, ScriptOutputType.MULTI, keys, perMs, cap, n);
        } catch (RedisNoScriptException e) {
            connection.sync().scriptLoad(SCRIPT);
            result = connection.sync().evalsha(SHA, ScriptOutputType.MULTI, keys, perMs, cap, n);
        }
        return new Grant(((Number) result.get(0)).longValue(), Double.parseDouble(String.valueOf(result.get(1))));
    }

    private static String sha1(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
