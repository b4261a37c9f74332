package io.sluice.registry.store;

import io.sluice.registry.model.EntityChange;
import io.sluice.registry.model.EntityKind;
import io.sluice.registry.model.EntitySet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The one storage suite; each backend runs it ({@link EmbeddedStoreTest}, {@link PostgresStoreIT}).
 */
abstract class StoreContract {
    Store store;

    /** Opens the store on the backend's (persistent) location. */
    abstract Store open();

    /** Removes what the backend created. */
    abstract void cleanUp();

    @BeforeEach
    void openStore() {
        store = open();
    }

    @AfterEach
    void closeStore() {
        store.close();
        cleanUp();
    }

    @Test
    void emptyStoreHasNoVersion() {
        assertEquals(0, store.latestVersion());
        assertTrue(store.latest().isEmpty());
        assertTrue(store.history(10).isEmpty());
        assertEquals(0, store.load().entities().size());
    }

    private static EntityChange add(EntityKind kind, String id, String body) {
        return new EntityChange(kind, id, null, body);
    }

    private static String route(String id, String path) {
        return "{\"id\":\"" + id + "\",\"paths\":[\"" + path + "\"]}";
    }

    @Test
    void commitsNumberVersionsAndKeepHistory() throws Exception {
        ConfigVersion v1 = store.commit(0, List.of(add(EntityKind.ROUTE, "a", route("a", "/a"))), "alice",
                "platform", "first");
        ConfigVersion v2 = store.commit(1, List.of(add(EntityKind.ROUTE, "b", route("b", "/b")),
                new EntityChange(EntityKind.ROUTE, "a", route("a", "/a"), null)), "bob", "platform", "b, not a");
        assertEquals(1, v1.version());
        assertEquals(2, v2.version());
        assertEquals(2, store.latestVersion());
        StoredConfig now = store.load();
        assertEquals(2, now.version());
        assertEquals(List.of("b"), List.copyOf(now.entities().all(EntityKind.ROUTE).keySet()));
        assertEquals(route("b", "/b"), now.entities().get(EntityKind.ROUTE, "b"));
        List<ConfigVersion> history = store.history(10);
        assertEquals(List.of(2L, 1L), history.stream().map(ConfigVersion::version).toList());
        assertEquals("bob", history.get(0).author());
        assertEquals("b, not a", history.get(0).summary());
        assertEquals(2, history.get(0).changes());
        assertTrue(store.version(7).isEmpty());
        // each version holds its change set, before and after
        List<VersionChanges> since = store.changesSince(0, 100).orElseThrow();
        assertEquals(List.of(1L, 2L), since.stream().map(v -> v.version().version()).toList());
        EntityChange removed = since.get(1).changes().get(1);
        assertEquals("removed", removed.change());
        assertEquals(route("a", "/a"), removed.before());
        assertEquals(List.of(), store.changesSince(2, 100).orElseThrow());
    }

    @Test
    void farBehindReadersAreToldToLoadEverything() throws Exception {
        for (int i = 0; i < 5; i++) {
            store.commit(i, List.of(add(EntityKind.ROUTE, "r" + i, route("r" + i, "/r" + i))), "a", "platform", "r");
        }
        assertEquals(2, store.changesSince(3, 2).orElseThrow().size());
        assertTrue(store.changesSince(0, 4).isEmpty(), "5 changes are more than the 4 asked for");
        assertEquals(5, store.load().entities().all(EntityKind.ROUTE).size());
    }

    @Test
    void oldVersionsArePrunedInTheBackgroundBigOnesInChunks() throws Exception {
        store.close();
        System.setProperty("sluice.config.kept-versions", "5");
        try {
            store = open();
        } finally {
            System.clearProperty("sluice.config.kept-versions");
        }
        assertEquals(5, store.keptVersions());
        // version 1 is an import-sized change set: more rows than one prune chunk
        List<EntityChange> big = new java.util.ArrayList<>();
        for (int i = 0; i < 12_000; i++) {
            big.add(add(EntityKind.CONSUMER, "c" + i, "{\"id\":\"c" + i + "\"}"));
        }
        store.commit(0, big, "a", "platform", "import");
        for (int i = 1; i < 12; i++) {
            store.commit(i, List.of(add(EntityKind.ROUTE, "r" + i, route("r" + i, "/r" + i))), "a", "platform", "r");
        }
        assertTrue(store.awaitPruned(30_000));
        assertEquals(List.of(12L, 11L, 10L, 9L, 8L), store.history(100).stream().map(ConfigVersion::version).toList());
        assertTrue(store.changesSince(0, 1_000_000).isEmpty(), "pruned: a reader that far behind loads everything");
        assertEquals(5, store.changesSince(7, 100).orElseThrow().size());
        assertEquals(12_000 + 11, store.load().entities().size(), "pruning never touches the current entities");
    }

    @Test
    void staleBaseIsRefusedAndChangesNothing() throws Exception {
        store.commit(0, List.of(add(EntityKind.ROUTE, "a", route("a", "/a"))), "alice", "platform", "first");
        assertThrows(StaleVersionException.class, () -> store.commit(0,
                List.of(add(EntityKind.ROUTE, "x", route("x", "/x"))), "bob", "platform", "late"));
        assertEquals(List.of("a"), List.copyOf(store.load().entities().all(EntityKind.ROUTE).keySet()));
        assertEquals(1, store.changesSince(0, 100).orElseThrow().size());
    }

    @Test
    void concurrentWritersNeverShareAVersion() throws Exception {
        int writers = 8;
        AtomicInteger committed = new AtomicInteger();
        CountDownLatch start = new CountDownLatch(1);
        Thread[] threads = new Thread[writers];
        List<Throwable> errors = new java.util.concurrent.CopyOnWriteArrayList<>();
        for (int i = 0; i < writers; i++) {
            int n = i;
            threads[i] = Thread.ofVirtual().start(() -> {
                try {
                    start.await();
                    for (int k = 0; k < 5; k++) {
                        while (true) {
                            long base = store.latestVersion();
                            try {
                                store.commit(base, List.of(add(EntityKind.CONSUMER, "w" + n + "-" + k,
                                        "{\"id\":\"w" + n + "-" + k + "\"}")), "w" + n, "platform", "w");
                                committed.incrementAndGet();
                                break;
                            } catch (StaleVersionException e) {
                                // re-read and retry, as the admin API does
                            }
                        }
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            });
        }
        start.countDown();
        for (Thread t : threads) {
            t.join();
        }
        assertEquals(List.of(), errors);
        assertEquals(writers * 5, committed.get());
        assertEquals(writers * 5, store.latestVersion());
        assertEquals(writers * 5, store.history(100).size());
        assertEquals(writers * 5, store.load().entities().all(EntityKind.CONSUMER).size());
        // no version lost or doubled: the change sets replayed give the same entities
        EntitySet replayed = new EntitySet();
        store.changesSince(0, 1000).orElseThrow().forEach(v -> replayed.apply(v.changes()));
        assertEquals(List.of(), replayed.changesTo(store.load().entities()));
    }

    @Test
    void survivesRestart() throws Exception {
        store.commit(0, List.of(add(EntityKind.SETTINGS, "*", "{\"kept\":true}")), "alice", "platform",
                "persist me");
        store.addToken(new TokenRecord("t1", "ci", "developer", "sha256:" + "a".repeat(64), Instant.now(), "alice"));
        store.audit(new AuditEntry(0, Instant.now(), "alice", Optional.of("platform"), "PUT /v1/routes/a", 201,
                Optional.of(1L), "created"));
        store.addFilter(new FilterRecord("tagger", "1.0.0", "js", "ff", "{}", Instant.now(), "dev"), new byte[]{1, 2});
        store.close();
        store = open();
        assertEquals("{\"kept\":true}", store.load().entities().get(EntityKind.SETTINGS, "*"));
        assertEquals("persist me", store.latest().orElseThrow().summary());
        assertEquals("ci", store.tokenByHash("sha256:" + "a".repeat(64)).orElseThrow().name());
        assertEquals("PUT /v1/routes/a", store.audit(10, Long.MAX_VALUE).get(0).action());
        assertArrayEquals(new byte[]{1, 2}, store.filterContent("tagger", "1.0.0").orElseThrow());
    }

    @Test
    void tokensAreFoundByHashOnly() {
        store.addToken(new TokenRecord("t1", "ci", "auditor", "sha256:" + "b".repeat(64), Instant.now(), "alice"));
        assertEquals("auditor", store.tokenByHash("sha256:" + "b".repeat(64)).orElseThrow().role());
        assertTrue(store.tokenByHash("sha256:" + "c".repeat(64)).isEmpty());
        assertEquals(1, store.tokens().size());
    }

    @Test
    void auditPagesNewestFirst() {
        for (int i = 0; i < 5; i++) {
            store.audit(new AuditEntry(0, Instant.now(), "a", Optional.empty(), "GET /v1/routes", 200 + i,
                    Optional.empty(), ""));
        }
        List<AuditEntry> page = store.audit(2, Long.MAX_VALUE);
        assertEquals(List.of(204, 203), page.stream().map(AuditEntry::status).toList());
        List<AuditEntry> next = store.audit(2, page.get(1).id());
        assertEquals(List.of(202, 201), next.stream().map(AuditEntry::status).toList());
        assertTrue(next.get(0).role().isEmpty());
    }

    @Test
    void filterNameAndVersionAreUnique() {
        FilterRecord f = new FilterRecord("tagger", "1.0.0", "js", "ab", "{}", Instant.now(), "dev");
        assertTrue(store.addFilter(f, new byte[]{1}));
        assertFalse(store.addFilter(f, new byte[]{2}));
        assertArrayEquals(new byte[]{1}, store.filterContent("tagger", "1.0.0").orElseThrow());
        assertEquals(1, store.filters().size());
        assertTrue(store.deleteFilter("tagger", "1.0.0"));
        assertTrue(store.filter("tagger", "1.0.0").isEmpty());
    }

    @Test
    void auditRowsCarrySourceAndCountAndArePrunedByAgeAndNumber() {
        Instant now = Instant.now();
        store.audit(new AuditEntry(0, now.minusSeconds(86_400L * 40), "old", Optional.empty(), "PUT /v1/a", 200,
                Optional.empty(), "ok"));
        for (int i = 0; i < 3; i++) {
            store.audit(new AuditEntry(0, now, "anonymous", Optional.empty(), "GET /v1/routes", 401,
                    Optional.empty(), "folded", Optional.of("10.0.0." + i), 1000 + i));
        }
        assertEquals(4, store.auditRows());
        AuditEntry newest = store.audit(1, Long.MAX_VALUE).getFirst();
        assertEquals(Optional.of("10.0.0.2"), newest.source());
        assertEquals(1002, newest.count());
        assertEquals(1, store.audit(10, Long.MAX_VALUE).getLast().count(), "rows default to a count of 1");
        assertEquals(1, store.pruneAudit(Optional.of(now.minusSeconds(86_400L * 30)), 0));
        assertEquals(1, store.pruneAudit(Optional.empty(), 2));
        assertEquals(List.of(1002L, 1001L), store.audit(10, Long.MAX_VALUE).stream().map(AuditEntry::count).toList());
        assertEquals(0, store.pruneAudit(Optional.empty(), 5));
    }
}
