package io.sluice.registry.config;

import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The whole declarative config: global plugins, routes and consumers. Immutable; produced only by {@link ConfigParser},
 * so every instance has been validated.
 *
 * @param globalPlugins run on every route before the route's own plugins
 * @param routes        the routes
 * @param consumers     API consumers and their (hashed) credentials
 * @param settings      edge settings of every node (trusted proxies, path rules, client limits)
 */
public record GatewayConfig(List<PluginEntry> globalPlugins, List<RouteSpec> routes, List<ConsumerSpec> consumers,
                            Settings settings) {

    /** An empty config: no routes. */
    public static final GatewayConfig EMPTY = new GatewayConfig(List.of(), List.of(), List.of(), Settings.DEFAULTS);

    /**
     * A config with the default settings.
     *
     * @param globalPlugins run on every route before the route's own plugins
     * @param routes        the routes
     * @param consumers     API consumers and their (hashed) credentials
     */
    public GatewayConfig(List<PluginEntry> globalPlugins, List<RouteSpec> routes, List<ConsumerSpec> consumers) {
        this(globalPlugins, routes, consumers, Settings.DEFAULTS);
    }

    /**
     * Edge settings of every gateway node: whom to believe about the client's address, how paths are
     * canonicalised, and how long and how many connections a client may hold.
     *
     * @param trustedProxies           CIDR blocks (or single addresses) of proxies whose X-Forwarded-For /
     *                                 Forwarded headers are believed; empty: none
     * @param keepEscapedSlashes       {@code %2F} in a path is kept encoded (true) or refused with 400 (false)
     * @param allowSemicolons          raw {@code ;} in a path is kept (true) or refused with 400 (false)
     * @param headerTimeoutMs          time allowed to receive a request head, from its first byte
     * @param bodyIdleTimeoutMs        longest wait for the next byte of a request body
     * @param keepaliveTimeoutMs       longest idle time of a connection between requests
     * @param maxConnections           client connections open at once, in total
     * @param maxConnectionsPerAddress client connections open at once from one address (trusted proxies exempt)
     */
    public record Settings(List<String> trustedProxies, boolean keepEscapedSlashes, boolean allowSemicolons,
                           int headerTimeoutMs, int bodyIdleTimeoutMs, int keepaliveTimeoutMs, int maxConnections,
                           int maxConnectionsPerAddress) {
        /** The defaults: no trusted proxy, strict paths, nginx-like client timeouts. */
        public static final Settings DEFAULTS = new Settings(List.of(), false, false, 10_000, 30_000, 60_000,
                10_000, 256);
    }

    /**
     * An API consumer: a client application the gateway knows.
     *
     * @param id      unique id, passed upstream as {@code X-Consumer-Id}
     * @param tags    free labels
     * @param apiKeys its API keys, hashed
     */
    public record ConsumerSpec(String id, List<String> tags, List<ApiKeySpec> apiKeys) {
    }

    /**
     * An API key as stored: never the key itself.
     *
     * @param id   public id of the key (to revoke it)
     * @param hash {@code sha256:<64 hex>} of the key
     */
    public record ApiKeySpec(String id, String hash) {
    }

    /**
     * @param id          unique route id
     * @param paths       path patterns
     * @param methods     upper-case methods; empty = any
     * @param hosts       lower-case host names (no port); empty = any
     * @param stripPrefix prefix removed from the path before proxying, or empty
     * @param upstream    where to send requests: the {@code default} upstream group; empty for an aggregate route
     * @param upstreams   further named upstream groups a filter (canary) may choose instead
     * @param aggregate   the calls an aggregate route fans out to instead of an upstream; present exactly when
     *                    {@code upstream} is empty
     * @param plugins     the ordered chain
     */
    public record RouteSpec(String id, List<PathPattern> paths, List<String> methods, List<String> hosts,
                            Optional<String> stripPrefix, Optional<UpstreamSpec> upstream,
                            Map<String, UpstreamSpec> upstreams, Optional<AggregateSpec> aggregate,
                            List<PluginEntry> plugins) {
    }

    /**
     * An aggregate route's fan-out: named calls made in parallel whose JSON responses are merged under their names.
     *
     * @param calls        the calls, in configured order (also the order of the merged body)
     * @param maxBodyBytes largest response body accepted from one call
     */
    public record AggregateSpec(List<CallSpec> calls, int maxBodyBytes) {
    }

    /**
     * One call of an aggregate route.
     *
     * @param name             key of its result in the merged body ({@code [a-z][a-z0-9_]*}, not {@code errors})
     * @param url              where to send it; {@code {param}} placeholders take the route's path parameters
     * @param method           request method (no body is sent)
     * @param timeoutMs        the whole call: connect, request, response head and body
     * @param connectTimeoutMs TCP connect timeout, at most {@code timeoutMs}
     * @param required         whether this call failing fails the whole response
     */
    public record CallSpec(String name, UrlTemplate url, String method, int timeoutMs, int connectTimeoutMs,
                           boolean required) {
    }

    /**
     * @param targets          weighted targets
     * @param connectTimeoutMs TCP connect timeout
     * @param timeoutMs        time allowed for the upstream's response headers (and between body reads)
     */
    public record UpstreamSpec(List<Target> targets, int connectTimeoutMs, int timeoutMs) {
    }

    /**
     * @param url    {@code http://host:port} with an optional base path
     * @param weight relative weight, ≥ 0
     */
    public record Target(URI url, int weight) {
    }

    /** What the chain does when a filter fails. */
    public enum OnError {
        /** Answer 500 {@code filter_error}. */
        FAIL_CLOSED,
        /** Skip the filter and go on. */
        FAIL_OPEN
    }

    /**
     * @param name    plugin name
     * @param version pinned version, or empty for the built-in / latest
     * @param config  the config object (JSON-shaped Java values)
     * @param onError failure policy
     * @param limits  budgets of an uploaded filter's invocation ({@code statements}, {@code deadline_ms},
     *                {@code memory_bytes}); empty for the defaults
     */
    public record PluginEntry(String name, Optional<String> version, Map<String, Object> config, OnError onError,
                              Map<String, Object> limits) {
    }
}
