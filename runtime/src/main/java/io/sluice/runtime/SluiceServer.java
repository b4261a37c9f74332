package io.sluice.runtime;

import io.helidon.http.HeaderNames;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.ErrorHandling;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.WebServerConfig;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http1.Http1Config;
import io.helidon.webserver.http2.Http2Config;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.builtin.DependencyStatus;
import io.sluice.runtime.edge.EdgeConnections;
import io.sluice.runtime.observe.Telemetry;
import io.sluice.runtime.proxy.Gateway;
import io.sluice.runtime.proxy.ProtocolErrors;
import io.sluice.runtime.proxy.ProxyHandler;
import io.sluice.runtime.upstream.UpstreamClient;

import java.time.Duration;
import java.util.Optional;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The running data plane: the proxy listener and the admin listener (health, readiness) on one Helidon
 * WebServer, both on virtual threads.
 */
public final class SluiceServer implements AutoCloseable {
    /** Largest request head accepted; larger is answered 431. */
    public static final int MAX_HEADERS_BYTES = 32 * 1024;
    /** HTTP/2: streams one client connection may have open at once (nginx's and Envoy's order of magnitude). */
    public static final int H2_MAX_CONCURRENT_STREAMS = 128;
    /** HTTP/2: per-stream receive window a client may fill before the gateway reads. */
    public static final int H2_INITIAL_WINDOW = 1024 * 1024;
    /** Largest admin request body (filter jars are uploaded through it). */
    public static final long MAX_ADMIN_BODY_BYTES = 64L * 1024 * 1024;

    private static final ObjectMapper JSON = new ObjectMapper();
    /**
     * Client connections of the proxy listeners: {@code TCP_NODELAY}, since a response often leaves in more than one
     * write (an HTTP/2 HEADERS frame then DATA, a streamed HTTP/1.1 body) and Nagle's algorithm would hold the second
     * until the client's delayed ACK, 40 ms later.
     */
    private static final io.helidon.common.socket.SocketOptions CLIENT_SOCKETS =
            io.helidon.common.socket.SocketOptions.builder().tcpNoDelay(true).build();

    private final Gateway gateway;
    private final WebServer server;

    private final boolean proxy;

    private final EdgeConnections edge;

    private SluiceServer(Gateway gateway, WebServer server, boolean proxy, EdgeConnections edge) {
        this.gateway = gateway;
        this.server = server;
        this.proxy = proxy;
        this.edge = edge;
    }

    /**
     * @return the proxy listener's connections (limits and counters), if this node proxies
     */
    public Optional<EdgeConnections> connections() {
        return Optional.ofNullable(edge);
    }

    /**
     * Starts the proxy and a plain admin listener (health, readiness), no admin API. For tests and tools.
     *
     * @param proxyHost proxy bind address
     * @param proxyPort proxy port (0 = any free)
     * @param adminHost admin bind address
     * @param adminPort admin port (0 = any free)
     * @return the running server
     */
    public static SluiceServer start(String proxyHost, int proxyPort, String adminHost, int adminPort) {
        return start(new Listeners(proxyHost, proxyPort, adminHost, adminPort, true),
                new Gateway(FilterCatalog.builtins(), new UpstreamClient()), Optional.empty(), Optional.empty());
    }

    /**
     * Where to listen.
     *
     * @param proxyHost proxy bind address
     * @param proxyPort proxy port (0 = any free)
     * @param adminHost admin bind address
     * @param adminPort admin port (0 = any free)
     * @param proxy     whether to run the proxy listener at all (a control plane does not)
     * @param tls       the TLS listener and admin TLS, if any
     */
    public record Listeners(String proxyHost, int proxyPort, String adminHost, int adminPort, boolean proxy,
                            TlsOptions tls) {
        /** Without TLS. */
        public Listeners(String proxyHost, int proxyPort, String adminHost, int adminPort, boolean proxy) {
            this(proxyHost, proxyPort, adminHost, adminPort, proxy, TlsOptions.NONE);
        }

        /**
         * @param p whether to run the proxy listener
         * @return these listeners, with or without the proxy (and its TLS listener)
         */
        public Listeners withProxy(boolean p) {
            return new Listeners(proxyHost, proxyPort, adminHost, adminPort, p, tls);
        }
    }

    /**
     * TLS of the listeners.
     *
     * @param port      the TLS proxy listener's port (on the proxy's address; 0 = any free), -1 for none
     * @param cert      the default certificate chain (PEM file), served when no certificate's SNI matches
     * @param key       its key (PEM file)
     * @param adminCert the admin listener's certificate chain (PEM file): the admin listener speaks TLS only then
     * @param adminKey  its key (PEM file)
     */
    public record TlsOptions(int port, Optional<java.nio.file.Path> cert, Optional<java.nio.file.Path> key,
                             Optional<java.nio.file.Path> adminCert, Optional<java.nio.file.Path> adminKey) {
        /** No TLS anywhere. */
        public static final TlsOptions NONE = new TlsOptions(-1, Optional.empty(), Optional.empty(), Optional.empty(),
                Optional.empty());
    }

    /**
     * Starts listening.
     *
     * @param listeners addresses
     * @param gateway   the gateway the proxy serves (closed with the server)
     * @param adminApi  the admin API served under {@code /v1} on the admin listener, if this node has one
     * @param ready     readiness other than "a config is loaded" (a control plane: its store answers)
     * @return the running server
     */
    public static SluiceServer start(Listeners listeners, Gateway gateway, Optional<HttpService> adminApi,
                                     Optional<BooleanSupplier> ready) {
        return start(listeners, gateway, adminApi, new Status(ready.orElse(gateway::loaded),
                () -> gateway.current().version(), Map::of));
    }

    /**
     * What the admin listener reports about the node at {@code /ready} and in {@code sluice_config_version}.
     *
     * @param ready        whether it is ready (a proxy: a config is loaded; a control plane: its store answers)
     * @param version      the config version it serves; on a control plane, the latest committed
     * @param dependencies its external services and their states at the last check
     */
    public record Status(BooleanSupplier ready, LongSupplier version,
                         Supplier<Map<String, DependencyStatus.State>> dependencies) {
    }

    /**
     * Starts listening.
     *
     * @param listeners addresses
     * @param gateway   the gateway the proxy serves (closed with the server)
     * @param adminApi  the admin API served under {@code /v1} on the admin listener, if this node has one
     * @param status    what {@code /ready} and {@code sluice_config_version} report
     * @return the running server
     */
    public static SluiceServer start(Listeners listeners, Gateway gateway, Optional<HttpService> adminApi,
                                     Status status) {
        Telemetry.gauge("sluice.config.version", "version of the config snapshot serving traffic (a control"
                + " plane: the latest committed)", status, st -> st.version().getAsLong());
        HttpRouting.Builder admin = HttpRouting.builder()
                .get("/health", (req, res) -> {
                    res.header(HeaderNames.CONTENT_TYPE, "application/json");
                    res.send("{\"status\":\"UP\"}");
                })
                .get("/metrics", (req, res) -> {
                    if (listeners.proxy()) {
                        io.sluice.runtime.observe.UpstreamHealthView.refresh(gateway.upstreams());
                        io.sluice.runtime.tls.CertificateMetrics.refresh(gateway.certificates());
                    }
                    res.header(HeaderNames.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8");
                    res.send(Telemetry.scrape());
                })
                .get("/ready", (req, res) -> {
                    boolean ok = status.ready().getAsBoolean();
                    res.status(ok ? io.helidon.http.Status.OK_200 : io.helidon.http.Status.SERVICE_UNAVAILABLE_503);
                    res.header(HeaderNames.CONTENT_TYPE, "application/json");
                    res.send(readiness(ok, status));
                });
        if (listeners.proxy()) {
            // this data plane's own view of a shared upstream's targets (health is judged per data plane)
            admin.get("/upstreams/{id}/health", (req, res) -> {
                String id = req.path().pathParameters().get("id");
                res.header(HeaderNames.CONTENT_TYPE, "application/json");
                var u = gateway.upstreams().shared(id);
                if (u.isEmpty()) {
                    res.status(io.helidon.http.Status.NOT_FOUND_404);
                    res.send(JSON.createObjectNode().put("error", "not_found").put("message", "no route of the "
                            + "config this data plane serves uses upstream " + id).toString());
                    return;
                }
                res.send(io.sluice.runtime.observe.UpstreamHealthView.json(u.get(), gateway.current().version())
                        .toString());
            });
        }
        adminApi.ifPresent(admin::register);
        TlsOptions tls = listeners.tls();
        Optional<io.helidon.common.tls.Tls> adminTls = tls.adminCert().map(cert -> {
            io.sluice.runtime.tls.ServerCertificates keys = new io.sluice.runtime.tls.ServerCertificates();
            keys.defaultCertificate(cert, tls.adminKey().orElseThrow());
            return io.helidon.common.tls.Tls.builder().sslContext(keys.context())
                    .sslParameters(io.sluice.runtime.tls.ServerCertificates.parameters(false)).build();
        });
        Http1Config http1 = Http1Config.builder()
                .maxHeadersSize(MAX_HEADERS_BYTES)
                .maxPrologueLength(8192)
                .validateRequestHeaders(true)
                // Helidon checks Host with a regular expression per request (3% of CPU in a profile); the
                // proxy handler checks it with a character scan instead (ProxyHandler.hostOf)
                .validateRequestHostHeader(false)
                // paths are checked (and canonicalised) by the proxy handler: one rule set, one error code, bad_path
                .validatePath(false)
                // Not Helidon's check of response headers (4% of a loaded core, and a char[] copy of every name and
                // value): every header the proxy answers with was checked on its way into plugin-api's Headers (a
                // token name; no CR, LF, NUL or other control character: Headers.checkName/checkValue), from the
                // upstream's parser, a filter or the gateway itself, or is a constant (UpstreamConformanceIT and
                // JsFiltersIT send such headers)
                .validateResponseHeaders(false)
                .build();
        Http2Config http2 = Http2Config.builder()
                .maxConcurrentStreams(H2_MAX_CONCURRENT_STREAMS)
                .maxHeaderListSize(MAX_HEADERS_BYTES)
                .maxFrameSize(16_384)
                .initialWindowSize(H2_INITIAL_WINDOW)
                .validatePath(false)   // as for HTTP/1.1: the proxy handler's canonical path rules
                .sendErrorDetails(false)
                .maxRapidResets(-1)   // one rule, counted in metrics: H2Guard (EdgeConnections)
                .build();
        WebServerConfig.Builder b = WebServer.builder()
                .shutdownGracePeriod(Duration.ofSeconds(5));
        EdgeConnections edge = null;
        if (listeners.proxy()) {
            // the proxy listener's connection kinds: Helidon's HTTP/1.1 (HTTP/1.0 too) and HTTP/2 (prior knowledge),
            // each with a strict reader, watched for slow, greedy and flooding clients
            edge = new EdgeConnections(http1, http2, () -> gateway.current().edge());
            Telemetry.gauge("sluice.edge.connections", "client connections open on the proxy listener", edge,
                    EdgeConnections::open);
            for (String reason : new String[] {"head", "body", "idle", "refused", "h2_flood", "websocket_idle"}) {
                io.micrometer.core.instrument.FunctionCounter.builder("sluice.edge.connections.closed", edge,
                                e -> e.closedFor(reason))
                        .description("client connections closed by a limit: head/body/idle timeouts, refused over"
                                + " max_connections(_per_address), HTTP/2 rapid-reset or CONTINUATION floods")
                        .tag("reason", reason)
                        .register(Telemetry.registry());
            }
            ProxyHandler handler = new ProxyHandler(gateway);
            b.protocolsDiscoverServices(false)
                    .connectionOptions(CLIENT_SOCKETS)
                    .addConnectionSelector(edge)
                    .host(listeners.proxyHost())
                    .port(listeners.proxyPort())
                    .directHandlers(ProtocolErrors.handlers(gateway.accessLog()))
                    .errorHandling(ErrorHandling.builder().includeEntity(true).build())
                    .routing(r -> r.any(handler))
                    .putSocket("admin", s -> {
                        s.host(listeners.adminHost()).port(listeners.adminPort())
                                .maxPayloadSize(MAX_ADMIN_BODY_BYTES)
                                .routing(admin);
                        adminTls.ifPresent(s::tls);
                    });
            if (tls.port() >= 0) {
                // the TLS proxy listener: the same edge (one set of connection limits) and the same request path;
                // certificates by SNI from the config (and the default one from files), swapped per handshake
                io.sluice.runtime.tls.ServerCertificates certs = gateway.certificates();
                tls.cert().ifPresent(cert -> certs.defaultCertificate(cert, tls.key().orElseThrow()));
                io.helidon.common.tls.Tls serverTls = io.helidon.common.tls.Tls.builder().sslContext(certs.context())
                        .sslParameters(io.sluice.runtime.tls.ServerCertificates.parameters(true)).build();
                EdgeConnections e = edge;
                b.putSocket("tls", s -> s.host(listeners.proxyHost()).port(tls.port()).tls(serverTls)
                        .protocolsDiscoverServices(false)
                        .connectionOptions(CLIENT_SOCKETS)
                        .addConnectionSelector(e)
                        .directHandlers(ProtocolErrors.handlers(gateway.accessLog()))
                        .errorHandling(ErrorHandling.builder().includeEntity(true).build())
                        .routing(HttpRouting.builder().any(handler)));
            }
        } else {
            b.addProtocol(http1)
                    .host(listeners.adminHost()).port(listeners.adminPort()).maxPayloadSize(MAX_ADMIN_BODY_BYTES)
                    .routing(admin);
            adminTls.ifPresent(b::tls);
        }
        WebServer started = b.build().start();
        if (listeners.proxy() && tls.port() >= 0) {
            gateway.httpsPort(started.port("tls"));
        }
        return new SluiceServer(gateway, started, listeners.proxy(), edge);
    }

    // {"ready": true, "version": 7, "dependencies": {"store": {"up": true}, "redis_config": {"up": false, "reason": "…"}}}
    private static String readiness(boolean ok, Status status) {
        ObjectNode body = JSON.createObjectNode().put("ready", ok).put("version", status.version().getAsLong());
        ObjectNode deps = body.putObject("dependencies");
        status.dependencies().get().forEach((name, state) -> {
            ObjectNode d = deps.putObject(name).put("up", state.up());
            state.reason().ifPresent(r -> d.put("reason", r));
        });
        return body.toString();
    }

    /**
     * @return the gateway (current config and its swap)
     */
    public Gateway gateway() {
        return gateway;
    }

    /**
     * @return the bound proxy port
     */
    public int proxyPort() {
        return proxy ? server.port() : -1;
    }

    /**
     * @return the bound TLS proxy port, or -1 without a TLS listener
     */
    public int tlsPort() {
        return proxy && server.hasTls("tls") ? server.port("tls") : -1;
    }

    /**
     * @return the bound admin port
     */
    public int adminPort() {
        return proxy ? server.port("admin") : server.port();
    }

    @Override
    public void close() {
        server.stop();
        if (edge != null) {
            edge.close();
        }
        gateway.close();
    }
}
