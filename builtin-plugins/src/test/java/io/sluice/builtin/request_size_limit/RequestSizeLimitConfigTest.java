package io.sluice.builtin.request_size_limit;

import io.sluice.builtin.ConfigCheck;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class RequestSizeLimitConfigTest {
    private final RequestSizeLimitFilterFactory factory = new RequestSizeLimitFilterFactory();

    @Test
    void acceptsALimit() {
        assertEquals(List.of(), ConfigCheck.problems(factory, "{\"max_bytes\": 1024}"));
        assertEquals(List.of(), ConfigCheck.problems(factory, "{\"max_bytes\": 0}"));
    }

    @Test
    void pinsTheErrors() {
        assertEquals(List.of("max_bytes: required property 'max_bytes' not found"), ConfigCheck.problems(factory, "{}"));
        assertEquals(List.of("max_bytes: must have a minimum value of 0"),
                ConfigCheck.problems(factory, "{\"max_bytes\": -1}"));
        assertEquals(List.of("max_bytes: string found, integer expected"),
                ConfigCheck.problems(factory, "{\"max_bytes\": \"1k\"}"));
        assertEquals(List.of("maxBytes: property 'maxBytes' is not defined in the schema and the schema does not allow additional properties"),
                ConfigCheck.problems(factory, "{\"max_bytes\": 1, \"maxBytes\": 2}"));
    }
}
