package com.example.sluice.js;

import io.sluice.plugin.Headers;
import io.sluice.plugin.Outcome;
import io.sluice.plugin.testkit.JsFilterHarness;
import io.sluice.plugin.testkit.TestExchange;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The sample JavaScript filters, run with plugin-api's JsFilterHarness: no gateway. */
class SampleJsFiltersTest {
    static JsFilterHarness ab;
    static JsFilterHarness maintenance;

    @BeforeAll
    static void load() throws Exception {
        ab = JsFilterHarness.load(Path.of("src/main/js/ab-tagger.js"));
        maintenance = JsFilterHarness.load(Path.of("src/main/js/maintenance.js"));
    }

    @AfterAll
    static void close() {
        ab.close();
        maintenance.close();
    }

    static String variantOf(String user, int percentB) {
        TestExchange ex = TestExchange.request("GET", "/cart").header("X-Session-Id", user);
        assertEquals(Outcome.proceed(), ab.onRequest(ex,
                "{\"experiment\": \"checkout\", \"percent_b\": " + percentB + ", \"sticky_header\": \"X-Session-Id\"}"));
        return ex.request().headers().firstOrNull("X-AB-Variant");
    }

    @Test
    void abTaggerPlacesKeysLikeItsJavaTwin() {
        assertEquals("ab-tagger-js", ab.name());
        // the same vectors as the Java plugin's test (AbTaggerTest.knownVectorsSharedWithTheJavaScriptTwin)
        assertEquals("A", variantOf("user-1", 50));
        assertEquals("B", variantOf("user-2", 50));
        assertEquals("A", variantOf("user-3", 50));
        assertEquals("B", variantOf("ünïcødé", 50));
    }

    @Test
    void abTaggerIsStickyReplacesTheClientsHeaderAndEchoesTheVariant() {
        TestExchange ex = TestExchange.request("GET", "/").header("X-Session-Id", "user-2").header("X-AB-Variant", "A");
        ab.onRequest(ex, "{\"experiment\": \"checkout\", \"sticky_header\": \"X-Session-Id\"}");
        assertEquals(java.util.List.of("B"), ex.request().headers().all("X-AB-Variant"));
        ex.respond(200, new Headers(), "ok");
        ab.onResponse(ex, "{\"experiment\": \"checkout\"}");
        assertEquals("B", ex.response().orElseThrow().headers().firstOrNull("X-AB-Variant"));
        int b = 0;
        for (int i = 0; i < 5000; i++) {
            b += "B".equals(variantOf("u" + i, 30)) ? 1 : 0;
        }
        assertTrue(Math.abs(100.0 * b / 5000 - 30) < 2.5, "B share " + (100.0 * b / 5000));
    }

    @Test
    void maintenanceAnswers503ExceptAllowedPaths() {
        String conf = "{\"retry_after_seconds\": 120, \"allow_paths\": [\"/health\"]}";
        Outcome.Respond r = assertInstanceOf(Outcome.Respond.class,
                maintenance.onRequest(TestExchange.request("GET", "/orders"), conf));
        assertEquals(503, r.status());
        assertEquals("120", r.headers().firstOrNull("Retry-After"));
        assertEquals("application/json", r.headers().firstOrNull("Content-Type"));
        assertTrue(r.bodyText().contains("\"error\":\"maintenance\""), r.bodyText());
        assertEquals(Outcome.proceed(), maintenance.onRequest(TestExchange.request("GET", "/health"), conf));
        assertEquals(Outcome.proceed(), maintenance.onRequest(TestExchange.request("GET", "/health/live"), conf));
        assertInstanceOf(Outcome.Respond.class, maintenance.onRequest(TestExchange.request("GET", "/healthz"), conf));
        assertEquals(Outcome.proceed(), maintenance.onRequest(TestExchange.request("GET", "/orders"),
                "{\"enabled\": false}"));
    }
}
