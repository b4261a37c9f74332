package io.sluice.builtin.transform;

import io.sluice.plugin.Filter;
import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.Headers;
import io.sluice.plugin.Outcome;
import io.sluice.plugin.testkit.TestExchange;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

class TransformFilterTest {

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
    void emptyConfigChangesNothing() throws Exception {
        Filter f = new TransformFilterFactory().create(FilterConfig.empty());
        TestExchange ex = TestExchange.request("GET", "/").header("A", "1");
        f.onRequest(ex);
        assertEquals(List.of("1"), ex.request().headers().all("A"));
    }
}
