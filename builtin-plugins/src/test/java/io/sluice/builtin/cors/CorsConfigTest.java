package io.sluice.builtin.cors;

import io.sluice.builtin.ConfigCheck;
import io.sluice.plugin.FilterConfig;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class CorsConfigTest {
    private final CorsFilterFactory factory = new CorsFilterFactory();

    private String refused(Map<String, Object> config) {
        return assertThrows(IllegalArgumentException.class, () -> factory.create(FilterConfig.of(config))).getMessage();
    }

    private String refusedOrigin(String origin) {
        return refused(Map.of("allow_origins", List.of(origin)));
    }

    @Test
    void minimalAndFullConfigsAreValid() {
        assertEquals(List.of(), ConfigCheck.problems(factory, "{\"allow_origins\": [\"*\"]}"));
        assertEquals(List.of(), ConfigCheck.problems(factory, """
                {"allow_origins": ["https://app.example.com", "https://*.example.com", "http://localhost:3000"],
                 "allow_methods": ["GET", "POST", "PUT"], "allow_headers": ["Authorization", "Content-Type"],
                 "expose_headers": ["X-Request-Id"], "allow_credentials": true, "max_age": 600}"""));
        factory.create(FilterConfig.of(Map.of("allow_origins", List.of("https://app.example.com",
                "https://*.example.com:8443", "http://[::1]:8080", "http://127.0.0.1", "capacitor://localhost",
                "HTTPS://Upper.Example.com"), "allow_methods", List.of("*"), "allow_headers", List.of(),
                "expose_headers", List.of("*"), "max_age", 0L)));
    }

    @Test
    void pinsTheSchemaErrors() {
        assertEquals(List.of("allow_origins: required property 'allow_origins' not found"),
                ConfigCheck.problems(factory, "{}"));
        assertEquals(List.of("allow_origins: must have at least 1 items but found 0"),
                ConfigCheck.problems(factory, "{\"allow_origins\": []}"));
        assertEquals(List.of("allow_origins: string found, array expected"),
                ConfigCheck.problems(factory, "{\"allow_origins\": \"*\"}"));
        assertEquals(List.of("allow_methods[0]: does not match the regex pattern ^(\\*|[A-Za-z][A-Za-z0-9_-]{0,31})$"),
                ConfigCheck.problems(factory, "{\"allow_origins\": [\"*\"], \"allow_methods\": [\"GET POST\"]}"));
        assertEquals(List.of("allow_headers[0]: does not match the regex pattern ^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$"),
                ConfigCheck.problems(factory, "{\"allow_origins\": [\"*\"], \"allow_headers\": [\"X:Y\"]}"));
        assertEquals(List.of("max_age: must have a minimum value of 0"),
                ConfigCheck.problems(factory, "{\"allow_origins\": [\"*\"], \"max_age\": -1}"));
        assertEquals(List.of("allow_credentials: string found, boolean expected"),
                ConfigCheck.problems(factory, "{\"allow_origins\": [\"*\"], \"allow_credentials\": \"yes\"}"));
        assertEquals(List.of("origins: property 'origins' is not defined in the schema and the schema does not allow additional properties"),
                ConfigCheck.problems(factory, "{\"allow_origins\": [\"*\"], \"origins\": [\"*\"]}"));
    }

    @Test
    void anyOriginWithCredentialsIsRefused() {
        assertEquals("allow_origins '*' cannot be combined with allow_credentials: true (browsers refuse credentialed"
                        + " responses for any origin); list the origins, or patterns such as https://*.example.com",
                refused(Map.of("allow_origins", List.of("*"), "allow_credentials", true)));
        assertEquals("expose_headers '*' cannot be combined with allow_credentials: true (with credentials browsers"
                        + " read it as a header named '*'); list the headers",
                refused(Map.of("allow_origins", List.of("https://a.example"), "allow_credentials", true,
                        "expose_headers", List.of("*"))));
    }

    @Test
    void starMustStandAlone() {
        assertEquals("allow_origins[1]: '*' allows every origin and must be the only entry",
                refused(Map.of("allow_origins", List.of("https://a.example", "*"))));
        assertEquals("allow_methods[0]: '*' allows everything and must be the only entry",
                refused(Map.of("allow_origins", List.of("*"), "allow_methods", List.of("*", "GET"))));
        assertEquals("allow_headers[1]: '*' allows everything and must be the only entry",
                refused(Map.of("allow_origins", List.of("*"), "allow_headers", List.of("X-A", "*"))));
    }

    @Test
    void factoryNamesTheBadOrigin() {
        assertEquals("allow_origins[0]: 'https://app.example.com/' has a path; an origin is scheme://host[:port]"
                + " (browsers send it without a trailing slash)", refusedOrigin("https://app.example.com/"));
        assertEquals("allow_origins[0]: 'https://app.example.com/api' has a path; an origin is scheme://host[:port]"
                + " (browsers send it without a trailing slash)", refusedOrigin("https://app.example.com/api"));
        assertEquals("allow_origins[0]: 'app.example.com' is not an origin: expected scheme://host[:port]",
                refusedOrigin("app.example.com"));
        assertEquals("allow_origins[0]: 'null' is not an origin: expected scheme://host[:port]", refusedOrigin("null"));
        assertEquals("allow_origins[0]: 'https://user@app.example.com' is not an origin: expected scheme://host[:port]",
                refusedOrigin("https://user@app.example.com"));
        assertEquals("allow_origins[0]: 'https://app.example.com:99999' has a bad port",
                refusedOrigin("https://app.example.com:99999"));
        assertEquals("allow_origins[0]: 'https://app.example.com:' has a bad port", refusedOrigin("https://app.example.com:"));
        assertEquals("allow_origins[0]: 'https://api.*.example.com' is not a pattern: '*' may only stand for the"
                + " leftmost labels of a host name, as in https://*.example.com", refusedOrigin("https://api.*.example.com"));
        assertEquals("allow_origins[0]: 'https://*example.com' is not a pattern: '*' may only stand for the"
                + " leftmost labels of a host name, as in https://*.example.com", refusedOrigin("https://*example.com"));
        assertEquals("allow_origins[0]: 'https://*.' is not a pattern: '*' may only stand for the"
                + " leftmost labels of a host name, as in https://*.example.com", refusedOrigin("https://*."));
    }
}
