package io.sluice.builtin.key_auth;

import io.sluice.builtin.ConfigCheck;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class KeyAuthConfigTest {
    private final KeyAuthFilterFactory factory = new KeyAuthFilterFactory();

    @Test
    void defaultsAndFullConfigAreValid() {
        assertEquals(List.of(), ConfigCheck.problems(factory, "{}"));
        assertEquals(List.of(), ConfigCheck.problems(factory, """
                {"header": "apikey", "query_param": "api_key", "hide_credentials": false,
                 "consumer_header": "X-Consumer-Name", "allow_tags": ["partner"]}"""));
    }

    @Test
    void pinsTheErrors() {
        assertEquals(List.of("header: does not match the regex pattern ^[A-Za-z0-9-]{1,64}$"),
                ConfigCheck.problems(factory, "{\"header\": \"X API Key\"}"));
        assertEquals(List.of("consumer_header: does not match the regex pattern ^[Xx]-(Consumer|User|Authenticated)-[A-Za-z0-9-]{1,48}$"),
                ConfigCheck.problems(factory, "{\"consumer_header\": \"Authorization\"}"));
        assertEquals(List.of("query_param: must be at least 1 characters long"),
                ConfigCheck.problems(factory, "{\"query_param\": \"\"}"));
        assertEquals(List.of("allow_tags: must have only unique items in the array"),
                ConfigCheck.problems(factory, "{\"allow_tags\": [\"a\", \"a\"]}"));
        assertEquals(List.of("key: property 'key' is not defined in the schema and the schema does not allow additional properties"),
                ConfigCheck.problems(factory, "{\"key\": \"abc\"}"));
    }
}
