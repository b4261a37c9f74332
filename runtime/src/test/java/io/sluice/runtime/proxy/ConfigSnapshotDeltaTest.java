package io.sluice.runtime.proxy;

import io.sluice.registry.config.ConfigParser;
import io.sluice.registry.config.GatewayConfig;
import io.sluice.registry.config.GatewayConfig.ConsumerSpec;
import io.sluice.registry.config.GatewayConfig.RouteSpec;
import io.sluice.registry.admin.Secrets;
import io.sluice.runtime.FilterCatalog;
import io.sluice.runtime.routing.Router;
import io.sluice.runtime.upstream.UpstreamClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A change set builds only what it changed: unchanged routes are the same compiled objects, a consumer change
 * leaves the router alone and copies the directory, a change of the global plugins rebuilds every chain; and the
 * snapshot a request started on never changes.
 */
class ConfigSnapshotDeltaTest {
    final FilterCatalog catalog = FilterCatalog.builtins();
    final ConfigParser parser = new ConfigParser(catalog);
    final UpstreamClient client = new UpstreamClient();
    final io.sluice.runtime.upstream.Upstreams upstreams = new io.sluice.runtime.upstream.Upstreams(client, null);

    @AfterEach
    void close() {
        client.close();
    }

    GatewayConfig parse(String yaml) throws Exception {
        return parser.parse(yaml);
    }

    static String route(String id, String path, String plugins) {
        return "  - id: " + id + "\n    paths: [\"" + path + "\"]\n    upstream: {targets: [{url: \"http://127.0.0.1:9\"}]}\n"
                + "    plugins: " + plugins + "\n";
    }

    RouteSpec routeSpec(String id, String path, String plugins) throws Exception {
        return parse("routes:\n" + route(id, path, plugins)).routes().getFirst();
    }

    static ConfigSnapshot.Delta delta(Optional<List<GatewayConfig.PluginEntry>> globals,
                                      Map<String, Optional<RouteSpec>> routes,
                                      Map<String, Optional<ConsumerSpec>> consumers) {
        return new ConfigSnapshot.Delta(globals, Optional.empty(), routes, consumers, Map.of());
    }

    static Object found(ConfigSnapshot s, String path) {
        Router.Result<Integer> r = s.router().lookup("GET", "", path);
        return r instanceof Router.Found<Integer> f ? s.table()[f.route()].spec().id() : r.getClass().getSimpleName();
    }

    @Test
    void onlyWhatChangedIsBuilt() throws Exception {
        String key = "sk_one";
        ConfigSnapshot v1 = ConfigSnapshot.build(1, parse("routes:\n" + route("a", "/a", "[{name: cors, config: {allow_origins: [\"https://a.example\"]}}]")
                + route("b", "/b", "[]") + "consumers:\n  - id: c1\n    api_keys: [{id: k1, hash: \""
                + Secrets.hash(key) + "\"}]\n"), catalog, client, upstreams);

        // one route changed: b is the same compiled object, a is new, the router knows a's new path
        ConfigSnapshot v2 = v1.next(2, delta(Optional.empty(), Map.of("a", Optional.of(routeSpec("a", "/a2", "[]"))),
                Map.of()), catalog, client, upstreams).next();
        assertSame(v1.routes().get("b").route(), v2.routes().get("b").route());
        assertNotSame(v1.routes().get("a").route(), v2.routes().get("a").route());
        assertEquals("a", found(v2, "/a2"));
        assertEquals("NotFound", found(v2, "/a"));
        assertEquals("a", found(v1, "/a"), "the old snapshot is untouched");

        // only b's plugins change: the router is reused, b's slot points at its new chain, v2 keeps the old one
        ConfigSnapshot v2b = v2.next(2, delta(Optional.empty(), Map.of("b", Optional.of(routeSpec("b", "/b",
                "[{name: cors, config: {allow_origins: [\"https://b.example\"]}}]"))), Map.of()), catalog, client, upstreams).next();
        assertSame(v2.router(), v2b.router());
        assertEquals("cors", v2b.table()[v2b.slots().get("b")].chain()[0].name());
        assertEquals(0, v2.table()[v2.slots().get("b")].chain().length);
        assertSame(v2.routes().get("a").route(), v2b.routes().get("a").route());

        // a consumer added: routes and router stay, the directory is a copy
        ConsumerSpec c2 = new ConsumerSpec("c2", List.of("gold"), List.of(new GatewayConfig.ApiKeySpec("k2",
                Secrets.hash("sk_two"))));
        ConfigSnapshot v3 = v2.next(3, delta(Optional.empty(), Map.of(), Map.of("c2", Optional.of(c2))), catalog,
                client, upstreams).next();
        assertSame(v2.router(), v3.router());
        assertSame(v2.routes(), v3.routes());
        assertEquals("c2", v3.consumers().byApiKey("sk_two").orElseThrow().id());
        assertEquals("c1", v3.consumers().byApiKey(key).orElseThrow().id());
        assertTrue(v2.consumers().byApiKey("sk_two").isEmpty(), "copy-on-write: v2 never sees c2");

        // c1 loses its key, c2 is removed
        ConfigSnapshot v4 = v3.next(4, delta(Optional.empty(), Map.of(), Map.of(
                "c1", Optional.of(new ConsumerSpec("c1", List.of(), List.of())), "c2", Optional.empty())),
                catalog, client, upstreams).next();
        assertTrue(v4.consumers().byApiKey(key).isEmpty());
        assertTrue(v4.consumers().byId("c2").isEmpty());
        assertEquals(1, v4.consumers().size());
        assertEquals("c1", v3.consumers().byApiKey(key).orElseThrow().id());

        // the global plugins changed: every chain is rebuilt and starts with them
        ConfigSnapshot v5 = v4.next(5, delta(Optional.of(parse("global_plugins: [{name: cors, config: {allow_origins: [\"https://a.example\"]}}]").globalPlugins()),
                Map.of(), Map.of()), catalog, client, upstreams).next();
        assertNotSame(v4.routes().get("b").route(), v5.routes().get("b").route());
        assertEquals("cors", v5.routes().get("b").route().chain()[0].name());
        assertEquals(0, v4.routes().get("b").route().chain().length);

        // a route removed
        ConfigSnapshot v6 = v5.next(6, delta(Optional.empty(), Map.of("b", Optional.empty()), Map.of()), catalog,
                client, upstreams).next();
        assertEquals(List.of("a"), List.copyOf(v6.routes().keySet()));
        assertInstanceOf(Router.NotFound.class, v6.router().lookup("GET", "", "/b"));
    }

    @Test
    void aRefusedChangeLeavesTheSnapshotAsItWas() throws Exception {
        ConfigSnapshot v1 = ConfigSnapshot.build(1, parse("routes:\n" + route("a", "/a", "[]")), catalog, client, upstreams);
        // the new route's path clashes in the router with a's: refused, v1 unchanged
        assertTrue(org.junit.jupiter.api.Assertions.assertThrows(io.sluice.registry.config.ConfigException.class,
                () -> v1.next(2, delta(Optional.empty(), Map.of("b", Optional.of(routeSpec("b", "/a", "[]"))),
                        Map.of()), catalog, client, upstreams)).getMessage() != null);
        assertEquals(List.of("a"), List.copyOf(v1.routes().keySet()));
    }
}
