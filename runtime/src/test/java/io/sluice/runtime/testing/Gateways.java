package io.sluice.runtime.testing;

import io.sluice.registry.config.ConfigException;
import io.sluice.registry.config.ConfigParser;
import io.sluice.registry.config.GatewayConfig;
import io.sluice.runtime.FilterCatalog;
import io.sluice.runtime.SluiceServer;
import io.sluice.runtime.observe.Tracing;
import io.sluice.runtime.proxy.Gateway;
import io.sluice.runtime.upstream.UpstreamClient;

import java.util.Optional;

/**
 * Starts real gateways for tests: Helidon on free loopback ports, config from YAML text.
 */
public final class Gateways {
    private Gateways() {
    }

    /**
     * A running gateway with this config.
     *
     * @param yaml the declarative config
     * @return the server; close it after the test
     */
    public static SluiceServer start(String yaml) throws ConfigException {
        return start(yaml, Tracing.OFF);
    }

    /**
     * A running gateway with this config, tracing its requests.
     *
     * @param yaml    the declarative config
     * @param tracing spans of the request path (closed with the server)
     * @return the server; close it after the test
     */
    public static SluiceServer start(String yaml, Tracing tracing) throws ConfigException {
        SluiceServer server = SluiceServer.start(new SluiceServer.Listeners("127.0.0.1", 0, "127.0.0.1", 0, true),
                new Gateway(FilterCatalog.builtins(), new UpstreamClient(), tracing), Optional.empty(),
                Optional.empty());
        try {
            server.gateway().apply(parse(yaml));
        } catch (ConfigException | RuntimeException e) {
            server.close();
            throw e;
        }
        return server;
    }

    /** Parses and validates YAML with the built-in (and test) filters. */
    public static GatewayConfig parse(String yaml) throws ConfigException {
        return new ConfigParser(FilterCatalog.builtins()).parse(yaml);
    }

    /**
     * A loopback port nothing listens on: it was free, and is closed again, so connecting to it is refused.
     *
     * @return the port
     */
    public static int refusedPort() throws java.io.IOException {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** A one-route config. */
    public static String route(String id, String path, String upstreamUrl) {
        return """
                routes:
                  - id: %s
                    paths: ["%s"]
                    upstream: {targets: [{url: "%s"}]}
                """.formatted(id, path, upstreamUrl);
    }
}
