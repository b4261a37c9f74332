package io.sluice.runtime.proxy;

import io.sluice.runtime.SluiceServer;
import io.sluice.runtime.testing.EchoUpstream;
import io.sluice.runtime.testing.Gateways;
import io.sluice.runtime.testing.RawHttp;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ip-restriction and cors through a real gateway and upstream; the test client connects from 127.0.0.1. */
class GuardsIT {
    private static final String APP = "https://app.example.com";
    private static EchoUpstream up;
    private static SluiceServer gw;

    @BeforeAll
    static void start() throws Exception {
        up = EchoUpstream.start("up");
        gw = Gateways.start("""
                routes:
                  - id: denied
                    paths: ["/denied"]
                    upstream: {targets: [{url: "%1$s"}]}
                    plugins:
                      - {name: ip-restriction, config: {allow: ["10.0.0.0/8", "127.0.0.0/8"], deny: ["127.0.0.0/8"]}}
                  - id: allowed
                    paths: ["/allowed"]
                    upstream: {targets: [{url: "%1$s"}]}
                    plugins:
                      - {name: ip-restriction, config: {allow: ["127.0.0.0/8", "::1"]}}
                  - id: elsewhere
                    paths: ["/elsewhere"]
                    upstream: {targets: [{url: "%1$s"}]}
                    plugins:
                      - {name: ip-restriction, config: {allow: ["10.0.0.0/8", "2001:db8::/32"], status: 404, message: "not here"}}
                  - id: cors
                    paths: ["/cors/**"]
                    upstream: {targets: [{url: "%1$s"}]}
                    plugins:
                      - name: cors
                        config:
                          allow_origins: ["%2$s", "https://*.partner.example"]
                          allow_methods: [GET, PUT]
                          allow_headers: [Authorization, Content-Type]
                          expose_headers: [X-Upstream]
                          allow_credentials: true
                          max_age: 600
                      - {name: ip-restriction, config: {deny: ["127.0.0.0/8"]}}
                  - id: open-cors
                    paths: ["/open/**"]
                    upstream: {targets: [{url: "%1$s"}]}
                    plugins:
                      - {name: cors, config: {allow_origins: ["%2$s"]}}
                """.formatted(up.url(), APP));
    }

    @AfterAll
    static void stop() {
        gw.close();
        up.close();
    }

    private static RawHttp.Response send(String method, String path, String... headers) throws Exception {
        StringBuilder raw = new StringBuilder(method + " " + path + " HTTP/1.1\r\nHost: x\r\n");
        for (String h : headers) {
            raw.append(h).append("\r\n");
        }
        return RawHttp.exchange(gw.proxyPort(), raw.append("\r\n").toString());
    }

    @Test
    void aDeniedAddressGets403AndTheUpstreamIsNotCalled() throws Exception {
        int before = up.count();
        RawHttp.Response r = send("GET", "/denied");
        assertEquals(403, r.status());
        assertEquals("{\"error\":\"ip_forbidden\",\"message\":\"your IP address is not allowed\"}", r.text());
        assertTrue(r.header("Content-Type").startsWith("application/json"), r.header("Content-Type"));
        RawHttp.Response notListed = send("GET", "/elsewhere", "X-Forwarded-For: 10.1.2.3");
        assertEquals(404, notListed.status(), "the socket's address counts, never X-Forwarded-For");
        assertEquals("{\"error\":\"ip_forbidden\",\"message\":\"not here\"}", notListed.text());
        assertEquals(before, up.count(), "refused requests never reach the upstream");
    }

    @Test
    void anAllowedAddressIsProxied() throws Exception {
        int before = up.count();
        RawHttp.Response r = send("GET", "/allowed");
        assertEquals(200, r.status());
        assertEquals("up", r.header("X-Upstream"));
        assertEquals(before + 1, up.count());
    }

    @Test
    void aPreflightIsAnsweredByTheGatewayWithoutTheUpstream() throws Exception {
        int before = up.count();
        RawHttp.Response r = send("OPTIONS", "/open/items/7", "Origin: " + APP,
                "Access-Control-Request-Method: PUT", "Access-Control-Request-Headers: content-type, x-trace");
        assertEquals(204, r.status());
        assertEquals(APP, r.header("Access-Control-Allow-Origin"));
        assertEquals("Origin", r.header("Vary"));
        assertEquals("GET, HEAD, POST, PUT, PATCH, DELETE", r.header("Access-Control-Allow-Methods"));
        assertEquals("content-type, x-trace", r.header("Access-Control-Allow-Headers"));
        assertNull(r.header("Access-Control-Allow-Credentials"));
        assertEquals(0, r.body().length);
        assertEquals(before, up.count(), "the preflight never reaches the upstream");
    }

    @Test
    void aPreflightIsAnsweredEvenBeforeALaterFilterWouldRefuse() throws Exception {
        int before = up.count();
        RawHttp.Response r = send("OPTIONS", "/cors/items", "Origin: https://eu.partner.example",
                "Access-Control-Request-Method: PUT", "Access-Control-Request-Headers: authorization");
        assertEquals(204, r.status());
        assertEquals("https://eu.partner.example", r.header("Access-Control-Allow-Origin"));
        assertEquals("true", r.header("Access-Control-Allow-Credentials"));
        assertEquals("GET, PUT", r.header("Access-Control-Allow-Methods"));
        assertEquals("Authorization, Content-Type", r.header("Access-Control-Allow-Headers"));
        assertEquals("600", r.header("Access-Control-Max-Age"));
        assertEquals(before, up.count());
    }

    @Test
    void aPreflightFromAnotherOriginOrForAnotherMethodIs403() throws Exception {
        int before = up.count();
        RawHttp.Response origin = send("OPTIONS", "/open/items", "Origin: https://evil.example",
                "Access-Control-Request-Method: PUT");
        assertEquals(403, origin.status());
        assertEquals("{\"error\":\"cors_forbidden\",\"message\":\"origin 'https://evil.example' is not allowed\"}",
                origin.text());
        assertNull(origin.header("Access-Control-Allow-Origin"));
        RawHttp.Response method = send("OPTIONS", "/cors/items", "Origin: " + APP,
                "Access-Control-Request-Method: DELETE");
        assertEquals(403, method.status());
        assertTrue(method.text().contains("\"error\":\"cors_forbidden\""), method.text());
        assertEquals(before, up.count());
    }

    @Test
    void anActualRequestFromAnAllowedOriginGetsAllowOrigin() throws Exception {
        int before = up.count();
        RawHttp.Response r = send("GET", "/open/items", "Origin: " + APP);
        assertEquals(200, r.status());
        assertEquals(before + 1, up.count());
        assertEquals(APP, up.last().header("Origin"), "the request is proxied as it came");
        assertEquals(APP, r.header("Access-Control-Allow-Origin"));
        assertEquals(List.of("Origin"), r.headers("Vary"));
        RawHttp.Response other = send("GET", "/open/items", "Origin: https://evil.example");
        assertEquals(200, other.status(), "another origin is still proxied");
        assertNull(other.header("Access-Control-Allow-Origin"));
        RawHttp.Response plain = send("GET", "/open/items");
        assertEquals(200, plain.status());
        assertNull(plain.header("Access-Control-Allow-Origin"));
        assertNull(plain.header("Vary"));
        assertEquals(before + 3, up.count());
    }

    @Test
    void aRefusalLaterInTheChainCarriesTheCorsHeadersSoThePageCanReadIt() throws Exception {
        int before = up.count();
        RawHttp.Response r = send("GET", "/cors/items", "Origin: " + APP);
        assertEquals(403, r.status());
        assertTrue(r.text().contains("\"error\":\"ip_forbidden\""), r.text());
        assertEquals(APP, r.header("Access-Control-Allow-Origin"));
        assertEquals("true", r.header("Access-Control-Allow-Credentials"));
        assertEquals("X-Upstream", r.header("Access-Control-Expose-Headers"));
        assertEquals(before, up.count());
    }
}
