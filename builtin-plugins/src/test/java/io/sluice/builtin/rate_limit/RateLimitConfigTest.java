package io.sluice.builtin.rate_limit;

import io.sluice.builtin.ConfigCheck;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class RateLimitConfigTest {
    private final RateLimitFilterFactory factory = new RateLimitFilterFactory();

    @Test
    void acceptsLocalAndRedisSetups() {
        assertEquals(List.of(), ConfigCheck.problems(factory, "{\"rate\": 100, \"burst\": 200, \"by\": \"consumer\"}"));
        assertEquals(List.of(), ConfigCheck.problems(factory, "{\"rate\": 0.5, \"period\": \"minute\", \"by\": \"header\","
                + " \"header\": \"X-Api-Key\", \"policy\": \"redis\", \"redis_url\": \"redis://10.0.0.1:6379\"}"));
    }

    @Test
    void pinsTheErrors() {
        assertEquals(List.of("rate: required property 'rate' not found"), ConfigCheck.problems(factory, "{}"));
        assertEquals(List.of("rate: must have an exclusive minimum value of 0"),
                ConfigCheck.problems(factory, "{\"rate\": 0}"));
        assertEquals(List.of("burst: must have a minimum value of 1"),
                ConfigCheck.problems(factory, "{\"rate\": 1, \"burst\": 0}"));
        assertEquals(List.of("header: required property 'header' not found"),
                ConfigCheck.problems(factory, "{\"rate\": 1, \"by\": \"header\"}"));
        assertEquals(List.of("policy: does not have a value in the enumeration [\"local\", \"redis\"]"),
                ConfigCheck.problems(factory, "{\"rate\": 1, \"policy\": \"memcached\"}"));
    }
}
