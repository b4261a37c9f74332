package io.sluice.runtime.proxy;

import io.sluice.plugin.Consumer;
import io.sluice.plugin.Consumers;
import io.sluice.plugin.Exchange;
import io.sluice.plugin.Headers;
import io.sluice.plugin.Request;
import io.sluice.plugin.Response;
import io.sluice.plugin.RouteInfo;
import io.sluice.runtime.upstream.UpstreamResponse;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The runtime's {@link Exchange}: the request as it will go upstream, and later the response.
 */
final class ProxyExchange implements Exchange, Request {
    private String method;
    private String path;
    private String query;
    private final Headers headers;
    private final RouteInfo route;
    private final String clientAddress;
    private final String requestId;
    private Map<String, Object> vars;
    private Consumer consumer;
    private final Consumers consumers;
    private final CompiledRoute compiled;
    CompiledRoute.Group group;
    /** The snapshot's shared upstreams, by id (what a group naming one uses). */
    java.util.Map<String, io.sluice.runtime.upstream.Upstream> shared = java.util.Map.of();
    byte[] body;            // buffered request body, when a filter asked or set one
    boolean bodyReplaced;
    long bodyLimit = -1;
    ProxyResponse response;
    // what the request cost, for metrics and Filter.onComplete
    final long[] filterNanos;   // per chain position, both sides
    int reached;                // filters whose onRequest ran
    long upstreamNanos = -1;
    String upstreamTarget;
    long requestBytes = -1;
    long responseBytes = -1;
    String error;
    /** The request came on an HTTP/2 stream. */
    boolean http2;
    /** A WebSocket opening handshake's key, else null. */
    String websocketKey;
    /** The upstream connection that switched to WebSocket, once the client is to get the 101; else null. */
    io.sluice.runtime.upstream.Switched switched;
    /** The 101 the client gets. */
    byte[] switchHead;
    /** The client's request is a gRPC call: the gateway's own errors are answered as gRPC statuses. */
    boolean grpc;
    /** The request's span when tracing is on and the request is sampled, else null. */
    io.opentelemetry.api.trace.Span span;
    /**
     * The request's span when tracing is on and the request is not sampled (not recording), else null: no filter or
     * upstream spans are started under it (each would cost a span builder and be dropped), but its context is the
     * {@code traceparent} sent upstream, so the trace id stays the one in the node's logs.
     */
    io.opentelemetry.api.trace.Span unsampled;

    /** How a path a filter sets is canonicalised: the same rules as the client's. */
    private final io.sluice.runtime.edge.CanonicalPath.Options pathOptions;

    ProxyExchange(String method, String path, String query, Headers headers, RouteInfo route,
                  String clientAddress, String requestId, CompiledRoute compiled, Consumers consumers,
                  io.sluice.runtime.edge.CanonicalPath.Options pathOptions) {
        this.pathOptions = pathOptions;
        this.compiled = compiled;
        this.group = compiled == null ? null : compiled.upstream();
        this.consumers = consumers;
        this.method = method;
        this.path = path;
        this.query = query;
        this.headers = headers;
        this.route = route;
        this.clientAddress = clientAddress;
        this.requestId = requestId;
        this.filterNanos = new long[compiled == null ? 0 : compiled.chain().length];
    }

    @Override
    public Request request() {
        return this;
    }

    @Override
    public Optional<Response> response() {
        return Optional.ofNullable(response);
    }

    @Override
    public Optional<Consumer> consumer() {
        return Optional.ofNullable(consumer);
    }

    @Override
    public void consumer(Consumer consumer) {
        this.consumer = consumer;
    }

    @Override
    public Consumers consumers() {
        return consumers;
    }

    @Override
    public String upstream() {
        return group.name();
    }

    @Override
    public void upstream(String name) {
        CompiledRoute.Group g = compiled.groups().get(name);
        if (g == null) {
            throw new IllegalArgumentException("route '" + route.id() + "' has no upstream group '" + name + "'");
        }
        group = g;
    }

    @Override
    public RouteInfo route() {
        return route;
    }

    @Override
    public Map<String, Object> vars() {
        if (vars == null) {
            vars = new HashMap<>();
        }
        return vars;
    }

    @Override
    public String clientAddress() {
        return clientAddress;
    }

    @Override
    public String requestId() {
        return requestId;
    }

    @Override
    public String method() {
        return method;
    }

    @Override
    public void method(String method) {
        if (method == null || method.isEmpty() || method.length() > 32 || !method.chars().allMatch(c -> c > 32
                && c < 127 && "()<>@,;:\\\"/[]?={}".indexOf(c) < 0)) {
            throw new IllegalArgumentException("not an HTTP method token: " + method);
        }
        this.method = method;
    }

    @Override
    public String path() {
        return path;
    }

    @Override
    public void path(String path) {
        if (path == null || !path.startsWith("/")) {
            throw new IllegalArgumentException("path must start with '/': " + path);
        }
        try {
            // a filter's path is held to the client's rules: no dot segment, control character or backslash
            // reaches the upstream through a rewrite either
            this.path = io.sluice.runtime.edge.CanonicalPath.of(path, pathOptions);
        } catch (io.sluice.runtime.edge.CanonicalPath.BadPath e) {
            throw new IllegalArgumentException("bad path set by a filter: " + e.getMessage());
        }
    }

    @Override
    public String query() {
        return query;
    }

    @Override
    public void query(String query) {
        this.query = query == null ? "" : query;
    }

    @Override
    public Headers headers() {
        return headers;
    }

    @Override
    public Optional<byte[]> body() {
        return Optional.ofNullable(body);
    }

    @Override
    public void body(byte[] body) {
        this.body = body.clone();
        this.bodyReplaced = true;
    }

    @Override
    public void limitBody(long maxBytes) {
        bodyLimit = bodyLimit < 0 ? maxBytes : Math.min(bodyLimit, maxBytes);
    }

    /** The response on its way to the client: from upstream (maybe still streaming) or from a filter. */
    static final class ProxyResponse implements Response {
        private int status;
        private final Headers headers;
        byte[] body;                 // buffered or filter-made body
        UpstreamResponse upstream;   // streaming source while body == null
        Headers trailers;            // trailer fields, once the upstream body was read (null before)

        ProxyResponse(int status, Headers headers, byte[] body, UpstreamResponse upstream) {
            this.status = status;
            this.headers = headers;
            this.body = body;
            this.upstream = upstream;
        }

        @Override
        public int status() {
            return status;
        }

        @Override
        public void status(int status) {
            if (status < 100 || status > 599) {
                throw new IllegalArgumentException("status must be 100..599: " + status);
            }
            this.status = status;
        }

        @Override
        public Headers headers() {
            return headers;
        }

        @Override
        public Optional<byte[]> body() {
            return Optional.ofNullable(body);
        }

        @Override
        public void body(byte[] body) {
            this.body = body.clone();
            discardUpstream();
        }

        @Override
        public Headers trailers() {
            if (trailers == null) {
                trailers = new Headers();
            }
            return trailers;
        }

        void discardUpstream() {
            if (upstream != null) {
                try {
                    upstream.body().close();
                } catch (IOException ignored) {
                    // the connection is closed either way
                }
                upstream = null;
            }
        }
    }
}
