package ${package};

import io.sluice.plugin.Filter;
import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.Headers;
import io.sluice.plugin.Outcome;
import io.sluice.plugin.testkit.TestExchange;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

/** The Java filter with plugin-api's testkit: no gateway, no server. */
class ${className}FilterTest {
    final ${className}FilterFactory factory = new ${className}FilterFactory();

    @Test
    void describesItselfAsTheJarsManifestSays() {
        assertEquals("${filterName}", factory.descriptor().name());
        assertEquals("${version}", factory.descriptor().version());
    }

    @Test
    void tagsTheRequestAndTheResponse() throws Exception {
        Filter filter = factory.create(FilterConfig.of(Map.of("tag", "t1")));
        TestExchange ex = TestExchange.request("GET", "/orders/7");
        assertEquals(Outcome.proceed(), filter.onRequest(ex));
        assertEquals("t1", ex.request().headers().firstOrNull("X-Tag"));

        ex.respond(200, new Headers(), "{}");   // as if the upstream answered
        assertEquals(Outcome.proceed(), filter.onResponse(ex));
        assertEquals("t1", ex.response().orElseThrow().headers().firstOrNull("X-Tag"));
    }

    @Test
    void refusesARequestWithoutTheRequiredHeader() throws Exception {
        Filter filter = factory.create(FilterConfig.of(Map.of("tag", "t1", "require_header", "X-Api-Key")));
        Outcome.Respond r = assertInstanceOf(Outcome.Respond.class,
                filter.onRequest(TestExchange.request("GET", "/orders/7")));
        assertEquals(400, r.status());
        assertEquals("{\"error\":\"missing_header\",\"message\":\"X-Api-Key is required\"}", r.bodyText());

        assertEquals(Outcome.proceed(),
                filter.onRequest(TestExchange.request("GET", "/orders/7").header("X-Api-Key", "k")));
    }
}
