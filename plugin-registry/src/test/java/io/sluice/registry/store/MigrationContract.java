package io.sluice.registry.store;

import com.zaxxer.hikari.HikariDataSource;
import io.sluice.registry.model.EntityKind;
import io.sluice.registry.model.EntitySet;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A store written by the whole-document schema (V1-V2: one JSON document per version) opened by this version:
 * V3/V4 turn it into entities and change sets, keeping every version's history.
 */
abstract class MigrationContract {
    /** @return a JDBC URL of an empty database */
    abstract String url();

    /** Opens the migrated store on {@link #url()}. */
    abstract Store open();

    static final String[] DOCUMENTS = {
        "{\"routes\":[{\"id\":\"a\",\"paths\":[\"/a\"],\"upstream\":{\"targets\":[{\"url\":\"http://x:1\"}]}}]}",
        "{\"routes\":[{\"id\":\"a\",\"paths\":[\"/a\"],\"upstream\":{\"targets\":[{\"url\":\"http://x:1\"}]}},"
                + "{\"id\":\"b\",\"paths\":[\"/b\"],\"upstream\":{\"targets\":[{\"url\":\"http://x:2\"}]}}],"
                + "\"consumers\":[{\"id\":\"c\",\"api_keys\":[{\"id\":\"k1\",\"hash\":\"sha256:" + "1".repeat(64)
                + "\"}]}]}",
        "{\"global_plugins\":[{\"name\":\"cors\",\"config\":{}}],"
                + "\"routes\":[{\"id\":\"b\",\"paths\":[\"/b2\"],\"upstream\":{\"targets\":[{\"url\":\"http://x:2\"}]}}],"
                + "\"consumers\":[{\"id\":\"c\",\"tags\":[\"gold\"],\"api_keys\":[{\"id\":\"k1\",\"hash\":\"sha256:"
                + "1".repeat(64) + "\"},{\"id\":\"k2\",\"hash\":\"sha256:" + "2".repeat(64) + "\"}]}]}",
    };

    @Test
    void wholeDocumentVersionsBecomeEntitiesAndChangeSets() throws Exception {
        try (HikariDataSource ds = new HikariDataSource()) {
            ds.setJdbcUrl(url());
            Flyway.configure().dataSource(ds).locations("classpath:io/sluice/registry/store/migration")
                    .target("2").load().migrate();
            try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement("INSERT INTO"
                    + " config_version (version, content, author, role, created_at, summary) VALUES (?, ?, ?, ?, ?, ?)")) {
                for (int i = 0; i < DOCUMENTS.length; i++) {
                    ps.setLong(1, i + 1);
                    ps.setString(2, DOCUMENTS[i]);
                    ps.setString(3, "alice");
                    ps.setString(4, "platform");
                    ps.setTimestamp(5, Timestamp.from(Instant.now()));
                    ps.setString(6, "v" + (i + 1));
                    ps.executeUpdate();
                }
            }
        }
        try (Store store = open()) {
            StoredConfig now = store.load();
            assertEquals(3, now.version());
            assertEquals(List.of(), now.entities().changesTo(EntitySet.of(EntitySet.tree(DOCUMENTS[2]))));
            assertEquals(2, now.entities().keysOf("c").size());
            List<VersionChanges> history = store.changesSince(0, 100).orElseThrow();
            assertEquals(List.of(1L, 2L, 3L), history.stream().map(v -> v.version().version()).toList());
            assertEquals("v2", history.get(1).version().summary());
            // replaying the change sets rebuilds each version's document exactly
            EntitySet replay = new EntitySet();
            for (int i = 0; i < DOCUMENTS.length; i++) {
                replay.apply(history.get(i).changes());
                assertEquals(List.of(), replay.changesTo(EntitySet.of(EntitySet.tree(DOCUMENTS[i]))), "version " + (i + 1));
            }
            // version 3: global plugins added, a removed, b changed, c changed, key k2 added
            List<String> v3 = history.get(2).changes().stream().map(ch -> ch.kind().wire() + ":" + ch.id() + ":"
                    + ch.change()).toList();
            assertEquals(List.of("global_plugins:*:added", "route:b:changed", "route:a:removed", "consumer:c:changed",
                    "api_key:c/k2:added"), v3);
            assertEquals(5, store.version(3).orElseThrow().changes());
            assertTrue(store.load().entities().get(EntityKind.ROUTE, "a") == null);
        }
    }
}
