package io.sluice.builtin.load_shedding;

import io.sluice.builtin.ConfigCheck;
import io.sluice.plugin.Filter;
import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.Outcome;
import io.sluice.plugin.testkit.TestExchange;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

class LoadSheddingFilterTest {
    private final LoadSheddingFilterFactory factory = new LoadSheddingFilterFactory();

    private Filter entry(String pool, String priority) {
        return factory.create(FilterConfig.of(Map.of("max_concurrent", 10L, "pool", pool, "priority", priority)));
    }

    @Test
    void lowerPrioritiesShedFirstAndPlacesComeBackOnCompletion() throws Exception {
        String pool = UUID.randomUUID().toString();
        Filter low = entry(pool, "low");
        Filter normal = entry(pool, "normal");
        Filter critical = entry(pool, "critical");
        List<TestExchange> held = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            TestExchange ex = TestExchange.request("GET", "/");
            assertEquals(Outcome.proceed(), low.onRequest(ex));
            held.add(ex);
        }
        Outcome.Respond shed = assertInstanceOf(Outcome.Respond.class, low.onRequest(TestExchange.request("GET", "/")));
        assertEquals(503, shed.status());
        assertEquals("1", shed.headers().firstOrNull("Retry-After"));
        assertEquals(true, shed.bodyText().contains("\"error\":\"overloaded\""));
        for (int i = 0; i < 3; i++) {   // normal sheds at 8 of 10
            assertEquals(Outcome.proceed(), normal.onRequest(TestExchange.request("GET", "/")));
        }
        assertInstanceOf(Outcome.Respond.class, normal.onRequest(TestExchange.request("GET", "/")));
        assertEquals(Outcome.proceed(), critical.onRequest(TestExchange.request("GET", "/")));
        assertEquals(Outcome.proceed(), critical.onRequest(TestExchange.request("GET", "/")));
        assertInstanceOf(Outcome.Respond.class, critical.onRequest(TestExchange.request("GET", "/")));
        assertEquals(10, ((LoadSheddingFilter) low).inflight());

        for (TestExchange ex : held) {
            low.onComplete(ex, null);
            low.onComplete(ex, null);   // given back once, however often told
        }
        assertEquals(5, ((LoadSheddingFilter) low).inflight());
        assertInstanceOf(Outcome.Respond.class, low.onRequest(TestExchange.request("GET", "/")), "low: 5 of 10");
        assertEquals(Outcome.proceed(), normal.onRequest(TestExchange.request("GET", "/")), "normal: under 8");
    }

    @Test
    void aShedRequestHoldsNoPlace() throws Exception {
        String pool = UUID.randomUUID().toString();
        Filter f = factory.create(FilterConfig.of(Map.of("max_concurrent", 1L, "pool", pool, "priority", "critical")));
        TestExchange first = TestExchange.request("GET", "/");
        f.onRequest(first);
        TestExchange second = TestExchange.request("GET", "/");
        assertInstanceOf(Outcome.Respond.class, f.onRequest(second));
        f.onComplete(second, null);   // the gateway completes every filter that ran, the shedding one too
        assertEquals(1, ((LoadSheddingFilter) f).inflight());
        f.onComplete(first, null);
        assertEquals(0, ((LoadSheddingFilter) f).inflight());
    }

    @Test
    void config() {
        assertEquals(List.of(), ConfigCheck.problems(factory, "{\"max_concurrent\": 100, \"priority\": \"low\"}"));
        assertEquals(List.of("max_concurrent: required property 'max_concurrent' not found"),
                ConfigCheck.problems(factory, "{}"));
        assertEquals(1, ConfigCheck.problems(factory, "{\"max_concurrent\": 5, \"priority\": \"urgent\"}").size());
        assertEquals(List.of("max_concurrent: must have a minimum value of 1"),
                ConfigCheck.problems(factory, "{\"max_concurrent\": 0}"));
    }
}
