package io.sluice.registry.config;

import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The whole declarative config: global plugins, routes and consumers. Immutable; produced only by {@link ConfigParser},
 * so every instance has been validated.
 *
 * @param globalPlugins run on every route before the route's own plugins
 * @param routes        the routes
 * @param consumers     API consumers and their (hashed) credentials
 * @param settings      edge settings of every node (trusted proxies, path rules, client limits)
 * @param upstreams     the named, shared upstreams routes refer to by id
 * @param certificates  the TLS listener's certificates, chosen by SNI
 */
public record GatewayConfig(List<PluginEntry> globalPlugins, List<RouteSpec> routes, List<ConsumerSpec> consumers,
                            Settings settings, List<UpstreamSpec> upstreams, List<CertificateSpec> certificates) {

    /** An empty config: no routes. */
    public static final GatewayConfig EMPTY = new GatewayConfig(List.of(), List.of(), List.of(), Settings.DEFAULTS,
            List.of(), List.of());

    /**
     * A config without certificates.
     *
     * @param globalPlugins run on every route before the route's own plugins
     * @param routes        the routes
     * @param consumers     API consumers and their (hashed) credentials
     * @param settings      edge settings
     * @param upstreams     the named, shared upstreams
     */
    public GatewayConfig(List<PluginEntry> globalPlugins, List<RouteSpec> routes, List<ConsumerSpec> consumers,
                         Settings settings, List<UpstreamSpec> upstreams) {
        this(globalPlugins, routes, consumers, settings, upstreams, List.of());
    }

    /**
     * A TLS certificate of the TLS listener.
     *
     * @param id    its id
     * @param cert  PEM chain, leaf first (validated: parses, and the key matches the leaf)
     * @param key   PEM private key of the leaf
     * @param snis  lower-case server names: exact, or {@code *.suffix} (one label)
     * @param chain the parsed chain
     * @param privateKey the parsed key
     */
    public record CertificateSpec(String id, String cert, String key, List<String> snis,
                                  List<java.security.cert.X509Certificate> chain,
                                  java.security.PrivateKey privateKey) {
        @Override
        public String toString() {   // never the key
            return "CertificateSpec[" + id + ", snis=" + snis + "]";
        }
    }

    /**
     * What a route asks of the client's connection.
     *
     * @param httpsRedirect         answer a request on the plain port with a redirect to the TLS port
     * @param clientCa              PEM CA certificates a client certificate must chain to; empty for no mTLS
     * @param clientSubjectHeader   the header carrying the verified subject upstream
     * @param clientCas             the parsed CA certificates
     */
    public record RouteTls(boolean httpsRedirect, String clientCa, String clientSubjectHeader,
                           List<java.security.cert.X509Certificate> clientCas) {
        /** No redirect, no client certificate. */
        public static final RouteTls NONE = new RouteTls(false, "", "X-Client-Cert-Subject", List.of());

        /** @return whether a verified client certificate is required */
        public boolean mtls() {
            return !clientCas.isEmpty();
        }
    }

    /**
     * A config without shared upstreams.
     *
     * @param globalPlugins run on every route before the route's own plugins
     * @param routes        the routes
     * @param consumers     API consumers and their (hashed) credentials
     * @param settings      edge settings
     */
    public GatewayConfig(List<PluginEntry> globalPlugins, List<RouteSpec> routes, List<ConsumerSpec> consumers,
                         Settings settings) {
        this(globalPlugins, routes, consumers, settings, List.of());
    }

    /**
     * A config with the default settings.
     *
     * @param globalPlugins run on every route before the route's own plugins
     * @param routes        the routes
     * @param consumers     API consumers and their (hashed) credentials
     */
    public GatewayConfig(List<PluginEntry> globalPlugins, List<RouteSpec> routes, List<ConsumerSpec> consumers) {
        this(globalPlugins, routes, consumers, Settings.DEFAULTS, List.of());
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
     * @param websocketIdleTimeoutMs   a relayed WebSocket with no byte either way for this long is closed
     * @param websocketMaxFrameBytes   a relayed WebSocket frame with a longer payload closes the connection
     */
    public record Settings(List<String> trustedProxies, boolean keepEscapedSlashes, boolean allowSemicolons,
                           int headerTimeoutMs, int bodyIdleTimeoutMs, int keepaliveTimeoutMs, int maxConnections,
                           int maxConnectionsPerAddress, int websocketIdleTimeoutMs, int websocketMaxFrameBytes) {
        /** The defaults: no trusted proxy, strict paths, nginx-like client timeouts. */
        public static final Settings DEFAULTS = new Settings(List.of(), false, false, 10_000, 30_000, 60_000,
                10_000, 256, 60_000, 16 * 1024 * 1024);
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
     * @param tls         HTTPS redirect and client certificates ({@link RouteTls#NONE} when absent)
     */
    public record RouteSpec(String id, List<PathPattern> paths, List<String> methods, List<String> hosts,
                            Optional<String> stripPrefix, Optional<UpstreamRef> upstream,
                            Map<String, UpstreamRef> upstreams, Optional<AggregateSpec> aggregate,
                            List<PluginEntry> plugins, RouteTls tls) {
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

    /** Where a route sends requests: a shared upstream by id, or one written inline. */
    public sealed interface UpstreamRef permits Named, UpstreamSpec {
    }

    /**
     * A reference to a shared upstream.
     *
     * @param id the upstream's id
     */
    public record Named(String id) implements UpstreamRef {
    }

    /**
     * An upstream: a shared one ({@code id} present) or a route's inline one.
     *
     * @param id               the shared upstream's id; empty inline
     * @param targets          fixed or registered targets (weight 0 ones kept: they stay registered but get nothing)
     * @param discovery        targets found by DNS, beside the fixed ones
     * @param balancer         {@code round_robin}, {@code least_requests}, {@code consistent_hash} or {@code ewma}
     * @param hashOn           what {@code consistent_hash} hashes; empty for the others
     * @param retries          further attempts on other targets (connect failures; idempotent requests' failures)
     * @param active           active health checks; empty when off
     * @param passive          passive outlier ejection
     * @param tls              TLS options of {@code https://} targets
     * @param protocol         {@code http1}, {@code h2c}, {@code h2} or {@code grpc}
     * @param connectTimeoutMs TCP connect (and TLS handshake) timeout
     * @param timeoutMs        time allowed for the upstream's response headers (and between body reads)
     */
    public record UpstreamSpec(Optional<String> id, List<Target> targets, Optional<Discovery> discovery,
                               String balancer, Optional<HashOn> hashOn, int retries, Optional<ActiveCheck> active,
                               PassiveCheck passive, TlsSpec tls, String protocol, int connectTimeoutMs,
                               int timeoutMs) implements UpstreamRef {
        /**
         * An inline upstream with the defaults but its targets and timeouts.
         *
         * @param targets          weighted targets
         * @param connectTimeoutMs connect timeout
         * @param timeoutMs        response timeout
         */
        public UpstreamSpec(List<Target> targets, int connectTimeoutMs, int timeoutMs) {
            this(Optional.empty(), targets, Optional.empty(), "round_robin", Optional.empty(), 2, Optional.empty(),
                    PassiveCheck.DEFAULTS, TlsSpec.DEFAULTS, "http1", connectTimeoutMs, timeoutMs);
        }
    }

    /**
     * DNS discovery.
     *
     * @param dns       {@code host:port} (A/AAAA) or {@code _service._proto.name} (SRV)
     * @param refreshMs longest time between resolutions
     * @param scheme    {@code http} or {@code https} for the discovered targets
     */
    public record Discovery(String dns, int refreshMs, String scheme) {
    }

    /**
     * @param by   {@code header}, {@code cookie}, {@code consumer} or {@code ip}
     * @param name the header or cookie name ("" otherwise)
     */
    public record HashOn(String by, String name) {
    }

    /**
     * Active health checks.
     *
     * @param path       what is requested ({@code GET})
     * @param intervalMs time between probes of one target
     * @param timeoutMs  a probe's whole time
     * @param healthy    good probes in a row that bring an unhealthy target back
     * @param unhealthy  failed probes in a row that take a target out
     * @param statuses   statuses that count as good; empty: 200-399
     */
    public record ActiveCheck(String path, int intervalMs, int timeoutMs, int healthy, int unhealthy,
                              Set<Integer> statuses) {
    }

    /**
     * Passive outlier ejection, from real traffic.
     *
     * @param consecutiveFailures failures in a row that eject a target
     * @param ejectMs             first ejection's length; each repeat adds as much again (up to 10×)
     * @param maxEjectedPercent   never eject more than this share of the targets
     * @param statuses            upstream statuses that count as failures (refusals, resets and timeouts always do)
     */
    public record PassiveCheck(int consecutiveFailures, int ejectMs, int maxEjectedPercent, Set<Integer> statuses) {
        /** On by default: 5 failures in a row, 30 s, at most half the targets; 502, 503, 504 count. */
        public static final PassiveCheck DEFAULTS = new PassiveCheck(5, 30_000, 50, Set.of(502, 503, 504));
    }

    /**
     * TLS to {@code https://} targets.
     *
     * @param verify     check the chain and the name
     * @param ca         PEM CA certificates ("" for the JDK's trust store)
     * @param sni        server name ("" for the target's host)
     * @param clientCert PEM chain for mutual TLS ("" for none)
     * @param clientKey  its PKCS#8 PEM key ("" for none)
     */
    public record TlsSpec(boolean verify, String ca, String sni, String clientCert, String clientKey) {
        /** Verify against the JDK's trust store, no client certificate. */
        public static final TlsSpec DEFAULTS = new TlsSpec(true, "", "", "", "");

        @Override
        public String toString() {
            return "TlsSpec[verify=" + verify + ", sni=" + sni + ", ca=" + (ca.isEmpty() ? "default" : "pem")
                    + ", client=" + !clientCert.isEmpty() + "]";
        }
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
