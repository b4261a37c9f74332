package io.sluice.plugin;

import io.sluice.plugin.testkit.TestExchange;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The testkit behaves like the gateway's exchange for what a filter can see. */
class TestExchangeTest {

    @Test
    void splitsQueryAndCarriesRouteAndVars() {
        TestExchange ex = TestExchange.request("GET", "/users/7?expand=1").route("users", Map.of("id", "7"));
        assertEquals("/users/7", ex.request().path());
        assertEquals("expand=1", ex.request().query());
        assertEquals("7", ex.route().params().get("id"));
        ex.vars().put("k", 1);
        assertEquals(1, ex.vars().get("k"));
        assertTrue(ex.response().isEmpty());
        assertEquals(Optional.empty(), ex.consumer());
        ex.consumer(Consumer.of("c1"));
        assertEquals("c1", ex.consumer().orElseThrow().id());
    }

    @Test
    void configAccessorsCheckTypes() {
        FilterConfig c = FilterConfig.of(Map.of("n", 3L, "s", "x", "b", true));
        assertEquals(Optional.of(3L), c.integer("n"));
        assertEquals(Optional.of("x"), c.string("s"));
        assertEquals(Optional.of(true), c.bool("b"));
        assertEquals(Optional.empty(), c.string("missing"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> c.string("n"));
        assertEquals("config 'n' must be a string, is Long", e.getMessage());
    }
}
