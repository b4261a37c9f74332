package io.sluice.registry.config;

import io.sluice.registry.config.GatewayConfig.AggregateSpec;
import io.sluice.registry.config.GatewayConfig.CallSpec;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The {@code aggregate} of a route: its shape, defaults, and every bad input with its path and line. */
class AggregateConfigTest {
    private final ConfigParser parser = new ConfigParser((name, version) -> Optional.empty());

    private List<Problem> problems(String yaml) {
        return assertThrows(ConfigException.class, () -> parser.parse(yaml)).problems();
    }

    /** A one-route config whose aggregate has these calls (YAML flow mappings, one per line). */
    private static String route(String... calls) {
        StringBuilder b = new StringBuilder("""
                routes:
                  - id: home
                    paths: ["/home/{id}", "/v2/home/{id}/**"]
                    aggregate:
                      calls:
                """);
        for (String c : calls) {
            b.append("        - ").append(c).append('\n');
        }
        return b.toString();
    }

    @Test
    void parsesCallsWithTheirDefaults() throws Exception {
        GatewayConfig c = parser.parse(route(
                "{name: user, url: \"http://127.0.0.1:9001/users/{id}?full=1\"}",
                "{name: recs, url: \"http://recs.internal\", method: POST, timeout_ms: 300, connect_timeout_ms: 50,"
                        + " required: true}"));
        GatewayConfig.RouteSpec r = c.routes().getFirst();
        assertTrue(r.upstream().isEmpty());
        AggregateSpec a = r.aggregate().orElseThrow();
        assertEquals(ConfigParser.DEFAULT_CALL_MAX_BODY_BYTES, a.maxBodyBytes());
        CallSpec user = a.calls().get(0);
        assertEquals("GET", user.method());
        assertEquals(ConfigParser.DEFAULT_CALL_TIMEOUT_MS, user.timeoutMs());
        assertEquals(ConfigParser.DEFAULT_CALL_TIMEOUT_MS, user.connectTimeoutMs(), "connect ≤ the whole call");
        assertEquals(false, user.required());
        assertEquals("127.0.0.1", user.url().host());
        assertEquals(9001, user.url().port());
        assertEquals("/users/42?full=1", user.url().expand(Map.of("id", "42")));
        CallSpec recs = a.calls().get(1);
        assertEquals(80, recs.url().port());
        assertEquals("/", recs.url().expand(Map.of()));
        assertEquals(List.of("POST", "300", "50", "true"), List.of(recs.method(), "" + recs.timeoutMs(),
                "" + recs.connectTimeoutMs(), "" + recs.required()));
    }

    @Test
    void parameterValuesAreEncodedToStayOneSegment() {
        UrlTemplate t = UrlTemplate.parse("http://h/a/{x}?q={x}");
        assertEquals("/a/a%2Fb?q=a%2Fb", t.expand(Map.of("x", "a%2Fb")), "an encoded slash stays encoded");
        assertEquals("/a/a%20b%3F%26?q=a%20b%3F%26", t.expand(Map.of("x", "a%20b?&")));
        assertEquals("/a/%2E%2E?q=%2E%2E", t.expand(Map.of("x", "..")), "no path traversal");
        assertEquals("/a/%C3%A9?q=%C3%A9", t.expand(Map.of("x", "%C3%A9")));
        assertEquals("/a/100%25?q=100%25", t.expand(Map.of("x", "100%")), "a malformed escape is kept as text");
    }

    @Test
    void bothUpstreamAndAggregateIsRefused() {
        assertEquals(List.of(new Problem("routes[0].aggregate", 4, "a route has either upstream or aggregate, not both")),
                problems("""
                        routes:
                          - id: a
                            paths: ["/a"]
                            aggregate: {calls: [{name: x, url: "http://h"}]}
                            upstream: {targets: [{url: "http://h"}]}
                        """));
    }

    @Test
    void neitherUpstreamNorAggregateIsRefused() {
        assertEquals(List.of(new Problem("routes[0].upstream", 2,
                "required: a route needs either upstream or aggregate")), problems("""
                routes:
                  - id: a
                    paths: ["/a"]
                """));
    }

    @Test
    void namedUpstreamGroupsNeedAnUpstream() {
        assertEquals(List.of(new Problem("routes[0].upstreams", 5, "named upstream groups need an upstream to stand "
                + "beside; an aggregate route has none")), problems("""
                routes:
                  - id: a
                    paths: ["/a"]
                    aggregate: {calls: [{name: x, url: "http://h"}]}
                    upstreams: {canary: {targets: [{url: "http://h"}]}}
                """));
    }

    @Test
    void duplicateCallNamesAreRefused() {
        assertEquals(List.of(new Problem("routes[0].aggregate.calls[1].name", 7,
                "duplicate call name 'user' (also calls[0])")), problems(route(
                "{name: user, url: \"http://a\"}",
                "{name: user, url: \"http://b\"}")));
    }

    @Test
    void errorsIsAReservedName() {
        assertEquals(List.of(new Problem("routes[0].aggregate.calls[0].name", 6,
                "'errors' is reserved: the merged response reports failed calls under it")), problems(route(
                "{name: errors, url: \"http://a\"}")));
    }

    @Test
    void badNamesAreRefusedBySchema() {
        for (String bad : List.of("User", "1st", "a-b", "")) {
            List<Problem> p = problems(route("{name: \"" + bad + "\", url: \"http://a\"}"));
            assertEquals(1, p.size(), bad + ": " + p);
            assertEquals("routes[0].aggregate.calls[0].name", p.getFirst().path(), bad);
            assertTrue(p.getFirst().message().contains("does not match the regex pattern"), p.toString());
            assertEquals(6, p.getFirst().line());
        }
    }

    @Test
    void unknownPathParameterIsRefused() {
        assertEquals(List.of(new Problem("routes[0].aggregate.calls[0].url", 6, "unknown path parameter '{user}': "
                + "path '/home/{id}' of this route does not declare it")), problems(route(
                "{name: a, url: \"http://a/u/{user}\"}")));
    }

    @Test
    void aParameterMustBeInEveryPathOfTheRoute() {
        assertEquals(List.of(new Problem("routes[0].aggregate.calls[0].url", 7, "unknown path parameter '{id}': "
                + "path '/b' of this route does not declare it")), problems("""
                routes:
                  - id: a
                    paths: ["/a/{id}", "/b"]
                    aggregate:
                      calls:
                        - name: a
                          url: "http://a/u/{id}"
                """));
    }

    @Test
    void badUrlsAreRefused() {
        // by the schema: scheme, user info, placeholder in the host, fragment
        for (String bad : List.of("https://a/x", "http://u@a/x", "http://{id}/x", "http://a/x#f", "a/x")) {
            List<Problem> p = problems(route("{name: a, url: \"" + bad + "\"}"));
            assertEquals(1, p.size(), bad + ": " + p);
            assertEquals("routes[0].aggregate.calls[0].url", p.getFirst().path(), bad);
        }
        // by the parser
        assertEquals(List.of(new Problem("routes[0].aggregate.calls[0].url", 6,
                "bad url: bad placeholder '{a-b}' (a path parameter name)")),
                problems(route("{name: a, url: \"http://a/x/{a-b}\"}")));
        assertEquals("routes[0].aggregate.calls[0].url", problems(route("{name: a, url: \"http://a/x/{id\"}"))
                .getFirst().path());
        assertTrue(problems(route("{name: a, url: \"http://a/x y\"}")).getFirst().message().startsWith("bad url: "));
        for (String port : List.of("0", "65536", "99999")) {
            assertEquals(List.of(new Problem("routes[0].aggregate.calls[0].url", 6, "bad url: port " + port
                    + " is not in 1-65535")), problems(route("{name: a, url: \"http://a:" + port + "/x\"}")), port);
        }
    }

    @Test
    void timeoutsOutOfRangeAreRefused() {
        for (String bad : List.of("timeout_ms: 0", "timeout_ms: 300001", "connect_timeout_ms: 0",
                "timeout_ms: \"100\"")) {
            List<Problem> p = problems(route("{name: a, url: \"http://a\", " + bad + "}"));
            assertEquals(1, p.size(), bad + ": " + p);
            assertEquals("routes[0].aggregate.calls[0]." + bad.substring(0, bad.indexOf(':')), p.getFirst().path());
        }
        assertEquals(List.of(new Problem("routes[0].aggregate.calls[0].connect_timeout_ms", 6,
                "must not exceed timeout_ms (100), which covers the whole call")), problems(route(
                "{name: a, url: \"http://a\", timeout_ms: 100, connect_timeout_ms: 200}")));
    }

    @Test
    void callsListAndLimitsAreChecked() {
        assertEquals("routes[0].aggregate.calls", problems("""
                routes: [{id: a, paths: ["/a"], aggregate: {calls: []}}]
                """).getFirst().path());
        assertEquals("routes[0].aggregate.calls", problems("""
                routes: [{id: a, paths: ["/a"], aggregate: {}}]
                """).getFirst().path());
        assertEquals("routes[0].aggregate.max_body_bytes", problems("""
                routes: [{id: a, paths: ["/a"], aggregate: {max_body_bytes: 0, calls: [{name: x, url: "http://h"}]}}]
                """).getFirst().path());
        assertEquals("routes[0].aggregate.calls[0].method", problems(route(
                "{name: a, url: \"http://a\", method: HEAD}")).getFirst().path());
        assertEquals("routes[0].aggregate.calls[0].body", problems(route(
                "{name: a, url: \"http://a\", body: x}")).getFirst().path());
    }

    @Test
    void theCliFormatNamesFileAndLine() {
        Problem p = problems(route("{name: a, url: \"http://a/u/{user}\"}")).getFirst();
        assertEquals("home.yaml:6: routes[0].aggregate.calls[0].url: unknown path parameter '{user}': path "
                + "'/home/{id}' of this route does not declare it", p.format("home.yaml"));
    }
}
