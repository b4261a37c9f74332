package io.sluice.builtin.transform;

import io.sluice.plugin.Filter;
import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.Headers;
import io.sluice.plugin.Outcome;
import io.sluice.plugin.testkit.TestExchange;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TransformFilterTest {
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    @Test
    void appliesRemoveRenameSetAddInThatOrder() throws Exception {
        Filter f = new TransformFilterFactory().create(FilterConfig.of(Map.of(
                "request", Map.of("headers", Map.of(
                        "remove", List.of("x-remove"),
                        "rename", Map.of("X-Old", "X-New"),
                        "set", Map.of("X-Set", "s"),
                        "add", Map.of("X-Add", "a"))),
                "response", Map.of("headers", Map.of("set", Map.of("X-Out", "o"), "remove", List.of("Server"))))));
        TestExchange ex = TestExchange.request("GET", "/")
                .header("X-Remove", "1").header("X-Old", "v1").header("X-Old", "v2")
                .header("X-Set", "old").header("X-Add", "first");
        assertEquals(Outcome.proceed(), f.onRequest(ex));
        Headers h = ex.request().headers();
        assertFalse(h.contains("X-Remove"));
        assertFalse(h.contains("X-Old"));
        assertEquals(List.of("v1", "v2"), h.all("X-New"));
        assertEquals(List.of("s"), h.all("X-Set"));
        assertEquals(List.of("first", "a"), h.all("X-Add"));

        ex.respond(200, Headers.of("Server", "upstream/1.0"), "body");
        assertEquals(Outcome.proceed(), f.onResponse(ex));
        Headers out = ex.response().orElseThrow().headers();
        assertFalse(out.contains("Server"));
        assertEquals("o", out.firstOrNull("X-Out"));
    }

    @Test
    void pathTemplateUsesRouteParamsAndQueryRulesKeepTheRest() throws Exception {
        Filter f = new TransformFilterFactory().create(FilterConfig.of(Map.of("request", Map.of(
                "path", "/v2/accounts/{id}/files/{**}",
                "query", Map.of("remove", List.of("debug", "token"), "add", Map.of("source", "gateway & co"))))));
        TestExchange ex = TestExchange.request("GET", "/api/users/7/docs/a/b.txt?debug=1&x=%20y&token=s&debug=2&z")
                .route("users", Map.of("id", "7", "**", "a/b.txt"));
        f.onRequest(ex);
        assertEquals("/v2/accounts/7/files/a/b.txt", ex.request().path());
        assertEquals("x=%20y&z&source=gateway+%26+co", ex.request().query());
        assertFalse(f.needsRequestBody(), "no body rules: bodies stay streamed");
    }

    @Test
    void jsonBodyFieldsAreSetRemovedAndMaskedOnBothSides() throws Exception {
        Filter f = new TransformFilterFactory().create(FilterConfig.of(Map.of(
                "request", Map.of("body", Map.of("set", Map.of("meta.source", "gateway", "version", 2L),
                        "remove", List.of("internal"))),
                "response", Map.of("body", Map.of("mask", List.of("card.number", "pin"))))));
        assertTrue(f.needsRequestBody());
        assertTrue(f.needsResponseBody());
        TestExchange ex = TestExchange.request("POST", "/").header("Content-Type", "application/json; charset=utf-8")
                .body("{\"name\":\"ann\",\"internal\":true}");
        f.onRequest(ex);
        assertEquals(JSON.readTree("{\"name\":\"ann\",\"meta\":{\"source\":\"gateway\"},\"version\":2}"),
                JSON.readTree(ex.request().body().orElseThrow()));
        ex.respond(200, Headers.of("Content-Type", "application/vnd.api+json"),
                "{\"card\":{\"number\":\"4111111111111111\"},\"pin\":1234,\"ok\":true}");
        f.onResponse(ex);
        assertEquals("{\"card\":{\"number\":\"****1111\"},\"pin\":\"****\",\"ok\":true}",
                new String(ex.response().orElseThrow().body().orElseThrow(), StandardCharsets.UTF_8));
    }

    @Test
    void nonJsonBodiesPassUntouched() throws Exception {
        Filter f = new TransformFilterFactory().create(FilterConfig.of(Map.of(
                "request", Map.of("body", Map.of("remove", List.of("a"))))));
        TestExchange text = TestExchange.request("POST", "/").header("Content-Type", "text/plain").body("{\"a\":1}");
        f.onRequest(text);
        assertEquals("{\"a\":1}", new String(text.request().body().orElseThrow(), StandardCharsets.UTF_8));
        TestExchange broken = TestExchange.request("POST", "/").header("Content-Type", "application/json").body("{not json");
        f.onRequest(broken);
        assertEquals("{not json", new String(broken.request().body().orElseThrow(), StandardCharsets.UTF_8));
    }

    @Test
    void emptyConfigChangesNothing() throws Exception {
        Filter f = new TransformFilterFactory().create(FilterConfig.empty());
        TestExchange ex = TestExchange.request("GET", "/").header("A", "1");
        f.onRequest(ex);
        assertEquals(List.of("1"), ex.request().headers().all("A"));
    }
}
