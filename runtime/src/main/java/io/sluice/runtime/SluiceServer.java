package io.sluice.runtime;

import io.helidon.http.HeaderNames;
import io.helidon.webserver.ErrorHandling;
import io.helidon.webserver.WebServer;
import io.helidon.webserver.http.HttpRouting;
import io.helidon.webserver.http1.Http1Config;
import io.sluice.runtime.proxy.Gateway;
import io.sluice.runtime.proxy.ProtocolErrors;
import io.sluice.runtime.proxy.ProxyHandler;
import io.sluice.runtime.upstream.UpstreamClient;

import java.time.Duration;

/**
 * The running data plane: the proxy listener and the admin listener (health, readiness) on one Helidon
 * WebServer, both on virtual threads.
 */
public final class SluiceServer implements AutoCloseable {
    /** Largest request head accepted; larger is answered 431. */
    public static final int MAX_HEADERS_BYTES = 32 * 1024;

    private final Gateway gateway;
    private final WebServer server;

    private SluiceServer(Gateway gateway, WebServer server) {
        this.gateway = gateway;
        this.server = server;
    }

    /**
     * Starts listening.
     *
     * @param proxyHost proxy bind address
     * @param proxyPort proxy port (0 = any free)
     * @param adminHost admin bind address
     * @param adminPort admin port (0 = any free)
     * @return the running server
     */
    public static SluiceServer start(String proxyHost, int proxyPort, String adminHost, int adminPort) {
        Gateway gateway = new Gateway(FilterCatalog.builtins(), new UpstreamClient());
        Http1Config http1 = Http1Config.builder()
                .maxHeadersSize(MAX_HEADERS_BYTES)
                .maxPrologueLength(8192)
                .validateRequestHeaders(true)
                // Helidon checks Host with a regular expression per request (3% of CPU in a profile); the
                // proxy handler checks it with a character scan instead (ProxyHandler.hostOf)
                .validateRequestHostHeader(false)
                .validatePath(true)
                .build();
        WebServer server = WebServer.builder()
                .host(proxyHost)
                .port(proxyPort)
                .addProtocol(http1)
                .directHandlers(ProtocolErrors.handlers())
                .errorHandling(ErrorHandling.builder().includeEntity(true).build())
                .shutdownGracePeriod(Duration.ofSeconds(5))
                .routing(r -> r.any(new ProxyHandler(gateway)))
                .putSocket("admin", s -> s.host(adminHost).port(adminPort)
                        .routing(HttpRouting.builder()
                                .get("/health", (req, res) -> {
                                    res.header(HeaderNames.CONTENT_TYPE, "application/json");
                                    res.send("{\"status\":\"UP\"}");
                                })
                                .get("/ready", (req, res) -> {
                                    res.header(HeaderNames.CONTENT_TYPE, "application/json");
                                    res.send("{\"ready\":true,\"version\":" + gateway.current().version() + "}");
                                })))
                .build()
                .start();
        return new SluiceServer(gateway, server);
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
        return server.port();
    }

    /**
     * @return the bound admin port
     */
    public int adminPort() {
        return server.port("admin");
    }

    @Override
    public void close() {
        server.stop();
        gateway.close();
    }
}
