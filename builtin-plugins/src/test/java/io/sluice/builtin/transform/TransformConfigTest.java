package io.sluice.builtin.transform;

import io.sluice.builtin.ConfigCheck;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class TransformConfigTest {
    private final TransformFilterFactory factory = new TransformFilterFactory();

    @Test
    void acceptsEveryRule() {
        assertEquals(List.of(), ConfigCheck.problems(factory, """
                {"request": {"headers": {"remove": ["X-A"], "rename": {"X-B": "X-C"}, "set": {"X-D": "1"}, "add": {"X-E": "2"}}},
                 "response": {"headers": {"set": {"Cache-Control": "no-store"}}}}"""));
        assertEquals(List.of(), ConfigCheck.problems(factory, "{}"));
    }

    @Test
    void acceptsPathQueryAndBodyRules() {
        assertEquals(List.of(), ConfigCheck.problems(factory, """
                {"request": {"path": "/v2/{id}", "query": {"remove": ["debug"], "add": {"src": "gw"}},
                             "body": {"set": {"a.b": 1}, "remove": ["c"], "mask": ["card.number"]}},
                 "response": {"body": {"mask": ["ssn"]}}}"""));
    }

    @Test
    void pinsPathAndBodyErrors() {
        assertEquals(List.of("request.path: does not match the regex pattern ^/"),
                ConfigCheck.problems(factory, "{\"request\": {\"path\": \"v2\"}}"));
        assertEquals(List.of("request.body.remove[0]: does not match the regex pattern ^[^.]+(\\.[^.]+)*$"),
                ConfigCheck.problems(factory, "{\"request\": {\"body\": {\"remove\": [\"a..b\"]}}}"));
        assertEquals(List.of("response.path: property 'path' is not defined in the schema and the schema does not allow additional properties"),
                ConfigCheck.problems(factory, "{\"response\": {\"path\": \"/x\"}}"));
    }

    @Test
    void refusesHeaderInjectionAndBadNames() {
        assertEquals(List.of("request.headers.set.X-A: does not match the regex pattern ^[^\\r\\n]*$"),
                ConfigCheck.problems(factory, "{\"request\": {\"headers\": {\"set\": {\"X-A\": \"v\\r\\nX-Evil: 1\"}}}}"));
        assertEquals(1, ConfigCheck.problems(factory, "{\"request\": {\"headers\": {\"remove\": [\"Bad Name\"]}}}").size());
        assertEquals(List.of("request.headers.replace: property 'replace' is not defined in the schema and the schema does not allow additional properties"),
                ConfigCheck.problems(factory, "{\"request\": {\"headers\": {\"replace\": {}}}}"));
    }
}
