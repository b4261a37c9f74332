package ${package};

import io.sluice.plugin.Headers;
import io.sluice.plugin.Outcome;
import io.sluice.plugin.testkit.JsFilterHarness;
import io.sluice.plugin.testkit.TestExchange;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

/** The JavaScript filter in plugin-api's JsFilterHarness: the gateway's sandbox, prelude and ctx, no gateway. */
class ${className}JsTest {
    static final Path SCRIPT = Path.of("src/main/js/${filterName}-js.js");

    @Test
    void tagsTheRequestAndTheResponse() throws Exception {
        try (JsFilterHarness f = JsFilterHarness.load(SCRIPT)) {
            assertEquals("${filterName}-js", f.name());
            TestExchange ex = TestExchange.request("GET", "/orders/7");
            assertEquals(Outcome.proceed(), f.onRequest(ex, "{\"tag\": \"t1\"}"));
            assertEquals("t1", ex.request().headers().firstOrNull("X-Tag-Js"));
            ex.respond(200, new Headers(), "{}");
            f.onResponse(ex, "{\"tag\": \"t1\"}");
            assertEquals("t1", ex.response().orElseThrow().headers().firstOrNull("X-Tag-Js"));
        }
    }

    @Test
    void refusesARequestWithoutTheRequiredHeader() throws Exception {
        try (JsFilterHarness f = JsFilterHarness.load(SCRIPT)) {
            Outcome.Respond r = assertInstanceOf(Outcome.Respond.class, f.onRequest(
                    TestExchange.request("GET", "/orders/7"), "{\"tag\": \"t1\", \"require_header\": \"X-Api-Key\"}"));
            assertEquals(400, r.status());
        }
    }
}
