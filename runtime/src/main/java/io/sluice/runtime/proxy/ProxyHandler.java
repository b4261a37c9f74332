package io.sluice.runtime.proxy;

import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.HeaderValues;
import io.helidon.http.ServerRequestHeaders;
import io.helidon.http.ServerResponseHeaders;
import io.helidon.http.Status;
import io.helidon.webserver.CloseConnectionException;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.RoutingResponse;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.sluice.plugin.Completion;
import io.sluice.plugin.Headers;
import io.sluice.plugin.Outcome;
import io.sluice.plugin.RouteInfo;
import io.sluice.plugin.UpstreamPolicy;
import io.sluice.registry.config.GatewayConfig.OnError;
import io.sluice.runtime.edge.CanonicalPath;
import io.sluice.runtime.edge.EdgeConnections;
import io.sluice.runtime.edge.EdgePolicy;
import io.sluice.runtime.observe.AccessLog;
import io.sluice.runtime.observe.RouteMeters;
import io.sluice.runtime.observe.Telemetry;
import io.sluice.runtime.observe.Tracing;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.context.Scope;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.sluice.runtime.routing.Router;
import io.sluice.registry.config.GatewayConfig;
import io.sluice.runtime.upstream.ClientBodyException;
import io.sluice.runtime.upstream.Endpoint;
import io.sluice.runtime.upstream.ReadAhead;
import io.sluice.runtime.upstream.Upstream;
import io.sluice.runtime.upstream.RequestBody;
import io.sluice.runtime.upstream.UpstreamException;
import io.sluice.runtime.upstream.UpstreamRequest;
import io.sluice.runtime.upstream.UpstreamResponse;

import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.SequenceInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The data plane's one request path: framing checks, route lookup, request-side chain, upstream call,
 * response-side chain in reverse, response to the client. Runs on the request's virtual thread.
 */
public final class ProxyHandler implements Handler {
    private static final System.Logger LOG = System.getLogger(ProxyHandler.class.getName());
    /** Bodies up to this size are read whole before the upstream is contacted (and sent with Content-Length). */
    static final int PREBUFFER = 64 * 1024;
    /** Largest body buffered for a filter that reads bodies. */
    static final int MAX_BUFFERED_BODY = 16 * 1024 * 1024;

    private final Gateway gateway;

    /**
     * @param gateway the snapshot holder
     */
    public ProxyHandler(Gateway gateway) {
        this.gateway = gateway;
    }

    @Override
    public void handle(ServerRequest req, ServerResponse res) {
        long start = System.nanoTime();
        ConfigSnapshot snapshot = gateway.enter();   // this request stays on this snapshot
        int maxFrame = snapshot.edge().settings().websocketMaxFrameBytes();
        ProxyExchange ex = null;
        try {
            ex = handle(req, res, snapshot, start);
        } finally {
            gateway.exit(snapshot);
            EdgeConnections.requestDone();
            AccessLog log = gateway.accessLog();
            if (log.on()) {
                log.log(accessEntry(req, res, ex, start));
            }
        }
        if (ex != null && ex.switched != null) {
            // the handshake is done (logged, measured, its snapshot left): the connection is the relay's now
            relay(ex, maxFrame);
        }
        if (res.isSent() && res.headers().contains(HeaderValues.CONNECTION_CLOSE)) {   // never set on HTTP/2
            // Helidon says "Connection: close" but would go on reading: nothing after this request is read
            throw new CloseConnectionException("connection closed after the response");
        }
        // Helidon reads the connection's next request as soon as this returns; the client has rarely sent it yet
        ReadAhead.beforeRead();
    }

    /** @return the exchange, when a route matched */
    private ProxyExchange handle(ServerRequest req, ServerResponse res, ConfigSnapshot snapshot, long start) {
        EdgeConnections.headReceived();
        String method = req.prologue().method().text();
        ServerRequestHeaders reqHeaders = req.headers();
        boolean h2 = http2(req);
        long contentLength;
        try {
            contentLength = checkFraming(req, h2);
        } catch (BadFraming e) {
            closeAfter(res, h2);
            send(req, res, Outcome.error(400, "bad_request", e.getMessage()));
            // the body's bytes must never be read as the next request on this connection
            endConnection(h2, "bad request head: " + e.getMessage());
            return null;
        }
        // RFC 8441 (WebSocket over HTTP/2) is not offered: on HTTP/2, and on HTTP/1.0, Upgrade is just dropped
        String websocketKey = h2 || !EdgeConnections.canTakeOver() ? null
                : WebSocketHandshake.key(method, reqHeaders, contentLength);
        if (h2) {
            // HTTP/2 frames its own messages: no connection-level headers, nothing to close
        } else if (EdgeConnections.http10() || clientCloses(reqHeaders)) {
            // the client's last request: nothing after it is read (HTTP/1.0 keep-alive is not offered)
            res.header(HeaderValues.CONNECTION_CLOSE);
        }
        String target = req.path().rawPath();
        String authority;
        if (h2) {
            // RFC 9113 §8.3.1: :authority, else Host
            authority = req.authority();
            if (authority == null || authority.isEmpty()) {
                List<String> hosts = reqHeaders.all(HeaderNames.HOST, List::of);
                authority = hosts.size() == 1 ? hosts.getFirst() : null;
            }
        } else if (target.length() > 0 && target.charAt(0) != '/' && isAbsoluteForm(target)) {
            // RFC 9112 §3.2.2: the target's authority replaces Host; only its path is routed and forwarded
            int from = target.indexOf("//") + 2;
            int slash = target.indexOf('/', from);
            authority = target.substring(from, slash < 0 ? target.length() : slash);
            target = slash < 0 ? "/" : target.substring(slash);
        } else {
            List<String> hosts = reqHeaders.all(HeaderNames.HOST, List::of);
            authority = hosts.size() == 1 ? hosts.getFirst() : null;
        }
        String host = hostOf(authority);
        if (host == null && authority == null && EdgeConnections.http10()) {
            host = "";   // HTTP/1.0 has no Host: only routes without hosts match
            authority = "";
        } else if (host == null) {
            closeAfter(res, h2);
            send(req, res, Outcome.error(400, "bad_request", "exactly one valid Host header is required"));
            endConnection(h2, "bad Host header");
            return null;
        }
        EdgePolicy edge = snapshot.edge();
        String path;
        try {
            path = CanonicalPath.of(target, edge.pathOptions());
        } catch (CanonicalPath.BadPath e) {
            send(req, res, Outcome.error(400, "bad_path", e.getMessage()));
            NO_ROUTE.request(400, System.nanoTime() - start);
            return null;
        }
        String peer = clientAddress(req.remotePeer().address());
        boolean trustedPeer = edge.trusted(peer);
        String client = trustedPeer ? edge.clientAddress(peer, joined(reqHeaders, X_FORWARDED_FOR),
                joined(reqHeaders, FORWARDED)) : peer;
        Tracing tracing = gateway.tracing();
        Request r = new Request(method, contentLength, path, authority, host, peer, trustedPeer, client,
                websocketKey);
        if (!tracing.on()) {
            return route(req, res, snapshot, start, r, null);
        }
        Span span = tracing.startRequest(reqHeaders, REQUEST_HEADERS, method, path, client);
        ProxyExchange ex = null;
        try (Scope ignored = span.makeCurrent()) {   // log records of this request carry its trace id
            ex = route(req, res, snapshot, start, r, span);
        } finally {
            Tracing.end(span, status(res, ex), ex == null ? null : ex.error);
        }
        return ex;
    }

    /** The access log's view of a finished request; the line itself is formatted on the log's own thread. */
    private static AccessLog.Entry accessEntry(ServerRequest req, ServerResponse res, ProxyExchange ex, long start) {
        long nanos = System.nanoTime() - start;
        long arrived = System.currentTimeMillis() - nanos / 1_000_000;
        ServerRequestHeaders h = req.headers();
        String query = req.query().rawValue();
        String target = query.isEmpty() ? req.path().rawPath() : req.path().rawPath() + "?" + query;
        boolean sent = res.isSent();
        long bytes = sent && res instanceof RoutingResponse rr ? rr.bytesWritten() : -1;
        int status = status(res, ex);
        String client = ex != null ? ex.clientAddress() : clientAddress(req.remotePeer().address());
        return new AccessLog.Entry(arrived, client, req.prologue().method().text(), target,
                req.prologue().rawProtocol(), status, bytes,
                h.first(HeaderNames.REFERER).orElse(null), h.first(HeaderNames.USER_AGENT).orElse(null), nanos,
                ex == null ? null : ex.route().id(), ex == null ? null : ex.requestId(),
                ex == null ? null : ex.consumer().map(io.sluice.plugin.Consumer::id).orElse(null),
                ex == null ? null : ex.upstreamTarget, ex == null ? errorOf(res) : ex.error);
    }

    /** The error code of a response the gateway answered itself before routing (400s carry none here). */
    private static String errorOf(ServerResponse res) {
        if (!res.isSent()) {
            return null;
        }
        return switch (res.status().code()) {
            case 404 -> "no_route";
            case 405 -> "method_not_allowed";
            default -> null;
        };
    }

    /**
     * What the edge made of a request's head: the canonical path, the authority, who the client is, and the key of
     * a WebSocket opening handshake (else null).
     */
    private record Request(String method, long contentLength, String path, String authority, String host,
                           String peer, boolean trustedPeer, String client, String websocketKey) {
    }

    /** The status the client got: 101 for a switched connection (written raw, not through Helidon), 0 for none. */
    private static int status(ServerResponse res, ProxyExchange ex) {
        if (ex != null && ex.switched != null) {
            return 101;
        }
        return res.isSent() ? res.status().code() : 0;
    }

    /** Relays a switched WebSocket connection to its end; Helidon then closes the connection without a word. */
    private static void relay(ProxyExchange ex, int maxFrame) {
        EdgeConnections.Tunnel tunnel = EdgeConnections.takeOver().orElse(null);
        if (tunnel == null) {   // checked before the handshake was forwarded: cannot happen
            ex.switched.close();
            throw new CloseConnectionException("connection cannot be taken over");
        }
        WebSocketRelay.run(tunnel, ex.switched, ex.switchHead, ex.route().id(), maxFrame);
        throw new CloseConnectionException("WebSocket connection ended");
    }

    private static final HeaderName FORWARDED = HeaderNames.create("Forwarded");
    private static final HeaderName X_FORWARDED_FOR = HeaderNames.create("X-Forwarded-For");

    private static String joined(ServerRequestHeaders headers, HeaderName name) {
        List<String> values = headers.all(name, List::of);
        return values.isEmpty() ? null : values.size() == 1 ? values.getFirst() : String.join(", ", values);
    }

    /** {@code http://} or {@code https://}, any case: an absolute-form request target. */
    private static boolean isAbsoluteForm(String target) {
        return target.regionMatches(true, 0, "http://", 0, 7) || target.regionMatches(true, 0, "https://", 0, 8);
    }

    /** Whether the client's Connection header carries {@code close} (any case, anywhere in the list). */
    private static boolean clientCloses(ServerRequestHeaders headers) {
        List<String> values = headers.all(HeaderNames.CONNECTION, List::of);
        for (int i = 0; i < values.size(); i++) {
            String v = values.get(i);
            if (v.length() == 10 && v.equalsIgnoreCase("keep-alive")) {
                continue;
            }
            for (String token : v.split(",")) {
                if (token.strip().equalsIgnoreCase("close")) {
                    return true;
                }
            }
        }
        return false;
    }

    /** @return the exchange, when a route matched */
    private ProxyExchange route(ServerRequest req, ServerResponse res, ConfigSnapshot snapshot, long start,
                                Request r, Span span) {
        String method = r.method();
        Router.Result<Integer> match = snapshot.router().lookup(method, r.host(), r.path());
        switch (match) {
            case Router.NotFound<Integer> nf -> {
                send(req, res, Outcome.error(404, "no_route", "no route for " + method + " " + r.path()));
                NO_ROUTE.request(404, System.nanoTime() - start);
                return null;
            }
            case Router.MethodNotAllowed<Integer> mna -> {
                res.header(HeaderNames.ALLOW, String.join(", ", mna.allowed()));
                send(req, res, Outcome.error(405, "method_not_allowed", method + " is not allowed here"));
                NO_ROUTE.request(405, System.nanoTime() - start);
                return null;
            }
            case Router.Found<Integer> found -> {
                CompiledRoute route = snapshot.table()[found.route()];
                String clientSubject = null;
                if (route.spec().tls() != GatewayConfig.RouteTls.NONE) {
                    Outcome.Respond refused = connectionRefused(req, r, route);
                    if (refused != null) {
                        send(req, res, refused);
                        route.meters().request(refused.status(), System.nanoTime() - start);
                        return null;
                    }
                    clientSubject = clientSubject(req, route);
                }
                ProxyExchange ex;
                try {
                    ex = exchange(req, r, route, found.params(), snapshot);
                } catch (ForwardHeaders.BadValue e) {
                    boolean h2 = http2(req);
                    closeAfter(res, h2);
                    send(req, res, Outcome.error(400, "bad_request", e.getMessage()));
                    endConnection(h2, "bad header value");
                    return null;
                }
                if (clientSubject != null) {
                    ex.request().headers().set(route.spec().tls().clientSubjectHeader(), clientSubject);
                }
                if (span != null && span.isRecording()) {
                    ex.span = span;
                    Tracing.routed(span, method, route.spec().id(), ex.requestId());
                } else if (span != null) {
                    ex.unsampled = span;   // not sampled: no child spans, but its context goes upstream
                }
                try {
                    proxy(req, res, ex, method, r.contentLength(), route);
                } finally {
                    complete(res, ex, route, start);
                }
                return ex;
            }
        }
    }

    /**
     * A route's demands on the connection ({@code tls}): a plain-port request redirected to the TLS port, a missing
     * or unverifiable client certificate refused.
     *
     * @return the answer instead of proxying, or null to go on
     */
    private Outcome.Respond connectionRefused(ServerRequest req, Request r, CompiledRoute route) {
        GatewayConfig.RouteTls tls = route.spec().tls();
        int httpsPort = gateway.httpsPort();
        if (tls.httpsRedirect() && !req.isSecure() && httpsPort >= 0) {
            String query = req.query().rawValue();
            String host = r.host().isEmpty() ? "localhost" : r.host();
            String location = "https://" + host + (httpsPort == 443 ? "" : ":" + httpsPort) + req.path().rawPath()
                    + (query.isEmpty() ? "" : "?" + query);
            boolean safe = r.method().equals("GET") || r.method().equals("HEAD");
            return Outcome.respond(safe ? 301 : 308, new Headers().set("Location", location), new byte[0]);
        }
        if (route.clientCerts() == null) {
            return null;
        }
        java.security.cert.Certificate[] chain = req.isSecure()
                ? req.remotePeer().tlsCertificates().orElse(null) : null;
        if (chain == null || chain.length == 0) {
            return Outcome.error(401, "client_certificate_required",
                    "this route needs a client certificate (mutual TLS on the TLS port)");
        }
        if (route.clientCerts().check(chain) instanceof io.sluice.runtime.tls.ClientCertificates.Invalid bad) {
            return Outcome.error(403, "client_certificate_invalid", "the client certificate is not accepted here: "
                    + bad.reason());
        }
        return null;
    }

    /** The verified client certificate's subject, as a header value (non-ASCII percent-encoded); null without mTLS. */
    private static String clientSubject(ServerRequest req, CompiledRoute route) {
        if (route.clientCerts() == null) {
            return null;
        }
        var checked = route.clientCerts().check(req.remotePeer().tlsCertificates().orElseThrow());
        String subject = ((io.sluice.runtime.tls.ClientCertificates.Verified) checked).subject();
        StringBuilder out = new StringBuilder(subject.length());
        for (byte b : subject.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
            if (b >= 0x20 && b < 0x7f && b != '%') {
                out.append((char) b);
            } else {
                out.append('%').append(Character.toUpperCase(Character.forDigit((b >> 4) & 0xf, 16)))
                        .append(Character.toUpperCase(Character.forDigit(b & 0xf, 16)));
            }
        }
        return out.toString();
    }

    /** The client's headers, for the W3C trace context propagator. */
    private static final TextMapGetter<ServerRequestHeaders> REQUEST_HEADERS = new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(ServerRequestHeaders carrier) {
            return carrier.stream().map(h -> h.name()).toList();
        }

        @Override
        public String get(ServerRequestHeaders carrier, String key) {
            if (carrier == null) {
                return null;
            }
            List<String> values = carrier.all(HeaderNames.create(key), List::of);
            return values.size() == 1 ? values.getFirst() : null;   // a repeated traceparent is not trusted
        }
    };

    private static ProxyExchange exchange(ServerRequest req, Request r, CompiledRoute route,
                                          java.util.Map<String, String> params, ConfigSnapshot snapshot) {
        Headers headers = new Headers();
        String requestId = ForwardHeaders.copy(req.headers(), headers, r.peer(), r.trustedPeer(), r.authority(),
                req.isSecure() ? "https" : "http");
        String path = stripPrefix(r.path(), route.spec().stripPrefix().orElse(null));
        ProxyExchange ex = new ProxyExchange(r.method(), path, req.query().rawValue(), headers,
                new RouteInfo(route.spec().id(), params), r.client(), requestId, route, snapshot.consumers(),
                snapshot.edge().pathOptions());
        ex.shared = snapshot.shared();
        ex.http2 = http2(req);
        if (r.websocketKey() != null && route.aggregate() == null) {   // an aggregate route's calls are plain
            ex.websocketKey = r.websocketKey();
            WebSocketHandshake.askUpstream(headers);   // after the client's copies were dropped as hop-by-hop
        }
        ex.grpc = GrpcErrors.isGrpc(ex.http2, req.headers());
        return ex;
    }

    /** @return whether the request came on an HTTP/2 stream */
    static boolean http2(ServerRequest req) {
        return req.prologue().protocolVersion().equals("2.0");
    }

    /** The response is the connection's last (HTTP/1.x; an HTTP/2 stream has no connection of its own). */
    private static void closeAfter(ServerResponse res, boolean h2) {
        if (!h2) {
            res.header(HeaderValues.CONNECTION_CLOSE);
        }
    }

    /** After a response to a request whose bytes cannot be trusted: HTTP/1.x ends the connection. */
    private static void endConnection(boolean h2, String why) {
        if (!h2) {
            throw new CloseConnectionException(why);
        }
    }

    private void proxy(ServerRequest req, ServerResponse res, ProxyExchange ex, String method, long contentLength,
                       CompiledRoute route) {
        Headers headers = ex.request().headers();
        String requestId = ex.requestId();
        ex.requestBytes = contentLength;
        boolean hasEntity = req.content().hasEntity();
        BoundBody body = null;
        try {
            if (route.bufferRequest()) {
                if (hasEntity) {
                    body = readBody(req, ex, contentLength, MAX_BUFFERED_BODY, true);
                    if (body.tooLarge != null) {
                        tooLarge(res, ex, route, body.tooLarge);
                        return;
                    }
                } else {
                    ex.body = new byte[0];   // filters that read bodies see an empty one; upstream still gets none
                }
            }
            // request side, in order; a short-circuit skips the rest
            BoundFilterRun run = runRequestSide(route, ex);
            if (run.outcome instanceof Outcome.Respond r) {
                finish(res, ex, route, run.index, r);
                return;
            }
            if (route.aggregate() != null) {
                aggregate(res, ex, route);
                return;
            }
            RequestBody upstreamBody;
            if (ex.websocketKey != null) {
                upstreamBody = RequestBody.NONE;   // a handshake has no body, and says no Content-Length
            } else if (ex.bodyReplaced || body != null) {
                upstreamBody = new RequestBody.Buffered(ex.body, ex.body.length);
            } else if (!hasEntity) {
                upstreamBody = contentLength == 0 ? new RequestBody.Buffered(new byte[0], 0) : RequestBody.NONE;
            } else {
                body = readBody(req, ex, contentLength, PREBUFFER, false);
                if (body.tooLarge != null) {
                    tooLarge(res, ex, route, body.tooLarge);
                    return;
                }
                upstreamBody = body.upstream;
            }
            UpstreamResponse up = callUpstream(res, ex, route, ex.method(), headers, upstreamBody);
            if (up == null) {
                return;   // a policy refused the call and its response was sent
            }
            if (up.status() == 101) {
                switched(res, ex, route, up);
                return;
            }
            ex.response = new ProxyExchange.ProxyResponse(up.status(), up.headers(), null, up);
            if (route.bufferResponse()) {
                ex.response.body = up.readBody(MAX_BUFFERED_BODY);
                ex.response.upstream = null;
                ex.response.trailers = up.trailers().get();   // known now that the body is read
            }
            runResponseSide(route, ex, route.chain().length - 1);
            write(res, ex);
        } catch (UpstreamException e) {
            boolean timeout = e.kind() == UpstreamException.Kind.TIMEOUT;
            ex.error = timeout ? "upstream_timeout" : "upstream_error";
            LOG.log(Level.DEBUG, () -> "upstream failure on route " + route.spec().id() + ": " + e.getMessage());
            finish(res, ex, route, route.chain().length, timeout
                    ? Outcome.error(504, "gateway_timeout", e.getMessage())
                    : Outcome.error(502, "bad_gateway", e.getMessage()));
        } catch (ClientBodyException e) {
            clientBodyFailed(res, ex, route, e.getCause());
        } catch (BadBody e) {
            clientBodyFailed(res, ex, route, e.getCause());
        } catch (IOException e) {
            // the upstream broke off inside its body, or the client went away while we wrote to it
            LOG.log(Level.DEBUG, () -> "request " + requestId + " aborted: " + e);
            ex.error = "aborted";
            if (ex.response != null) {
                ex.response.discardUpstream();
            }
            if (res.isSent()) {
                throw new CloseConnectionException("response broke off: " + e.getMessage(), e);
            }
            res.headers().clear();   // drop the upstream's head, it will not be sent
            send(ex, res, Outcome.error(502, "bad_gateway", "upstream response broke off: " + e.getMessage()));
        }
    }

    /**
     * The upstream accepted a WebSocket handshake: its 101 is checked, goes through the response side of the chain
     * like any response, and (unless a filter answered instead) becomes the 101 the relay writes to the client.
     */
    private void switched(ServerResponse res, ProxyExchange ex, CompiledRoute route, UpstreamResponse up)
            throws IOException {
        Headers relayed;
        try {
            relayed = WebSocketHandshake.checkSwitch(ex.websocketKey, up.headers());
        } catch (IllegalArgumentException e) {
            up.body().close();
            throw new UpstreamException(UpstreamException.Kind.PROTOCOL, e.getMessage());
        }
        ex.response = new ProxyExchange.ProxyResponse(101, relayed, null, up);
        runResponseSide(route, ex, route.chain().length - 1);
        ProxyExchange.ProxyResponse r = ex.response;
        if (r.status() == 101 && r.upstream == up && r.body == null) {
            r.headers().remove("X-Request-Id");   // ours replaces the upstream's
            r.headers().add("X-Request-Id", ex.requestId());
            ex.switched = (io.sluice.runtime.upstream.Switched) up.body();
            ex.switchHead = WebSocketHandshake.switchingHead(r.headers());
            return;
        }
        r.discardUpstream();   // a filter answered instead: no tunnel
        if (r.body == null) {
            r.body = new byte[0];
        }
        if (r.status() < 200) {
            r.status(502);
        }
        write(res, ex);
    }

    /**
     * An aggregate route in place of the upstream call: the fan-out's merged JSON (or its error, when a required
     * call failed) goes through the response side of the chain like an upstream's buffered response.
     */
    private void aggregate(ServerResponse res, ProxyExchange ex, CompiledRoute route) throws IOException {
        switch (route.aggregate().run(ex, gateway.client(), route.policies(), route.meters(),
                gateway.tracing())) {
            case Aggregator.Failed f -> {
                ex.error = f.refused() ? "upstream_refused" : f.timedOut() ? "upstream_timeout" : "upstream_error";
                finish(res, ex, route, route.chain().length, f.response());
            }
            case Aggregator.Merged m -> {
                Headers headers = new Headers();
                headers.set("Content-Type", "application/json");
                ex.response = new ProxyExchange.ProxyResponse(200, headers, m.body(), null);
                runResponseSide(route, ex, route.chain().length - 1);
                write(res, ex);
            }
        }
    }

    /** At most this many attempts per request, whatever the policies ask. */
    private static final int MAX_ATTEMPTS = 5;
    private static final UpstreamPolicy.Attempt[] NO_TICKETS = new UpstreamPolicy.Attempt[0];

    /**
     * Calls the upstream, under the route's policies (circuit breakers, bulkheads, retries): each is asked before
     * every attempt and told its result; a retry is made when one asks and the body can be sent again.
     *
     * <p>Failover: the upstream's balancer picks each attempt's target, never one this request already tried while
     * another is left. A policy refusing a target (an open circuit) means "pick another", and its answer is sent only
     * when no target is left. A connect failure (nothing was sent) moves to another target for any request; a failure
     * after sending does so for an idempotent request with a replayable body; both within the upstream's
     * {@code retries}. Every attempt's result feeds the target's passive health.
     *
     * @return the response, or null when a policy refused the call (its response was sent)
     */
    private UpstreamResponse callUpstream(ServerResponse res, ProxyExchange ex, CompiledRoute route, String method,
                                          Headers headers, RequestBody body) throws UpstreamException, IOException {
        UpstreamPolicy[] policies = route.policies();
        Upstream upstream = ex.group.upstream() != null ? ex.group.upstream() : ex.shared.get(ex.group.shared());
        GatewayConfig.UpstreamSpec spec = upstream.spec();
        String hashKey = upstream.hashes() ? hashKey(ex, spec.hashOn().orElse(null), headers) : null;
        boolean idempotent = IDEMPOTENT.contains(method);
        Endpoint[] tried = null;
        int triedCount = 0;
        int sends = 0;
        int failovers = 0;
        Outcome.Respond refusedAnswer = null;
        UpstreamException lastFailure = null;
        boolean policyRetry = false;
        while (true) {
            Endpoint target = upstream.pick(hashKey, tried);
            if (target == null && policyRetry) {
                // a policy's retry prefers a target not tried yet, but may go to any
                tried = null;
                triedCount = 0;
                target = upstream.pick(hashKey, null);
            }
            policyRetry = false;
            if (target == null) {
                if (refusedAnswer != null) {
                    if (ex.error == null) {
                        ex.error = "upstream_refused";
                    }
                    finish(res, ex, route, route.chain().length, refusedAnswer);
                    return null;
                }
                if (lastFailure != null) {
                    throw lastFailure;
                }
                ex.error = "no_upstream_target";
                Outcome.Respond none = Outcome.error(503, "no_upstream_target", "upstream "
                        + upstream.key().substring(upstream.key().indexOf(':') + 1) + " has no target to send to");
                none.headers().set("Retry-After", "1");
                finish(res, ex, route, route.chain().length, none);
                return null;
            }
            ex.upstreamTarget = target.url();
            UpstreamPolicy.Attempt[] tickets = policies.length == 0 ? NO_TICKETS
                    : new UpstreamPolicy.Attempt[policies.length];
            Outcome.Respond refused = null;
            for (int i = 0; i < policies.length; i++) {
                tickets[i] = policies[i].begin(ex, target.url(), sends + 1);
                refused = tickets[i].refused();
                if (refused != null) {
                    for (int j = 0; j < i; j++) {
                        tickets[j].abandoned();
                    }
                    break;
                }
            }
            if (refused != null) {
                refusedAnswer = refused;   // this target is refused (circuit open): another one may not be
                if (triedCount >= MAX_REFUSED_TARGETS) {
                    ex.error = "upstream_refused";
                    finish(res, ex, route, route.chain().length, refused);
                    return null;
                }
                tried = remember(tried, triedCount++, target);
                continue;
            }
            sends++;
            String upstreamTarget = target.basePath() + ex.path() + (ex.query().isEmpty() ? "" : "?" + ex.query());
            Span span = ex.span == null ? null : gateway.tracing().startUpstream(ex.span, method,
                    target.url() + ex.path() + (ex.query().isEmpty() ? "" : "?" + ex.query()), sends, headers);
            if (ex.unsampled != null && sends == 1) {
                Tracing.propagate(ex.unsampled, headers);
            }
            long sent = System.nanoTime();
            UpstreamResponse up;
            target.begin();
            try {
                UpstreamRequest request = new UpstreamRequest(method, upstreamTarget, headers, body);
                up = ex.websocketKey != null
                        ? target.transport().upgrade(request, spec.connectTimeoutMs(), spec.timeoutMs())
                        : target.transport().send(request, spec.connectTimeoutMs(), spec.timeoutMs());
            } catch (UpstreamException e) {
                ex.upstreamNanos = System.nanoTime() - sent;
                target.end(ex.upstreamNanos);
                upstream.report(target, 0, e.getMessage());
                if (span != null) {
                    Tracing.failed(span, e.kind() == UpstreamException.Kind.TIMEOUT ? "upstream_timeout"
                            : "upstream_error");
                }
                boolean retry = false;
                for (UpstreamPolicy.Attempt t : tickets) {
                    retry |= t.failed(e.kind() == UpstreamException.Kind.TIMEOUT, ex.upstreamNanos);
                }
                lastFailure = e;
                boolean failover = (!e.sent() || (idempotent && body.replayable())) && failovers < spec.retries();
                if (failover && sends < MAX_ATTEMPTS) {
                    failovers++;
                    FAILOVERS.increment();
                    tried = remember(tried, triedCount++, target);
                    continue;
                }
                if (retry && sends < MAX_ATTEMPTS && body.replayable()) {
                    policyRetry = true;
                    tried = remember(tried, triedCount++, target);
                    continue;
                }
                throw e;
            } catch (ClientBodyException | RuntimeException e) {
                target.end(System.nanoTime() - sent);
                // the client's body broke off while it was streamed: no verdict on the upstream, but the policies'
                // tickets must be given back (a bulkhead place would leak)
                for (UpstreamPolicy.Attempt t : tickets) {
                    t.abandoned();
                }
                if (span != null) {
                    Tracing.failed(span, "aborted");
                }
                throw e;
            }
            ex.upstreamNanos = System.nanoTime() - sent;
            target.end(ex.upstreamNanos);
            upstream.report(target, up.status(), null);
            if (span != null) {
                Tracing.answered(span, up.status());
            }
            boolean retry = false;
            for (UpstreamPolicy.Attempt t : tickets) {
                retry |= t.completed(up.status(), ex.upstreamNanos);
            }
            if (retry && sends < MAX_ATTEMPTS && body.replayable()) {
                new ProxyExchange.ProxyResponse(up.status(), up.headers(), null, up).discardUpstream();
                policyRetry = true;
                tried = remember(tried, triedCount++, target);
                continue;
            }
            return up;
        }
    }

    /** At most this many targets refused by a policy (open circuits) before its answer is sent. */
    private static final int MAX_REFUSED_TARGETS = 16;

    /** Adds a target to those a request tried; the array exists only once a request moves on from one. */
    private static Endpoint[] remember(Endpoint[] tried, int count, Endpoint e) {
        Endpoint[] t = tried == null ? new Endpoint[4] : count < tried.length ? tried
                : java.util.Arrays.copyOf(tried, count * 2);
        t[count] = e;
        return t;
    }

    private static final java.util.Set<String> IDEMPOTENT = java.util.Set.of("GET", "HEAD", "OPTIONS", "TRACE",
            "PUT", "DELETE");
    private static final io.micrometer.core.instrument.Counter FAILOVERS = io.micrometer.core.instrument.Counter
            .builder("sluice.upstream.failovers").description("attempts moved to another target after a failure")
            .register(io.sluice.runtime.observe.Telemetry.registry());

    /** What {@code consistent_hash} hashes for this request; null when the request has none. */
    private static String hashKey(ProxyExchange ex, GatewayConfig.HashOn on, Headers headers) {
        if (on == null) {
            return null;
        }
        return switch (on.by()) {
            case "header" -> headers.firstOrNull(on.name());
            case "cookie" -> cookie(headers, on.name());
            case "consumer" -> ex.consumer().map(io.sluice.plugin.Consumer::id).orElse(null);
            default -> ex.clientAddress();
        };
    }

    private static String cookie(Headers headers, String name) {
        for (int i = 0, n = headers.size(); i < n; i++) {
            if (!headers.name(i).equalsIgnoreCase("Cookie")) {
                continue;
            }
            for (String part : headers.value(i).split(";")) {
                int eq = part.indexOf('=');
                if (eq > 0 && part.substring(0, eq).strip().equals(name)) {
                    return part.substring(eq + 1).strip();
                }
            }
        }
        return null;
    }

    private void clientBodyFailed(ServerResponse res, ProxyExchange ex, CompiledRoute route, Throwable cause) {
        closeAfter(res, ex.http2);
        if (cause instanceof BodyLimitExceeded tooLarge) {
            finish(res, ex, route, route.chain().length, tooLarge.outcome());
        } else {
            send(ex, res, Outcome.error(400, "bad_request", "unreadable request body: " + cause.getMessage()));
        }
        // the rest of the body is still on the connection: never parse it as a request
        throw new CloseConnectionException("request body not consumed: " + cause.getMessage());
    }

    private void tooLarge(ServerResponse res, ProxyExchange ex, CompiledRoute route, Outcome.Respond r) {
        closeAfter(res, ex.http2);
        finish(res, ex, route, route.chain().length, r);
        throw new CloseConnectionException("request body over the limit");
    }

    private record BoundFilterRun(int index, Outcome outcome) {
    }

    private BoundFilterRun runRequestSide(CompiledRoute route, ProxyExchange ex) {
        CompiledRoute.BoundFilter[] chain = route.chain();
        for (int i = 0; i < chain.length; i++) {
            Outcome o;
            ex.reached = i + 1;
            Span span = ex.span == null ? null : gateway.tracing().startFilter(ex.span, chain[i].name(), "request");
            boolean ok = true;
            long t0 = System.nanoTime();
            try {
                o = chain[i].filter().onRequest(ex);
            } catch (Exception | LinkageError e) {
                ok = false;
                o = failed(route, ex, i, "onRequest", e);
            }
            ex.filterNanos[i] += System.nanoTime() - t0;
            if (span != null) {
                endFilter(span, ok, o);
            }
            if (o instanceof Outcome.Respond) {
                return new BoundFilterRun(i, o);
            }
        }
        return new BoundFilterRun(chain.length, Outcome.proceed());
    }

    /** Answers with a filter's (or the gateway's) response, after the response side of the filters before it. */
    private void finish(ServerResponse res, ProxyExchange ex, CompiledRoute route, int index, Outcome.Respond r) {
        ex.response = new ProxyExchange.ProxyResponse(r.status(), r.headers(), r.body(), null);
        runResponseSide(route, ex, index - 1);
        if (ex.grpc && !grpcAnswer(ex.response)) {
            ProxyExchange.ProxyResponse g = ex.response;
            GrpcErrors.send(res, g.status(), g.headers(), g.body, ex.requestId());
            return;
        }
        writeHead(res, ex);
        res.headers().remove(HeaderNames.CONTENT_LENGTH);
        res.send(ex.response.body);   // filter responses are always buffered
    }

    private void runResponseSide(CompiledRoute route, ProxyExchange ex, int from) {
        CompiledRoute.BoundFilter[] chain = route.chain();
        for (int i = from; i >= 0; i--) {
            Outcome o;
            Span span = ex.span == null || !chain[i].responds() ? null
                    : gateway.tracing().startFilter(ex.span, chain[i].name(), "response");
            boolean ok = true;
            long t0 = System.nanoTime();
            try {
                o = chain[i].filter().onResponse(ex);
            } catch (Exception | LinkageError e) {
                ok = false;
                o = failed(route, ex, i, "onResponse", e);
            }
            ex.filterNanos[i] += System.nanoTime() - t0;
            if (span != null) {
                endFilter(span, ok, o);
            }
            if (o instanceof Outcome.Respond r) {
                ex.response.discardUpstream();
                ex.response = new ProxyExchange.ProxyResponse(r.status(), r.headers(), r.body(), null);
            }
        }
    }

    private static void endFilter(Span span, boolean ok, Outcome o) {
        if (!ok) {
            Tracing.failed(span, "filter_error");
            return;
        }
        if (o instanceof Outcome.Respond r) {
            span.setAttribute("sluice.filter.responded", (long) r.status());
        }
        span.end();
    }

    private Outcome failed(CompiledRoute route, ProxyExchange ex, int index, String phase, Throwable e) {
        CompiledRoute.BoundFilter f = route.chain()[index];
        route.meters().filterError(index, phase);
        if (ex.error == null) {
            ex.error = "filter_error";
        }
        LOG.log(Level.WARNING, "filter '" + f.name() + "' failed in " + phase + " on route '"
                + route.spec().id() + "' (" + f.onError().name().toLowerCase(Locale.ROOT) + "): " + e, e);
        if (f.onError() == OnError.FAIL_OPEN) {
            return Outcome.proceed();
        }
        return Outcome.error(500, "filter_error", "filter '" + f.name() + "' failed");
    }

    private static final RouteMeters NO_ROUTE = new RouteMeters(Telemetry.NO_ROUTE, new String[0]);

    /** The exchange is over: metrics, then {@link io.sluice.plugin.Filter#onComplete} of the filters that ran. */
    private static void complete(ServerResponse res, ProxyExchange ex, CompiledRoute route, long start) {
        long nanos = System.nanoTime() - start;
        int status = status(res, ex);
        RouteMeters meters = route.meters();
        meters.request(status, nanos);
        if (ex.upstreamNanos >= 0) {
            meters.upstream(ex.upstreamNanos);
        }
        CompiledRoute.BoundFilter[] chain = route.chain();
        boolean completes = false;
        for (int i = 0; i < ex.reached; i++) {
            meters.filter(i, ex.filterNanos[i]);
            completes |= chain[i].completes();
        }
        if (!completes) {
            return;
        }
        List<Completion.FilterTime> times = new java.util.ArrayList<>(ex.reached);
        for (int i = 0; i < ex.reached; i++) {
            times.add(new Completion.FilterTime(chain[i].name(), ex.filterNanos[i]));
        }
        ProxyExchange.ProxyResponse r = ex.response;
        long responseBytes = r == null ? -1 : r.body != null ? r.body.length
                : r.upstream != null ? r.upstream.contentLength() : -1;
        Completion c = new Completion(status, nanos, ex.upstreamNanos, ex.upstreamTarget,
                ex.body != null ? ex.body.length : ex.requestBytes, responseBytes, List.copyOf(times), ex.error);
        for (int i = ex.reached - 1; i >= 0; i--) {
            if (chain[i].completes()) {
                try {
                    chain[i].filter().onComplete(ex, c);
                } catch (RuntimeException | LinkageError e) {
                    meters.filterError(i, "onComplete");
                    LOG.log(Level.WARNING, "filter '" + chain[i].name() + "' failed in onComplete on route '"
                            + route.spec().id() + "': " + e, e);
                }
            }
        }
    }

    private void writeHead(ServerResponse res, ProxyExchange ex) {
        ProxyExchange.ProxyResponse r = ex.response;
        res.status(Status.create(r.status()));
        Headers h = r.headers();
        ServerResponseHeaders out = res.headers();
        for (int i = 0, n = h.size(); i < n; i++) {
            String name = h.name(i);
            if (name.length() != 12 || !name.equalsIgnoreCase("X-Request-Id")) {   // ours replaces the upstream's
                out.add(headerName(name), h.value(i));
            }
        }
        out.add(X_REQUEST_ID, ex.requestId());
    }

    /** A response a gRPC client can read as it is: a success, or already gRPC. */
    private static boolean grpcAnswer(ProxyExchange.ProxyResponse r) {
        return r.status() >= 200 && r.status() < 300
                || GrpcErrors.isGrpcContentType(r.headers().firstOrNull("Content-Type"));
    }

    private void write(ServerResponse res, ProxyExchange ex) throws IOException {
        if (ex.grpc && !grpcAnswer(ex.response)) {
            ProxyExchange.ProxyResponse g = ex.response;
            byte[] body = g.body != null ? g.body : g.upstream.readBody(64 * 1024);
            GrpcErrors.send(res, g.status(), g.headers(), body, ex.requestId());
            return;
        }
        writeHead(res, ex);
        ProxyExchange.ProxyResponse r = ex.response;
        if (ex.http2 && (ex.grpc || r.headers().contains("Trailer"))) {
            writeWithTrailers(res, r);
            return;
        }
        if (r.body != null) {
            res.headers().remove(HeaderNames.CONTENT_LENGTH);
            res.send(r.body);
            return;
        }
        try {
            UpstreamResponse up = r.upstream;
            long length = up.contentLength();
            if (length == 0) {
                // no body: HEAD, 204, 304, or empty; a HEAD/304 keeps the Content-Length it describes
                res.send();
            } else if (length > 0 && length <= PREBUFFER) {
                res.headers().remove(HeaderNames.CONTENT_LENGTH);
                res.send(up.readBody(PREBUFFER));
            } else if (length < 0 && EdgeConnections.http10()) {
                // an HTTP/1.0 client cannot read chunked: the body is read whole and sent with its length
                res.headers().remove(HeaderNames.CONTENT_LENGTH);
                res.send(up.readBody(MAX_BUFFERED_BODY));
            } else {
                if (length > 0) {
                    res.headers().contentLength(length);
                }
                try (InputStream in = up.body(); OutputStream os = res.outputStream()) {
                    in.transferTo(os);
                }
            }
        } catch (IOException | RuntimeException e) {
            r.discardUpstream();
            throw e;
        }
    }

    private static final String GRPC_TRAILERS = "grpc-status, grpc-message";

    /**
     * An HTTP/2 response whose trailers matter (gRPC, or an upstream that announced some): the body streams with a
     * flush per read (a server-streaming call's messages go out as they come, not when a buffer fills), then the
     * upstream's trailers follow. Helidon sends trailers only when the head carries a {@code Trailer} header, so one
     * is declared. A response whose head already holds {@code grpc-status} is gRPC's trailers-only form and is
     * ended with its head.
     */
    private void writeWithTrailers(ServerResponse res, ProxyExchange.ProxyResponse r) throws IOException {
        res.headers().remove(HeaderNames.CONTENT_LENGTH);
        if (r.headers().contains("grpc-status")) {
            if (r.upstream != null) {
                try (InputStream in = r.upstream.body()) {
                    in.readNBytes(64 * 1024);   // empty in the trailers-only form; read to its end
                    r.trailers = r.upstream.trailers().get();
                } catch (IOException ignored) {
                    // the head is the whole answer
                }
            }
            GrpcErrors.trailersOnly(res);
            return;
        }
        String declared = r.headers().firstOrNull("Trailer");
        if (r.body != null) {
            res.headers().set(HeaderNames.TRAILER, declared != null ? declared : GRPC_TRAILERS);
            copyTrailers(r.trailers(), res);
            res.send(r.body);
            return;
        }
        UpstreamResponse up = r.upstream;
        try {
            OutputStream os = res.outputStream();
            // set after outputStream(): for "te: trailers" it declares its own stream-result trailer
            res.headers().set(HeaderNames.TRAILER, declared != null ? declared : GRPC_TRAILERS);
            byte[] buf = new byte[16 * 1024];
            try (InputStream in = up.body()) {
                int n;
                while ((n = in.read(buf)) >= 0) {
                    if (n > 0) {
                        os.write(buf, 0, n);
                        os.flush();
                    }
                }
            }
            r.trailers = up.trailers().get();
            copyTrailers(r.trailers, res);
            os.close();
        } catch (IOException | RuntimeException e) {
            r.discardUpstream();
            throw e;
        }
    }

    private static void copyTrailers(Headers trailers, ServerResponse res) {
        var out = res.trailers();
        for (int i = 0, n = trailers.size(); i < n; i++) {
            out.add(headerName(trailers.name(i)), trailers.value(i));
        }
    }

    private static final HeaderName X_REQUEST_ID = HeaderNames.create("X-Request-Id");
    private static final NameSlot[] NAMES = new NameSlot[512];

    private record NameSlot(String name, HeaderName headerName) {
    }

    /** Helidon's name object for a header, cached: the same names come back on every response. */
    private static HeaderName headerName(String name) {
        int i = name.hashCode() & (NAMES.length - 1);
        NameSlot slot = NAMES[i];
        if (slot != null && slot.name.equals(name)) {
            return slot.headerName;
        }
        HeaderName hn = HeaderNames.create(name);
        NAMES[i] = new NameSlot(name, hn);   // racy by design: slots are immutable, a lost write costs a lookup
        return hn;
    }

    /** The gateway's own answer before routing: as a gRPC status to a gRPC client. */
    private static void send(ServerRequest req, ServerResponse res, Outcome.Respond r) {
        if (r.status() >= 300 && GrpcErrors.isGrpc(http2(req), req.headers())) {
            GrpcErrors.send(res, r.status(), r.headers(), r.body(), null);
            return;
        }
        send(res, r);
    }

    private static void send(ProxyExchange ex, ServerResponse res, Outcome.Respond r) {
        if (ex.grpc && r.status() >= 300) {
            GrpcErrors.send(res, r.status(), r.headers(), r.body(), ex.requestId());
            return;
        }
        send(res, r);
    }

    private static void send(ServerResponse res, Outcome.Respond r) {
        res.status(Status.create(r.status()));
        r.headers().forEach((n, v) -> res.headers().add(headerName(n), v));
        res.send(r.body());
    }

    /** A request body read (whole, or its first part) before the upstream is contacted. */
    private static final class BoundBody {
        RequestBody upstream;
        Outcome.Respond tooLarge;
    }

    private static BoundBody readBody(ServerRequest req, ProxyExchange ex, long contentLength, int max,
                                      boolean forFilters) throws BadBody {
        BoundBody b = new BoundBody();
        if (ex.bodyLimit >= 0 && contentLength > ex.bodyLimit) {
            b.tooLarge = new BodyLimitExceeded(ex.bodyLimit).outcome();
            return b;
        }
        if (forFilters && contentLength > max) {
            b.tooLarge = new BodyLimitExceeded(max).outcome();
            return b;
        }
        InputStream in = req.content().inputStream();
        if (ex.bodyLimit >= 0) {
            in = new LimitedInputStream(in, ex.bodyLimit);
        }
        int first = contentLength >= 0 ? (int) Math.min(contentLength, max) : Math.min(8192, max);
        byte[] buf = new byte[first];
        int n = 0;
        try {
            boolean eof = false;
            while (n < max && (contentLength < 0 || n < contentLength)) {
                if (n == buf.length) {
                    buf = Arrays.copyOf(buf, Math.min(max, buf.length * 2));
                }
                int r = in.read(buf, n, buf.length - n);
                if (r < 0) {
                    eof = true;
                    break;
                }
                n += r;
            }
            if (contentLength >= 0 && n < contentLength && eof) {
                throw new EOFException("client sent " + n + " of " + contentLength + " bytes");
            }
            InputStream rest = in;
            boolean complete = contentLength >= 0 ? n >= contentLength : eof;
            if (!complete && contentLength < 0) {
                int next = in.read();   // a chunked body that ends exactly at max
                if (next < 0) {
                    complete = true;
                } else {
                    rest = new SequenceInputStream(new ByteArrayInputStream(new byte[] {(byte) next}), in);
                }
            }
            if (!complete && forFilters) {
                b.tooLarge = new BodyLimitExceeded(max).outcome();
                return b;
            }
            if (complete) {
                byte[] whole = n == buf.length ? buf : Arrays.copyOf(buf, n);
                b.upstream = new RequestBody.Buffered(whole, n);
                if (forFilters) {
                    ex.body = whole;
                }
            } else {
                b.upstream = new RequestBody.Streamed(buf, n, rest, contentLength);
            }
            return b;
        } catch (BodyLimitExceeded e) {
            b.tooLarge = e.outcome();
            return b;
        } catch (IOException | RuntimeException e) {
            throw new BadBody(e);
        }
    }

    /**
     * RFC 9112 §6.3 request framing that the gateway refuses rather than interprets (request smuggling).
     *
     * @return the declared Content-Length, or -1
     */
    private static long checkFraming(ServerRequest req, boolean h2) throws BadFraming {
        var h = req.headers();
        List<String> te = h.all(HeaderNames.TRANSFER_ENCODING, List::of);
        List<String> cl = h.all(HeaderNames.CONTENT_LENGTH, List::of);
        if (h2) {
            // RFC 9113 §8.2.2: no Transfer-Encoding; DATA frames carry the body, Content-Length only describes it
            if (!te.isEmpty()) {
                throw new BadFraming("Transfer-Encoding is not allowed in HTTP/2");
            }
            if (cl.isEmpty()) {
                return req.content().hasEntity() ? -1 : 0;
            }
        }
        if (!te.isEmpty() && !cl.isEmpty()) {
            throw new BadFraming("both Content-Length and Transfer-Encoding");
        }
        if (te.size() > 1 || (te.size() == 1 && !te.getFirst().strip().equalsIgnoreCase("chunked"))) {
            throw new BadFraming("unsupported Transfer-Encoding (only a single 'chunked' is accepted)");
        }
        if (te.size() == 1 && !req.content().hasEntity()) {
            // a spelling the server underneath did not read as chunked ("CHUNKED", "Chunked"): its body would
            // be parsed as the next request (the TE.0 smuggling shape), so the request is refused
            throw new BadFraming("Transfer-Encoding must be written 'chunked' (lower case)");
        }
        if (cl.size() > 1) {
            throw new BadFraming("duplicate Content-Length");
        }
        if (cl.size() == 1) {
            String v = cl.getFirst();
            if (v.isEmpty() || v.length() > 18 || !v.chars().allMatch(c -> c >= '0' && c <= '9')) {
                throw new BadFraming("bad Content-Length");
            }
            return Long.parseLong(v);
        }
        return te.isEmpty() ? 0 : -1;
    }

    static String stripPrefix(String path, String prefix) {
        if (prefix == null || prefix.isEmpty() || prefix.equals("/")) {
            return path;
        }
        String p = prefix.endsWith("/") ? prefix.substring(0, prefix.length() - 1) : prefix;
        if (path.startsWith(p) && (path.length() == p.length() || path.charAt(p.length()) == '/')) {
            String rest = path.substring(p.length());
            return rest.isEmpty() ? "/" : rest;
        }
        return path;
    }

    /**
     * The host part of a Host header, lower-cased, without port; null when the header is missing or malformed
     * (RFC 9112 §3.2: answered 400).
     */
    static String hostOf(String authority) {
        if (authority == null || authority.isEmpty() || authority.length() > 255) {
            return null;
        }
        int end = authority.length();
        boolean upper = false;
        if (authority.charAt(0) == '[') {
            int close = authority.indexOf(']');
            if (close < 0) {
                return null;
            }
            for (int i = 1; i < close; i++) {
                char c = authority.charAt(i);
                if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == ':' || c == '.')) {
                    return null;
                }
            }
            end = close + 1;
            if (end < authority.length() && !validPort(authority, end)) {
                return null;
            }
            return authority.substring(0, end).toLowerCase(Locale.ROOT);
        }
        for (int i = 0; i < authority.length(); i++) {
            char c = authority.charAt(i);
            if (c == ':') {
                if (i == 0 || !validPort(authority, i)) {
                    return null;
                }
                end = i;
                break;
            }
            if (c >= 'A' && c <= 'Z') {
                upper = true;
            } else if (!(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_')) {
                return null;
            }
        }
        String host = end == authority.length() ? authority : authority.substring(0, end);
        return upper ? host.toLowerCase(Locale.ROOT) : host;
    }

    private static boolean validPort(String authority, int colon) {
        int n = authority.length() - colon - 1;
        if (authority.charAt(colon) != ':' || n > 5) {
            return false;
        }
        for (int i = colon + 1; i < authority.length(); i++) {
            char c = authority.charAt(i);
            if (c < '0' || c > '9') {
                return false;
            }
        }
        return true;
    }

    private static String clientAddress(SocketAddress address) {
        if (address instanceof InetSocketAddress inet) {
            return inet.getAddress() == null ? inet.getHostString() : inet.getAddress().getHostAddress();
        }
        return String.valueOf(address);
    }

    private static final class BadFraming extends Exception {
        BadFraming(String message) {
            super(message, null, false, false);
        }
    }

    private static final class BadBody extends Exception {
        BadBody(Throwable cause) {
            super(cause.getMessage(), cause, false, false);
        }
    }
}
