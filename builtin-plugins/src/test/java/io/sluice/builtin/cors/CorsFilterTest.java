package io.sluice.builtin.cors;

import io.sluice.plugin.Filter;
import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.Headers;
import io.sluice.plugin.Outcome;
import io.sluice.plugin.Response;
import io.sluice.plugin.testkit.TestExchange;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CorsFilterTest {
    private static final String APP = "https://app.example.com";

    private static Filter filter(Object... keysAndValues) {
        Map<String, Object> config = new HashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            config.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return new CorsFilterFactory().create(FilterConfig.of(config));
    }

    private static TestExchange preflight(String origin, String method, String... requestHeaders) {
        TestExchange ex = TestExchange.request("OPTIONS", "/api").header("Origin", origin)
                .header("Access-Control-Request-Method", method);
        if (requestHeaders.length > 0) {
            ex.header("Access-Control-Request-Headers", String.join(",", requestHeaders));
        }
        return ex;
    }

    private static Outcome.Respond answered(Filter f, TestExchange ex) throws Exception {
        return assertInstanceOf(Outcome.Respond.class, f.onRequest(ex));
    }

    private static void assertForbidden(Outcome.Respond r, String message) {
        assertEquals(403, r.status());
        assertEquals("{\"error\":\"cors_forbidden\",\"message\":\"" + message + "\"}", r.bodyText());
        assertNull(r.headers().firstOrNull("Access-Control-Allow-Origin"));
    }

    /** An actual request through the filter: request side, then an upstream answer, then the response side. */
    private static Response actual(Filter f, String method, String origin, Headers upstreamHeaders) throws Exception {
        TestExchange ex = TestExchange.request(method, "/api");
        if (origin != null) {
            ex.header("Origin", origin);
        }
        assertEquals(Outcome.proceed(), f.onRequest(ex));
        ex.respond(200, upstreamHeaders, "{}");
        assertEquals(Outcome.proceed(), f.onResponse(ex));
        return ex.response().orElseThrow();
    }

    @Test
    void preflightFromAnAllowedOriginIsAnsweredWith204() throws Exception {
        Filter f = filter("allow_origins", List.of(APP), "allow_methods", List.of("GET", "PUT", "DELETE"),
                "allow_headers", List.of("Authorization", "Content-Type"), "max_age", 600L);
        Outcome.Respond r = answered(f, preflight(APP, "PUT", "authorization", "content-type"));
        assertEquals(204, r.status());
        assertEquals(0, r.body().length);
        assertEquals(APP, r.headers().firstOrNull("Access-Control-Allow-Origin"));
        assertEquals("Origin", r.headers().firstOrNull("Vary"));
        assertEquals("GET, PUT, DELETE", r.headers().firstOrNull("Access-Control-Allow-Methods"));
        assertEquals("Authorization, Content-Type", r.headers().firstOrNull("Access-Control-Allow-Headers"));
        assertEquals("600", r.headers().firstOrNull("Access-Control-Max-Age"));
        assertNull(r.headers().firstOrNull("Access-Control-Allow-Credentials"));
    }

    @Test
    void preflightFromAnotherOriginIs403() throws Exception {
        Filter f = filter("allow_origins", List.of(APP));
        assertForbidden(answered(f, preflight("https://evil.example", "PUT")), "origin 'https://evil.example' is not allowed");
        assertForbidden(answered(f, preflight("http://app.example.com", "PUT")), "origin 'http://app.example.com' is not allowed");
        assertForbidden(answered(f, preflight("https://app.example.com:8443", "PUT")),
                "origin 'https://app.example.com:8443' is not allowed");
        assertForbidden(answered(f, preflight("null", "PUT")), "origin 'null' is not allowed");
    }

    @Test
    void preflightForAMethodNotAllowedIs403ButSafelistedMethodsAlwaysPass() throws Exception {
        Filter f = filter("allow_origins", List.of(APP), "allow_methods", List.of("PUT"));
        assertForbidden(answered(f, preflight(APP, "DELETE")), "method 'DELETE' is not allowed");
        assertForbidden(answered(f, preflight(APP, "PATCH")), "method 'PATCH' is not allowed");
        assertEquals(204, answered(f, preflight(APP, "PUT")).status());
        assertEquals(204, answered(f, preflight(APP, "POST")).status(), "browsers never check GET, HEAD, POST");
        Filter defaults = filter("allow_origins", List.of(APP));
        assertEquals("GET, HEAD, POST, PUT, PATCH, DELETE",
                answered(defaults, preflight(APP, "PATCH")).headers().firstOrNull("Access-Control-Allow-Methods"));
        assertForbidden(answered(defaults, preflight(APP, "PROPFIND")), "method 'PROPFIND' is not allowed");
        Filter any = filter("allow_origins", List.of(APP), "allow_methods", List.of("*"));
        assertEquals("PROPFIND", answered(any, preflight(APP, "PROPFIND")).headers().firstOrNull("Access-Control-Allow-Methods"));
    }

    @Test
    void preflightHeadersAreCheckedCaseInsensitivelyOrEchoed() throws Exception {
        Filter listed = filter("allow_origins", List.of(APP), "allow_headers", List.of("Authorization", "X-Trace"));
        assertEquals(204, answered(listed, preflight(APP, "PUT", "x-trace", " AUTHORIZATION ")).status());
        assertForbidden(answered(listed, preflight(APP, "PUT", "authorization", "content-type")),
                "header 'content-type' is not allowed");
        Filter none = filter("allow_origins", List.of(APP), "allow_headers", List.of());
        assertForbidden(answered(none, preflight(APP, "PUT", "x-a")), "header 'x-a' is not allowed");
        assertNull(answered(none, preflight(APP, "PUT")).headers().firstOrNull("Access-Control-Allow-Headers"));
        Filter echo = filter("allow_origins", List.of(APP));   // default allow_headers: *
        assertEquals("authorization,x-custom",
                answered(echo, preflight(APP, "PUT", "authorization", "x-custom")).headers()
                        .firstOrNull("Access-Control-Allow-Headers"));
        assertNull(answered(echo, preflight(APP, "PUT")).headers().firstOrNull("Access-Control-Allow-Headers"));
    }

    @Test
    void anyOriginWithoutCredentialsAnswersALiteralStarWithoutVary() throws Exception {
        Filter f = filter("allow_origins", List.of("*"));
        Outcome.Respond r = answered(f, preflight("https://whoever.example", "PUT"));
        assertEquals("*", r.headers().firstOrNull("Access-Control-Allow-Origin"));
        assertNull(r.headers().firstOrNull("Vary"));
        Response res = actual(f, "GET", "https://whoever.example", new Headers());
        assertEquals("*", res.headers().firstOrNull("Access-Control-Allow-Origin"));
        assertNull(res.headers().firstOrNull("Vary"));
    }

    @Test
    void credentialsEchoTheOriginNeverAStar() throws Exception {
        Filter f = filter("allow_origins", List.of("https://*.example.com"), "allow_credentials", true,
                "allow_methods", List.of("*"), "expose_headers", List.of("X-Request-Id", "X-Total"));
        Outcome.Respond r = answered(f, preflight("https://a.example.com", "DELETE", "authorization"));
        assertEquals("https://a.example.com", r.headers().firstOrNull("Access-Control-Allow-Origin"));
        assertEquals("true", r.headers().firstOrNull("Access-Control-Allow-Credentials"));
        assertEquals("DELETE", r.headers().firstOrNull("Access-Control-Allow-Methods"));
        assertEquals("authorization", r.headers().firstOrNull("Access-Control-Allow-Headers"));
        Response res = actual(f, "GET", "https://a.example.com", new Headers());
        assertEquals("https://a.example.com", res.headers().firstOrNull("Access-Control-Allow-Origin"));
        assertEquals("true", res.headers().firstOrNull("Access-Control-Allow-Credentials"));
        assertEquals("X-Request-Id, X-Total", res.headers().firstOrNull("Access-Control-Expose-Headers"));
        assertEquals(List.of("Origin"), res.headers().all("Vary"));
    }

    @Test
    void wildcardSubdomainsMatchOnlyUnderTheSuffix() throws Exception {
        Filter f = filter("allow_origins", List.of("https://*.example.com", "http://*.dev.test:3000"));
        for (String ok : List.of("https://a.example.com", "https://a.b.example.com", "https://x-1.example.com",
                "https://A.Example.COM", "http://web.dev.test:3000")) {
            assertEquals(204, answered(f, preflight(ok, "PUT")).status(), ok);
        }
        for (String bad : List.of("https://example.com", "https://.example.com", "https://a..example.com",
                "https://evilexample.com", "https://a.example.com.evil.net", "http://a.example.com",
                "https://a.example.com:8443", "https://a/b.example.com", "https://a:1.example.com",
                "https://user@a.example.com", "http://web.dev.test", "http://web.dev.test:3001")) {
            assertEquals(403, answered(f, preflight(bad, "PUT")).status(), bad);
        }
    }

    @Test
    void defaultPortsInConfigMatchWhatBrowsersSend() throws Exception {
        Filter f = filter("allow_origins", List.of("https://app.example.com:443", "http://Old.Example.com:80"));
        assertEquals(204, answered(f, preflight(APP, "PUT")).status());
        assertEquals(204, answered(f, preflight("http://old.example.com", "PUT")).status());
    }

    @Test
    void actualRequestFromAnAllowedOriginGetsTheHeadersAndVaryIsAppended() throws Exception {
        Filter f = filter("allow_origins", List.of(APP), "expose_headers", List.of("X-Request-Id"));
        Response res = actual(f, "POST", APP, Headers.of("Vary", "Accept-Encoding",
                "Access-Control-Allow-Origin", "*", "Access-Control-Allow-Credentials", "true"));
        assertEquals(List.of(APP), res.headers().all("Access-Control-Allow-Origin"), "the upstream's own are replaced");
        assertNull(res.headers().firstOrNull("Access-Control-Allow-Credentials"));
        assertEquals("X-Request-Id", res.headers().firstOrNull("Access-Control-Expose-Headers"));
        assertEquals(List.of("Accept-Encoding", "Origin"), res.headers().all("Vary"));
        assertEquals(List.of("accept-encoding, origin"),
                actual(f, "GET", APP, Headers.of("Vary", "accept-encoding, origin")).headers().all("Vary"));
        assertEquals(List.of("*"), actual(f, "GET", APP, Headers.of("Vary", "*")).headers().all("Vary"));
    }

    @Test
    void actualRequestFromAnotherOriginIsProxiedWithoutCorsHeaders() throws Exception {
        Filter f = filter("allow_origins", List.of(APP), "allow_credentials", true, "expose_headers", List.of("X-A"));
        TestExchange ex = TestExchange.request("GET", "/api").header("Origin", "https://evil.example");
        assertEquals(Outcome.proceed(), f.onRequest(ex));
        assertEquals(Boolean.FALSE, ex.vars().get(CorsFilter.VAR));
        ex.respond(200, Headers.of("Access-Control-Allow-Origin", "https://evil.example"), "{}");
        f.onResponse(ex);
        Headers h = ex.response().orElseThrow().headers();
        assertNull(h.firstOrNull("Access-Control-Allow-Origin"));
        assertNull(h.firstOrNull("Access-Control-Allow-Credentials"));
        assertNull(h.firstOrNull("Access-Control-Expose-Headers"));
        assertEquals("Origin", h.firstOrNull("Vary"), "a cache must not hand this answer to an allowed origin");
    }

    @Test
    void requestsWithoutOriginAreUntouched() throws Exception {
        Filter f = filter("allow_origins", List.of(APP), "allow_credentials", true);
        Response res = actual(f, "GET", null, Headers.of("X-Up", "1"));
        assertEquals(1, res.headers().size());
        TestExchange options = TestExchange.request("OPTIONS", "/api").header("Access-Control-Request-Method", "PUT");
        assertEquals(Outcome.proceed(), f.onRequest(options), "no Origin: not a preflight, proxied");
        assertTrue(options.vars().isEmpty());
    }

    @Test
    void optionsWithoutRequestMethodIsAnActualRequest() throws Exception {
        Filter f = filter("allow_origins", List.of(APP));
        Response res = actual(f, "OPTIONS", APP, new Headers());
        assertEquals(APP, res.headers().firstOrNull("Access-Control-Allow-Origin"));
    }

    @Test
    void anErrorAnsweredLaterInTheChainStillCarriesTheHeaders() throws Exception {
        Filter f = filter("allow_origins", List.of(APP));
        TestExchange ex = TestExchange.request("GET", "/api").header("Origin", APP);
        f.onRequest(ex);
        ex.respond(401, Headers.of("Content-Type", "application/json"), "{\"error\":\"unauthorized\"}");
        f.onResponse(ex);
        assertEquals(APP, ex.response().orElseThrow().headers().firstOrNull("Access-Control-Allow-Origin"));
    }
}
