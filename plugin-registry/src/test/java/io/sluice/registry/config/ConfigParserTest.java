package io.sluice.registry.config;

import io.sluice.plugin.FilterDescriptor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConfigParserTest {
    private static final FilterDescriptor LIMIT = new FilterDescriptor("limit", "2.0.0",
            "{\"type\":\"object\",\"required\":[\"rps\"],\"properties\":{\"rps\":{\"type\":\"integer\",\"minimum\":1}}}", "");
    private final ConfigParser parser = new ConfigParser((name, version) ->
            name.equals("limit") && version.map("2.0.0"::equals).orElse(true) ? Optional.of(LIMIT) : Optional.empty());

    @Test
    void parsesJsonAsWellAsYamlWithDefaults() throws Exception {
        GatewayConfig c = parser.parse("""
                {"routes": [{"id": "a", "paths": ["/a/{id}"], "upstream": {"targets": [{"url": "http://h:81/base"}]},
                  "plugins": [{"name": "limit", "version": "2.0.0", "config": {"rps": 5}, "on_error": "fail_open"}]}]}""");
        GatewayConfig.RouteSpec r = c.routes().getFirst();
        assertEquals(ConfigParser.DEFAULT_CONNECT_TIMEOUT_MS, ((GatewayConfig.UpstreamSpec) r.upstream().orElseThrow()).connectTimeoutMs());
        assertEquals(ConfigParser.DEFAULT_TIMEOUT_MS, ((GatewayConfig.UpstreamSpec) r.upstream().orElseThrow()).timeoutMs());
        assertEquals(100, ((GatewayConfig.UpstreamSpec) r.upstream().orElseThrow()).targets().getFirst().weight());
        GatewayConfig.PluginEntry p = r.plugins().getFirst();
        assertEquals(Map.of("rps", 5L), p.config());
        assertEquals(Optional.of("2.0.0"), p.version());
        assertEquals(GatewayConfig.OnError.FAIL_OPEN, p.onError());
    }

    @Test
    void pluginConfigErrorsCarryTheFullPathAndLine() {
        ConfigException e = assertThrows(ConfigException.class, () -> parser.parse("""
                global_plugins:
                  - name: limit
                    config:
                      rps: 0
                routes: []
                """));
        assertEquals(List.of(new Problem("global_plugins[0].config.rps", 4, "must have a minimum value of 1")),
                e.problems());
    }

    @Test
    void recursiveAliasesAreRefusedNotWalkedForever() {
        // found by ConfigParserFuzzTest: SnakeYAML composes "&a [*a]" into a cycle; walking it overflowed the stack
        ConfigException e = assertThrows(ConfigException.class, () -> parser.parse("a: &a [1, *a]\n"));
        assertEquals(List.of(new Problem("a[1]", 1, "recursive alias")), e.problems());
        e = assertThrows(ConfigException.class, () -> parser.parse("&r {routes: [], x: {y: *r}}"));
        assertEquals("x.y: recursive alias", e.getMessage());
    }

    @Test
    void aMalformedTagIsASyntaxError() {
        // found by ConfigParserFuzzTest: SnakeYAML threw IllegalArgumentException, which escaped the parser
        ConfigException e = assertThrows(ConfigException.class, () -> parser.parse("!%a"));
        assertEquals(List.of(new Problem("", 1, "syntax error: Tag must not contain leading or trailing spaces.")),
                e.problems());
    }

    @Test
    void unknownVersionIsAnUnknownPlugin() {
        ConfigException e = assertThrows(ConfigException.class, () -> parser.parse(
                "global_plugins: [{name: limit, version: 9.9.9, config: {rps: 1}}]"));
        assertEquals("global_plugins[0].name: unknown plugin 'limit' version 9.9.9", e.getMessage());
    }

    @Test
    void twoKeysOfOneConsumerWithTheSameIdAreAConflict() {
        // each key is a row of its own (consumer/key id): two with one id would silently become one
        ConfigException e = assertThrows(ConfigException.class, () -> parser.parse("""
                consumers:
                  - id: app
                    api_keys:
                      - {id: k1, hash: "sha256:%s"}
                      - {id: k1, hash: "sha256:%s"}
                """.formatted("a".repeat(64), "b".repeat(64))));
        assertEquals("consumers[0].api_keys[1].id: duplicate API key id 'k1' (also api_keys[0])", e.getMessage());
        assertTrue(e.problems().getFirst().conflict());
    }

    @Test
    void allTargetsWithZeroWeightIsRefused() {
        ConfigException e = assertThrows(ConfigException.class, () -> parser.parse("""
                routes:
                  - id: a
                    paths: ["/a"]
                    upstream: {targets: [{url: "http://x", weight: 0}]}
                """));
        assertEquals("routes[0].upstream.targets: at least one target needs a weight above 0", e.getMessage());
    }

    @Test
    void differentHostsOrMethodsDoNotConflict() throws Exception {
        GatewayConfig c = parser.parse("""
                routes:
                  - {id: a, paths: ["/x"], hosts: [a.example], upstream: {targets: [{url: "http://x"}]}}
                  - {id: b, paths: ["/x"], hosts: [b.example], upstream: {targets: [{url: "http://x"}]}}
                  - {id: c, paths: ["/x"], methods: [GET], upstream: {targets: [{url: "http://x"}]}}
                  - {id: d, paths: ["/x"], methods: [POST], upstream: {targets: [{url: "http://x"}]}}
                """);
        assertEquals(4, c.routes().size());
    }

    @Test
    void pathPatternsAreCheckedAndNormalisedForConflicts() {
        assertEquals("/a/{}/**", PathPattern.parse("/a/{id}/**").shape());
        assertThrows(IllegalArgumentException.class, () -> PathPattern.parse("a/b"));
        assertThrows(IllegalArgumentException.class, () -> PathPattern.parse("/a/**/b"));
        assertThrows(IllegalArgumentException.class, () -> PathPattern.parse("/a//b"));
        assertThrows(IllegalArgumentException.class, () -> PathPattern.parse("/a/{x}/{x}"));
        assertThrows(IllegalArgumentException.class, () -> PathPattern.parse("/a/b c"));
    }
}
