package com.example.sluice.ab;

import io.sluice.plugin.Filter;
import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.Headers;
import io.sluice.plugin.Outcome;
import io.sluice.plugin.testkit.TestExchange;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Written with plugin-api's testkit only: no gateway. */
class AbTaggerTest {
    final Filter filter = new AbTaggerFactory().create(FilterConfig.of(Map.of(
            "experiment", "checkout", "percent_b", 30, "sticky_header", "X-Session-Id")));

    @Test
    void aUserKeepsTheirVariantAndTheClientsHeaderIsReplaced() throws Exception {
        String first = null;
        for (int i = 0; i < 5; i++) {
            TestExchange ex = TestExchange.request("GET", "/cart").header("X-Session-Id", "user-42")
                    .header("X-AB-Variant", "B-forced").requestId("req-" + i);
            assertEquals(Outcome.proceed(), filter.onRequest(ex));
            String v = ex.request().headers().firstOrNull("X-AB-Variant");
            assertEquals(1, ex.request().headers().all("X-AB-Variant").size());
            first = first == null ? v : first;
            assertEquals(first, v, "sticky");
            ex.respond(200, new Headers(), "ok");
            filter.onResponse(ex);
            assertEquals(v, ex.response().orElseThrow().headers().firstOrNull("X-AB-Variant"));
        }
    }

    @Test
    void theSplitFollowsPercentB() throws Exception {
        int b = 0;
        int n = 20_000;
        for (int i = 0; i < n; i++) {
            TestExchange ex = TestExchange.request("GET", "/").header("X-Session-Id", "u" + i);
            filter.onRequest(ex);
            b += "B".equals(ex.vars().get("ab_variant")) ? 1 : 0;
        }
        double share = 100.0 * b / n;
        assertTrue(Math.abs(share - 30) < 1.5, "B got " + share + "%");
    }

    @Test
    void knownVectorsSharedWithTheJavaScriptTwin() {
        // js-filters/ab-tagger.js must place these keys the same way (its test has the same vectors)
        assertEquals("A", AbTagger.variant("checkout", "user-1", 50));
        assertEquals("B", AbTagger.variant("checkout", "user-2", 50));
        assertEquals("A", AbTagger.variant("checkout", "user-3", 50));
        assertEquals("B", AbTagger.variant("checkout", "ünïcødé", 50));
    }
}
