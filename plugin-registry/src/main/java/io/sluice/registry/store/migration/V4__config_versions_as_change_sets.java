package io.sluice.registry.store.migration;

import io.sluice.registry.model.EntityChange;
import io.sluice.registry.model.EntitySet;
import org.flywaydb.core.api.migration.BaseJavaMigration;
import org.flywaydb.core.api.migration.Context;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * Carries a store of whole-document versions (V1-V2) over to entities and change sets: each kept version's
 * document is split into entities and diffed against the version before it, so its change set is exactly what
 * that commit changed (the oldest kept version's change set adds everything it held). The newest document
 * becomes the {@code config_entity} rows. History, rollback and the audit log's version numbers stay valid;
 * then the documents themselves are dropped. Versions are read one at a time, so memory holds two documents.
 */
public class V4__config_versions_as_change_sets extends BaseJavaMigration {
    @Override
    public void migrate(Context context) throws Exception {
        Connection c = context.getConnection();
        EntitySet previous = new EntitySet();
        long latest = 0;
        List<Long> versions;
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT version FROM config_version ORDER BY version")) {
            versions = new java.util.ArrayList<>();
            while (rs.next()) {
                versions.add(rs.getLong(1));
            }
        }
        try (PreparedStatement read = c.prepareStatement("SELECT content FROM config_version WHERE version = ?");
             PreparedStatement change = c.prepareStatement("INSERT INTO config_change"
                     + " (version, seq, kind, id, before_body, after_body) VALUES (?, ?, ?, ?, ?, ?)");
             PreparedStatement count = c.prepareStatement("UPDATE config_version SET changes = ? WHERE version = ?")) {
            for (long v : versions) {
                read.setLong(1, v);
                String content;
                try (ResultSet rs = read.executeQuery()) {
                    rs.next();
                    content = rs.getString(1);
                }
                EntitySet current = EntitySet.of(EntitySet.tree(content == null || content.isBlank() ? "{}" : content));
                List<EntityChange> changes = previous.changesTo(current);
                int seq = 0;
                for (EntityChange ch : changes) {
                    change.setLong(1, v);
                    change.setInt(2, seq++);
                    change.setString(3, ch.kind().wire());
                    change.setString(4, ch.id());
                    change.setString(5, ch.before());
                    change.setString(6, ch.after());
                    change.addBatch();
                }
                change.executeBatch();
                count.setInt(1, changes.size());
                count.setLong(2, v);
                count.executeUpdate();
                previous = current;
                latest = v;
            }
        }
        insertEntities(c, previous, latest);
        try (Statement st = c.createStatement()) {
            st.execute("ALTER TABLE config_version DROP COLUMN content");
        }
    }

    private static void insertEntities(Connection c, EntitySet entities, long version) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO config_entity (kind, id, body, version)"
                + " VALUES (?, ?, ?, ?)")) {
            for (EntityChange ch : new EntitySet().changesTo(entities)) {
                ps.setString(1, ch.kind().wire());
                ps.setString(2, ch.id());
                ps.setString(3, ch.after());
                ps.setLong(4, version);
                ps.addBatch();
            }
            ps.executeBatch();
        }
    }
}
