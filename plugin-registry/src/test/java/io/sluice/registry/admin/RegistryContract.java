package io.sluice.registry.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.plugin.FilterDescriptor;
import io.sluice.registry.config.PluginCatalog;
import io.sluice.registry.config.SourceTree;
import io.sluice.registry.model.EntityChange;
import io.sluice.registry.model.EntityKind;
import io.sluice.registry.model.EntitySet;
import io.sluice.registry.store.Store;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The registry over entities and change sets, against each store backend ({@link EmbeddedRegistryTest},
 * {@link PostgresRegistryIT}): writers racing on entities, rollback across many changes, import of an export.
 */
abstract class RegistryContract {
    static final PluginCatalog CATALOG = (name, version) -> name.equals("limit")
            ? Optional.of(new FilterDescriptor("limit", "1.0.0", "{\"type\":\"object\",\"properties\":{\"rate\":"
            + "{\"type\":\"integer\",\"minimum\":1},\"window_ms\":{\"type\":\"number\"}},"
            + "\"additionalProperties\":false}", "")) : Optional.empty();

    Store store;
    Registry registry;

    abstract Store open();

    abstract void cleanUp();

    @BeforeEach
    void openStore() {
        store = open();
        registry = new Registry(store, CATALOG, config -> { });
    }

    @AfterEach
    void closeStore() {
        store.close();
        cleanUp();
    }

    static ObjectNode route(String id, String path, int weight) {
        return (ObjectNode) EntitySet.tree("{\"id\":\"" + id + "\",\"paths\":[\"" + path + "\"],\"upstream\":"
                + "{\"targets\":[{\"url\":\"http://127.0.0.1:9\",\"weight\":" + weight + "}],\"timeout_ms\":1500},"
                + "\"plugins\":[{\"name\":\"limit\",\"config\":{\"rate\":" + weight + ",\"window_ms\":1000.5}}]}");
    }

    Registry.Committed put(Registry r, EntityKind kind, String id, JsonNode body) {
        return r.change("test", Role.PLATFORM, "put " + id, m -> r.set(m, kind, id, body), p -> p);
    }

    static ObjectNode consumer(String id) {
        return (ObjectNode) EntitySet.tree("{\"id\":\"" + id + "\",\"tags\":[\"t\"]}");
    }

    static ObjectNode key(String id, int n) {
        return (ObjectNode) EntitySet.tree("{\"id\":\"" + id + "\",\"hash\":\"sha256:"
                + String.format("%064x", n) + "\"}");
    }

    @Test
    void aWriteCommitsOnlyItsEntity() {
        for (int i = 0; i < 20; i++) {
            put(registry, EntityKind.ROUTE, "r" + i, route("r" + i, "/r" + i, 10));
        }
        Registry.Committed c = put(registry, EntityKind.ROUTE, "r3", route("r3", "/r3", 20));
        assertEquals(1, c.version().changes());
        assertEquals(List.of(new Registry.Change("route", "r3", "changed")), c.changes());
        // the same body again (numbers written differently) is no change and commits nothing
        ObjectNode same = route("r3", "/r3", 20);
        ((ObjectNode) same.path("upstream")).put("timeout_ms", 1500.0);
        assertNull(put(registry, EntityKind.ROUTE, "r3", same).version());
        assertEquals(21, store.latestVersion());
    }

    @Test
    void conflictsAndKeyClashesAreFoundThroughTheIndexes() {
        put(registry, EntityKind.ROUTE, "a", route("a", "/a/{id}", 10));
        ApiError clash = assertThrows(ApiError.class, () -> put(registry, EntityKind.ROUTE, "b",
                route("b", "/a/{other}", 10)));
        assertEquals(409, clash.status());
        assertTrue(clash.details().getFirst().message().contains("conflicts with route 'a'"), clash.toString());
        // moving a to another path frees its slot
        put(registry, EntityKind.ROUTE, "a", route("a", "/moved", 10));
        put(registry, EntityKind.ROUTE, "b", route("b", "/a/{other}", 10));

        put(registry, EntityKind.CONSUMER, "c1", consumer("c1"));
        put(registry, EntityKind.CONSUMER, "c2", consumer("c2"));
        put(registry, EntityKind.API_KEY, "c1/k1", key("k1", 7));
        ApiError same = assertThrows(ApiError.class, () -> put(registry, EntityKind.API_KEY, "c2/k9", key("k9", 7)));
        assertEquals(409, same.status());
        ApiError orphan = assertThrows(ApiError.class, () -> put(registry, EntityKind.API_KEY, "nobody/k2",
                key("k2", 8)));
        assertEquals(400, orphan.status());
        ApiError bad = assertThrows(ApiError.class, () -> put(registry, EntityKind.ROUTE, "x",
                (ObjectNode) EntitySet.tree("{\"id\":\"x\",\"paths\":[\"/x\"],\"upstream\":{\"targets\":[{\"url\":\"http://127.0.0.1:9\"}]},"
                        + "\"plugins\":[{\"name\":\"limit\",\"config\":{\"rate\":0}}]}")));
        assertEquals(400, bad.status());
        assertTrue(bad.details().stream().anyMatch(p -> p.path().equals("routes[0].plugins[0].config.rate")),
                bad.details().toString());
        assertNull(registry.read(v -> v.entities().get(EntityKind.ROUTE, "x")), "nothing partial");
    }

    @Test
    void writersOnTwoControlPlanesRaceWithoutLosingAChange() throws Exception {
        Registry other = new Registry(store, CATALOG, config -> { });
        int writers = 6;
        int each = 10;
        CountDownLatch start = new CountDownLatch(1);
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        AtomicInteger conflicts = new AtomicInteger();
        Map<String, String> winners = new ConcurrentHashMap<>();
        List<Thread> threads = new ArrayList<>();
        for (int w = 0; w < writers; w++) {
            int n = w;
            Registry r = n % 2 == 0 ? registry : other;
            threads.add(Thread.ofVirtual().start(() -> {
                try {
                    start.await();
                    for (int i = 0; i < each; i++) {
                        put(r, EntityKind.ROUTE, "w" + n + "-" + i, route("w" + n + "-" + i, "/w" + n + "/" + i, 10));
                        put(r, EntityKind.CONSUMER, "c" + n + "-" + i, consumer("c" + n + "-" + i));
                        put(r, EntityKind.API_KEY, "c" + n + "-" + i + "/k", key("k", n * 1000 + i));
                        // every writer also claims one shared path: exactly one wins it
                        try {
                            put(r, EntityKind.ROUTE, "shared-" + n + "-" + i, route("shared-" + n + "-" + i,
                                    "/shared/" + i, 10));
                            winners.put("/shared/" + i, "w" + n);
                        } catch (ApiError e) {
                            if (e.status() != 409) {
                                throw e;
                            }
                            conflicts.incrementAndGet();
                        }
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            }));
        }
        start.countDown();
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(List.of(), errors);
        assertEquals(each, winners.size());
        assertEquals(each * (writers - 1), conflicts.get());
        EntitySet stored = store.load().entities();
        assertEquals(writers * each + each, stored.all(EntityKind.ROUTE).size());
        assertEquals(writers * each, stored.all(EntityKind.API_KEY).size());
        // both control planes converge on the store, and the history replays to it
        assertEquals(List.of(), registry.read(v -> v.entities().changesTo(stored)));
        assertEquals(List.of(), other.read(v -> v.entities().changesTo(stored)));
        EntitySet replayed = new EntitySet();
        store.changesSince(0, 100_000).orElseThrow().forEach(v -> replayed.apply(v.changes()));
        assertEquals(List.of(), replayed.changesTo(stored));
    }

    @Test
    void rollbackAcrossManyChangesRestoresThatVersionExactly() {
        java.util.Random random = new java.util.Random(15);
        for (int i = 0; i < 30; i++) {
            put(registry, EntityKind.ROUTE, "r" + i, route("r" + i, "/r" + i, 1 + i));
        }
        put(registry, EntityKind.CONSUMER, "c", consumer("c"));
        long target = registry.version();
        EntitySet then = registry.at(target).orElseThrow();
        for (int i = 0; i < 150; i++) {
            int r = random.nextInt(40);
            switch (random.nextInt(4)) {
                case 0 -> put(registry, EntityKind.ROUTE, "r" + r, route("r" + r, "/r" + r, 100 + i));
                case 1 -> {
                    if (registry.read(v -> v.entities().get(EntityKind.ROUTE, "r" + r)) != null) {
                        registry.change("test", Role.PLATFORM, "delete", m -> registry.set(m, EntityKind.ROUTE,
                                "r" + r, null), p -> p);
                    }
                }
                case 2 -> put(registry, EntityKind.API_KEY, "c/k" + i, key("k" + i, 5000 + i));
                default -> put(registry, EntityKind.GLOBAL_PLUGINS, EntityKind.SINGLE, EntitySet.tree(
                        "[{\"name\":\"limit\",\"config\":{\"rate\":" + (i + 1) + "}}]"));
            }
        }
        assertTrue(registry.version() > target + 100);
        Registry.Committed back = registry.rollback(target, "test", Role.PLATFORM);
        assertNotNull(back.version());
        assertEquals(List.of(), registry.read(v -> v.entities().changesTo(then)));
        assertEquals(List.of(), store.load().entities().changesTo(then));
        // the history keeps every step: what each version was can still be read
        assertEquals(List.of(), registry.at(target).orElseThrow().changesTo(then));
        assertTrue(registry.at(0).isEmpty());
        ApiError gone = assertThrows(ApiError.class, () -> registry.rollback(registry.version() + 5, "t", Role.PLATFORM));
        assertEquals(404, gone.status());
    }

    @Test
    void importingTheExportOfALargeConfigChangesNothing() throws Exception {
        ObjectNode doc = Registry.mapper().createObjectNode();
        doc.putArray("global_plugins").addObject().put("name", "limit").putObject("config").put("rate", 5);
        ArrayNode routes = doc.putArray("routes");
        for (int i = 0; i < 300; i++) {
            routes.add(route("route-" + i, "/api/" + i + "/**", 1 + i % 7));
        }
        ArrayNode consumers = doc.putArray("consumers");
        for (int i = 0; i < 3000; i++) {
            ObjectNode c = consumer("consumer-" + i);
            c.putArray("api_keys").add(key("k" + i, i + 1));
            consumers.add(c);
        }
        doc.putObject("settings").putObject("clients").put("max_connections", 5000);
        List<EntityChange> first = registry.validateImport(SourceTree.parse(doc.toString()));
        assertEquals(1 + 300 + 3000 + 3000 + 1, first.size());
        registry.change("test", Role.PLATFORM, "import", m -> registry.replaceAll(m, doc), p -> p);
        long version = registry.version();

        // the export, as JSON and as YAML, read back: zero changes, and no version is committed
        ObjectNode exported = registry.document();
        for (String text : List.of(exported.toString(), AdminApi.yaml(exported))) {
            SourceTree tree = SourceTree.parse(text);
            assertEquals(List.of(), registry.validateImport(tree));
            Registry.Committed c = registry.change("test", Role.PLATFORM, "import",
                    m -> registry.replaceAll(m, (ObjectNode) tree.root()), p -> p);
            assertNull(c.version());
        }
        assertEquals(version, store.latestVersion());
        // one edited number in a re-import is exactly one change
        JsonNode fifth = exported.path("routes").get(5);
        ((ObjectNode) fifth.path("upstream").path("targets").get(0)).put("weight", 99);
        List<EntityChange> one = registry.validateImport(SourceTree.parse(exported.toString()));
        assertEquals(1, one.size());
        assertEquals(fifth.path("id").asText(), one.getFirst().id());
    }
}
