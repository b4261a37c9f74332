package io.sluice.builtin.canary;

import io.sluice.builtin.ConfigCheck;
import io.sluice.plugin.FilterConfig;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class CanaryConfigTest {
    private final CanaryFilterFactory factory = new CanaryFilterFactory();

    @Test
    void acceptsSplitsWithAndWithoutStickiness() {
        assertEquals(List.of(), ConfigCheck.problems(factory, """
                {"split": [{"upstream": "default", "weight": 95}, {"upstream": "canary", "weight": 5}]}"""));
        assertEquals(List.of(), ConfigCheck.problems(factory, """
                {"split": [{"upstream": "default", "weight": 1}, {"upstream": "v2", "weight": 1}],
                 "sticky": {"by": "cookie", "name": "session"}, "response_header": "X-Canary"}"""));
        assertEquals(List.of(), ConfigCheck.problems(factory, """
                {"split": [{"upstream": "default", "weight": 1}, {"upstream": "v2", "weight": 1}],
                 "sticky": {"by": "consumer"}}"""));
    }

    @Test
    void pinsTheErrors() {
        assertEquals(List.of("split: must have at least 2 items but found 1"), ConfigCheck.problems(factory,
                "{\"split\": [{\"upstream\": \"default\", \"weight\": 100}]}"));
        assertEquals(List.of("split[1].weight: must have a minimum value of 0"), ConfigCheck.problems(factory,
                "{\"split\": [{\"upstream\": \"default\", \"weight\": 100}, {\"upstream\": \"b\", \"weight\": -1}]}"));
        assertEquals(List.of("sticky.name: required property 'name' not found"), ConfigCheck.problems(factory, """
                {"split": [{"upstream": "default", "weight": 1}, {"upstream": "b", "weight": 1}],
                 "sticky": {"by": "header"}}"""));
        assertEquals(List.of("sticky.by: does not have a value in the enumeration [\"header\", \"cookie\", \"consumer\"]"),
                ConfigCheck.problems(factory, """
                {"split": [{"upstream": "default", "weight": 1}, {"upstream": "b", "weight": 1}],
                 "sticky": {"by": "ip"}}"""));
    }

    @Test
    void factoryRefusesWhatTheSchemaCannotSay() {
        var twice = assertThrows(IllegalArgumentException.class, () -> factory.create(FilterConfig.of(Map.of("split",
                List.of(Map.of("upstream", "b", "weight", 1L), Map.of("upstream", "b", "weight", 2L))))));
        assertEquals("split names upstream 'b' twice", twice.getMessage());
        var zero = assertThrows(IllegalArgumentException.class, () -> factory.create(FilterConfig.of(Map.of("split",
                List.of(Map.of("upstream", "default", "weight", 0L), Map.of("upstream", "b", "weight", 0L))))));
        assertEquals("split weights sum to 0", zero.getMessage());
    }
}
