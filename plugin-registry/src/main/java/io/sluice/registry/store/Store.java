package io.sluice.registry.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.sluice.registry.model.EntityChange;
import io.sluice.registry.model.EntityKind;
import io.sluice.registry.model.EntitySet;
import org.flywaydb.core.Flyway;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.sql.Timestamp;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The registry's storage: config entities and the change set of every version, admin tokens, the audit log and uploaded filters, over JDBC.
 * Two backends share one schema and one set of Flyway migrations: an embedded H2 database in the data dir
 * (the default: one process, nothing to install) and PostgreSQL (many gateway nodes).
 *
 * <p>Every failure to reach the database surfaces as {@link StoreUnavailableException}, quickly (connection
 * timeout 2 s), so the admin API can answer 503 and data planes can fall back to their local snapshot.
 */
public final class Store implements AutoCloseable {
    /** Versions kept for rollback; older ones are pruned on commit. */
    public static final int KEPT_VERSIONS = 1000;

    private final HikariDataSource pool;
    private final String description;

    private Store(HikariDataSource pool, String description) {
        this.pool = pool;
        this.description = description;
    }

    /** H2's {@code DATABASE_ALREADY_OPEN_1}: another process holds the file. */
    private static final int H2_IN_USE = 90020;

    /**
     * The embedded store: an H2 database file under {@code dataDir}, migrated to the current schema.
     * Only one process can open it.
     *
     * @param dataDir the data directory
     * @return the store
     */
    public static Store embedded(Path dataDir) {
        String url = "jdbc:h2:file:" + dataDir.toAbsolutePath().resolve("store").toString().replace('\\', '/')
                + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DEFAULT_NULL_ORDERING=HIGH";
        String description = "embedded H2 (" + dataDir.resolve("store.mv.db") + ")";
        // Opening the file (H2's classes, recovery, the first pages) can take seconds on a core busy with another
        // start-up, and the pool waits 2 s for a connection, a wait meant for a database that does not answer,
        // which a file cannot be. The first connection is made here without a time-out and held while the pool
        // migrates; a file another process holds still fails at once.
        try (Connection first = DriverManager.getConnection(url)) {
            return open(url, description, true);
        } catch (SQLException e) {
            throw new StoreUnavailableException("cannot open " + description + ": " + (e.getErrorCode() == H2_IN_USE
                    ? "it is in use by another process (one node per data dir; nodes share a store through"
                    + " --postgres)" : rootMessage(e)), e);
        }
    }

    /**
     * PostgreSQL, migrated to the current schema (control plane, standalone).
     *
     * @param jdbcUrl e.g. {@code jdbc:postgresql://127.0.0.1:5432/sluice?user=sluice}
     * @return the store
     */
    public static Store postgres(String jdbcUrl) {
        return open(requirePostgres(jdbcUrl), "PostgreSQL (" + redact(jdbcUrl) + ")", true);
    }

    /**
     * PostgreSQL for a data plane: reads only, never migrates, and starts even while the database is down.
     *
     * @param jdbcUrl JDBC URL
     * @return the store
     */
    public static Store postgresReader(String jdbcUrl) {
        return open(requirePostgres(jdbcUrl), "PostgreSQL (" + redact(jdbcUrl) + ", read only)", false);
    }

    private static String requirePostgres(String jdbcUrl) {
        if (!jdbcUrl.startsWith("jdbc:postgresql:")) {
            throw new IllegalArgumentException("--postgres must be a jdbc:postgresql://HOST:PORT/DB URL, got '"
                    + redact(jdbcUrl) + "'");
        }
        return jdbcUrl;
    }

    private static Store open(String url, String description, boolean migrate) {
        HikariConfig hc = new HikariConfig();
        hc.setJdbcUrl(url);
        hc.setPoolName("sluice-store");
        hc.setMaximumPoolSize(4);
        hc.setMinimumIdle(0);
        hc.setConnectionTimeout(2_000);
        hc.setValidationTimeout(1_000);
        // build the pool even while the database is down; each call then fails fast with 503
        hc.setInitializationFailTimeout(-1);
        if (url.startsWith("jdbc:postgresql:")) {
            // a commit's change rows and entity rows go as multi-row INSERTs: an import of 100,000 entities is a
            // few hundred statements, not 100,000
            hc.addDataSourceProperty("reWriteBatchedInserts", "true");
        }
        HikariDataSource ds = new HikariDataSource(hc);
        if (migrate) {
            try {
                Flyway.configure()
                        .dataSource(ds)
                        .locations("classpath:io/sluice/registry/store/migration")
                        .connectRetries(0)
                        .load()
                        .migrate();
            } catch (RuntimeException e) {
                ds.close();
                throw new StoreUnavailableException("cannot open " + description + ": " + rootMessage(e), e);
            }
        }
        return new Store(ds, description);
    }

    /**
     * @return what this store is, for logs (passwords redacted)
     */
    public String description() {
        return description;
    }

    // ---- config: entities and versions

    private static final String VERSION_COLUMNS = "version, author, role, created_at, summary, changes";

    /**
     * The newest version's metadata.
     *
     * @return it, or empty when nothing was committed yet
     */
    public Optional<ConfigVersion> latest() {
        return query("SELECT " + VERSION_COLUMNS + " FROM config_version ORDER BY version DESC LIMIT 1",
                ps -> { }, Store::version).stream().findFirst();
    }

    /**
     * The newest version number only (cheap; data planes poll it).
     *
     * @return the newest version, 0 when none
     */
    public long latestVersion() {
        return query("SELECT MAX(version) FROM config_version", ps -> { }, rs -> rs.getLong(1))
                .stream().findFirst().orElse(0L);
    }

    /**
     * One kept version's metadata.
     *
     * @param version version number
     * @return it, or empty when unknown or pruned
     */
    public Optional<ConfigVersion> version(long version) {
        return query("SELECT " + VERSION_COLUMNS + " FROM config_version WHERE version = ?",
                ps -> ps.setLong(1, version), Store::version).stream().findFirst();
    }

    /**
     * History, newest first.
     *
     * @param limit at most this many
     * @return versions
     */
    public List<ConfigVersion> history(int limit) {
        return query("SELECT " + VERSION_COLUMNS + " FROM config_version ORDER BY version DESC LIMIT ?",
                ps -> ps.setInt(1, limit), Store::version);
    }

    /**
     * The whole current config, consistent with its version (one repeatable-read transaction).
     *
     * @return entities and version
     */
    public StoredConfig load() {
        try (Connection c = connection()) {
            int isolation = c.getTransactionIsolation();
            c.setAutoCommit(false);
            c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
            try {
                ConfigVersion latest = null;
                try (PreparedStatement ps = c.prepareStatement("SELECT " + VERSION_COLUMNS
                        + " FROM config_version ORDER BY version DESC LIMIT 1"); ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        latest = version(rs);
                    }
                }
                List<EntityChange> rows = new ArrayList<>();
                try (PreparedStatement ps = c.prepareStatement("SELECT kind, id, body FROM config_entity");
                     ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        EntityKind kind = kind(rs.getString(1));
                        rows.add(new EntityChange(kind, rs.getString(2), null, rs.getString(3)));
                    }
                }
                c.commit();
                EntitySet entities = new EntitySet();
                entities.apply(rows);
                return new StoredConfig(latest == null ? 0 : latest.version(), latest, entities);
            } finally {
                c.rollback();
                c.setTransactionIsolation(isolation);
                c.setAutoCommit(true);
            }
        } catch (SQLException e) {
            throw failure(e);
        }
    }

    /**
     * The change sets of the versions after {@code version}, oldest first: what a data plane at that version
     * applies to catch up, and what a rollback to it undoes.
     *
     * @param version    the version the caller has
     * @param maxChanges at most this many entity changes in total; more means "load the whole config instead"
     * @return the change sets, or empty when versions after it were pruned or there are more than
     *         {@code maxChanges} changes
     */
    public Optional<List<VersionChanges>> changesSince(long version, int maxChanges) {
        // the common case, nothing new, is one query; reads of versions committed between the queries below are
        // harmless: a change row is only used with its version row, which commits in the same transaction
        try (Connection c = connection()) {
            {
                long oldest;
                long count;
                try (PreparedStatement ps = c.prepareStatement("SELECT MIN(version), COALESCE(SUM(changes), 0)"
                        + " FROM config_version WHERE version > ?")) {
                    ps.setLong(1, version);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        oldest = rs.getLong(1);
                        count = rs.getLong(2);
                    }
                }
                if (oldest == 0) {
                    return Optional.of(List.of());
                }
                if (oldest != version + 1 || count > maxChanges) {
                    return Optional.empty();
                }
                List<ConfigVersion> versions = new ArrayList<>();
                try (PreparedStatement ps = c.prepareStatement("SELECT " + VERSION_COLUMNS
                        + " FROM config_version WHERE version > ? ORDER BY version")) {
                    ps.setLong(1, version);
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            versions.add(version(rs));
                        }
                    }
                }
                java.util.Map<Long, List<EntityChange>> changes = new java.util.HashMap<>();
                if (versions.isEmpty()) {
                    return Optional.of(List.of());
                }
                // a closed range: a prepared statement's generic plan assumes a third of the table for "version > ?"
                // and scans all of it (an import leaves 100,000 rows); a range of versions walks the primary key
                try (PreparedStatement ps = c.prepareStatement("SELECT version, kind, id, before_body, after_body"
                        + " FROM config_change WHERE version BETWEEN ? AND ? ORDER BY version, seq")) {
                    ps.setLong(1, version + 1);
                    ps.setLong(2, versions.getLast().version());
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            changes.computeIfAbsent(rs.getLong(1), v -> new ArrayList<>()).add(new EntityChange(
                                    kind(rs.getString(2)), rs.getString(3), rs.getString(4), rs.getString(5)));
                        }
                    }
                }
                List<VersionChanges> out = new ArrayList<>();
                for (ConfigVersion v : versions) {
                    List<EntityChange> set = changes.getOrDefault(v.version(), List.of());
                    if (set.size() != v.changes()) {
                        return Optional.empty();   // pruned between the reads: the caller loads everything
                    }
                    out.add(new VersionChanges(v, List.copyOf(set)));
                }
                return Optional.of(out);
            }
        } catch (SQLException e) {
            throw failure(e);
        }
    }

    /**
     * Commits a change set as version {@code base + 1}: the version row, its change rows and the entity rows, in
     * one transaction. Fails if another writer committed in between, so a read-validate-write never loses
     * someone else's change; then nothing is written.
     *
     * @param base    the version the change was computed and validated against
     * @param changes the change set (not empty)
     * @param author  token name
     * @param role    token role
     * @param summary one line
     * @return the committed version
     * @throws StaleVersionException if {@code base} is no longer the newest
     */
    public ConfigVersion commit(long base, List<EntityChange> changes, String author, String role, String summary)
            throws StaleVersionException {
        long next = base + 1;
        Instant now = Instant.now();
        try (Connection c = connection()) {
            c.setAutoCommit(false);
            try {
                try (PreparedStatement ps = c.prepareStatement("SELECT MAX(version) FROM config_version");
                     ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    if (rs.getLong(1) != base) {
                        throw new StaleVersionException(next);
                    }
                }
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO config_version"
                        + " (version, author, role, created_at, summary, changes) VALUES (?, ?, ?, ?, ?, ?)")) {
                    ps.setLong(1, next);
                    ps.setString(2, author);
                    ps.setString(3, role);
                    ps.setTimestamp(4, Timestamp.from(now));
                    ps.setString(5, clip(summary, 2000));
                    ps.setInt(6, changes.size());
                    ps.executeUpdate();
                }
                try (PreparedStatement ins = c.prepareStatement("INSERT INTO config_change"
                        + " (version, seq, kind, id, before_body, after_body) VALUES (?, ?, ?, ?, ?, ?)")) {
                    int seq = 0;
                    for (EntityChange ch : changes) {
                        ins.setLong(1, next);
                        ins.setInt(2, seq++);
                        ins.setString(3, ch.kind().wire());
                        ins.setString(4, ch.id());
                        ins.setString(5, ch.before());
                        ins.setString(6, ch.after());
                        ins.addBatch();
                    }
                    ins.executeBatch();
                }
                try (PreparedStatement del = c.prepareStatement("DELETE FROM config_entity WHERE kind = ? AND id = ?");
                     PreparedStatement put = c.prepareStatement("INSERT INTO config_entity (kind, id, body, version)"
                             + " VALUES (?, ?, ?, ?)")) {
                    for (EntityChange ch : changes) {
                        if (ch.before() != null) {
                            del.setString(1, ch.kind().wire());
                            del.setString(2, ch.id());
                            del.addBatch();
                        }
                    }
                    del.executeBatch();
                    for (EntityChange ch : changes) {
                        if (ch.after() != null) {
                            put.setString(1, ch.kind().wire());
                            put.setString(2, ch.id());
                            put.setString(3, ch.after());
                            put.setLong(4, next);
                            put.addBatch();
                        }
                    }
                    put.executeBatch();
                }
                c.commit();
            } catch (SQLException e) {
                c.rollback();
                if (e.getSQLState() != null && e.getSQLState().startsWith("23")) {
                    // a concurrent writer inserted the same version (or entity) first
                    throw new StaleVersionException(next);
                }
                throw e;
            } catch (StaleVersionException | RuntimeException e) {
                c.rollback();
                throw e;
            } finally {
                c.setAutoCommit(true);
            }
        } catch (SQLException e) {
            throw failure(e);
        }
        if (next > keptVersions) {
            schedulePrune(next - keptVersions);
        }
        return new ConfigVersion(next, author, role, now, summary, changes.size());
    }

    // ---- pruning old versions, off the commit path

    private final int keptVersions = Integer.getInteger("sluice.config.kept-versions", KEPT_VERSIONS);
    private final java.util.concurrent.atomic.AtomicLong pruneUpTo = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicBoolean pruning = new java.util.concurrent.atomic.AtomicBoolean();
    private static final int PRUNE_CHUNK = 5_000;

    /**
     * @return how many versions are kept ({@value #KEPT_VERSIONS} unless the JVM property
     *         {@code sluice.config.kept-versions} says otherwise)
     */
    public int keptVersions() {
        return keptVersions;
    }

    /**
     * Versions older than the kept ones are deleted by a background task, not by the commit that makes them old:
     * an import's version holds one change row per entity (100,000 at seed scale), and deleting them on a write's
     * path stalled that write for seconds. The version row goes first (readers then see the gap and load the
     * whole config), then its change rows in chunks of {@value #PRUNE_CHUNK}, each its own transaction.
     */
    private void schedulePrune(long upTo) {
        pruneUpTo.accumulateAndGet(upTo, Math::max);
        if (pruning.compareAndSet(false, true)) {
            Thread.ofVirtual().name("sluice-store-prune").start(this::pruneLoop);
        }
    }

    private void pruneLoop() {
        try {
            while (true) {
                long target = pruneUpTo.get();
                pruneVersions(target);
                pruning.set(false);
                if (pruneUpTo.get() == target || !pruning.compareAndSet(false, true)) {
                    return;
                }
            }
        } catch (RuntimeException e) {
            pruning.set(false);
            java.util.logging.Logger.getLogger(Store.class.getName()).fine("pruning old config versions: " + e);
        }
    }

    private void pruneVersions(long upTo) {
        update("DELETE FROM config_version WHERE version <= ?", ps -> ps.setLong(1, upTo));
        List<long[]> left = query("SELECT version, MAX(seq) FROM config_change WHERE version <= ? GROUP BY version",
                ps -> ps.setLong(1, upTo), rs -> new long[]{rs.getLong(1), rs.getLong(2)});
        for (long[] v : left) {
            for (long bound = PRUNE_CHUNK; ; bound += PRUNE_CHUNK) {
                long b = bound;
                update("DELETE FROM config_change WHERE version = ? AND seq < ?", ps -> {
                    ps.setLong(1, v[0]);
                    ps.setLong(2, b);
                });
                if (b > v[1]) {
                    break;
                }
            }
        }
    }

    /**
     * Waits until pruning scheduled so far is done (tests, shutdown).
     *
     * @param timeoutMs at most this long
     * @return whether it is done
     * @throws InterruptedException if interrupted
     */
    public boolean awaitPruned(long timeoutMs) throws InterruptedException {
        long end = System.nanoTime() + timeoutMs * 1_000_000L;
        while (pruning.get()) {
            if (System.nanoTime() > end) {
                return false;
            }
            Thread.sleep(10);
        }
        return true;
    }

    private static EntityKind kind(String wire) throws SQLException {
        return EntityKind.of(wire).orElseThrow(() -> new SQLException("unknown entity kind '" + wire
                + "' in the store (written by a newer Sluice?)"));
    }

    // ---- tokens

    /**
     * Stores a token's hash.
     *
     * @param token the record
     */
    public void addToken(TokenRecord token) {
        update("INSERT INTO admin_token (id, name, role, token_hash, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)",
                ps -> {
                    ps.setString(1, token.id());
                    ps.setString(2, token.name());
                    ps.setString(3, token.role());
                    ps.setString(4, token.hash());
                    ps.setTimestamp(5, Timestamp.from(token.createdAt()));
                    ps.setString(6, token.createdBy());
                });
    }

    /**
     * Looks a token up by the hash of the presented value.
     *
     * @param hash {@code sha256:<hex>}
     * @return the token, if any
     */
    public Optional<TokenRecord> tokenByHash(String hash) {
        return query("SELECT id, name, role, token_hash, created_at, created_by FROM admin_token WHERE token_hash = ?",
                ps -> ps.setString(1, hash), Store::token).stream().findFirst();
    }

    /**
     * @return all tokens (hashes included; the API never shows them)
     */
    public List<TokenRecord> tokens() {
        return query("SELECT id, name, role, token_hash, created_at, created_by FROM admin_token ORDER BY created_at",
                ps -> { }, Store::token);
    }

    /**
     * Revokes a token.
     *
     * @param id its public id
     * @return whether it existed
     */
    public boolean deleteToken(String id) {
        return update("DELETE FROM admin_token WHERE id = ?", ps -> ps.setString(1, id)) > 0;
    }

    // ---- audit

    /**
     * Appends to the audit log.
     *
     * @param e the entry (its id is ignored)
     */
    public void audit(AuditEntry e) {
        update("INSERT INTO audit_log (at, actor, role, action, status, config_version, message, source, count)"
                + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", ps -> {
                    ps.setTimestamp(1, Timestamp.from(e.at()));
                    ps.setString(2, clip(e.actor(), 200));
                    ps.setString(3, e.role().orElse(null));
                    ps.setString(4, clip(e.action(), 300));
                    ps.setInt(5, e.status());
                    if (e.configVersion().isPresent()) {
                        ps.setLong(6, e.configVersion().get());
                    } else {
                        ps.setNull(6, Types.BIGINT);
                    }
                    ps.setString(7, clip(e.message(), 2000));
                    ps.setString(8, clip(e.source().orElse(null), 64));
                    ps.setLong(9, Math.max(1, e.count()));
                });
    }

    /**
     * Audit entries, newest first.
     *
     * @param limit    at most this many
     * @param beforeId only entries with a smaller id (paging); {@code Long.MAX_VALUE} for the newest
     * @return entries
     */
    public List<AuditEntry> audit(int limit, long beforeId) {
        return query("SELECT id, at, actor, role, action, status, config_version, message, source, count"
                + " FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT ?", ps -> {
                    ps.setLong(1, beforeId);
                    ps.setInt(2, limit);
                }, rs -> {
                    long v = rs.getLong(7);
                    Optional<Long> version = rs.wasNull() ? Optional.empty() : Optional.of(v);
                    return new AuditEntry(rs.getLong(1), rs.getTimestamp(2).toInstant(), rs.getString(3),
                            Optional.ofNullable(rs.getString(4)), rs.getString(5), rs.getInt(6), version,
                            Optional.ofNullable(rs.getString(8)).orElse(""), Optional.ofNullable(rs.getString(9)),
                            rs.getLong(10));
                });
    }

    /**
     * @return how many rows the audit log holds (folded rows count once)
     */
    public long auditRows() {
        return query("SELECT COUNT(*) FROM audit_log", ps -> { }, rs -> rs.getLong(1)).getFirst();
    }

    /**
     * Deletes audit rows older than a cutoff, then the oldest rows beyond a maximum.
     *
     * @param olderThan rows before this go; empty: no age limit
     * @param maxRows   at most this many newest rows stay; 0: no row limit
     * @return rows deleted
     */
    public long pruneAudit(Optional<Instant> olderThan, long maxRows) {
        long deleted = 0;
        if (olderThan.isPresent()) {
            deleted += update("DELETE FROM audit_log WHERE at < ?", ps -> ps.setTimestamp(1,
                    Timestamp.from(olderThan.get())));
        }
        if (maxRows > 0) {
            Optional<Long> boundary = query("SELECT id FROM audit_log ORDER BY id DESC LIMIT 1 OFFSET ?",
                    ps -> ps.setLong(1, maxRows), rs -> rs.getLong(1)).stream().findFirst();
            if (boundary.isPresent()) {
                deleted += update("DELETE FROM audit_log WHERE id <= ?", ps -> ps.setLong(1, boundary.get()));
            }
        }
        return deleted;
    }

    // ---- filters

    /**
     * Stores an uploaded filter.
     *
     * @param f       metadata
     * @param content the artifact
     * @return false if that name + version already exists (nothing written)
     */
    public boolean addFilter(FilterRecord f, byte[] content) {
        try {
            update("INSERT INTO filter_artifact (name, version, kind, sha256, schema_json, content, created_at,"
                    + " created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", ps -> {
                        ps.setString(1, f.name());
                        ps.setString(2, f.version());
                        ps.setString(3, f.kind());
                        ps.setString(4, f.sha256());
                        ps.setString(5, f.schemaJson());
                        ps.setBytes(6, content);
                        ps.setTimestamp(7, Timestamp.from(f.createdAt()));
                        ps.setString(8, f.createdBy());
                    });
            return true;
        } catch (DuplicateKey e) {
            return false;
        }
    }

    /**
     * @return every uploaded filter version, by name then upload order
     */
    public List<FilterRecord> filters() {
        return query("SELECT name, version, kind, sha256, schema_json, created_at, created_by FROM filter_artifact"
                + " ORDER BY name, created_at", ps -> { }, Store::filter);
    }

    /**
     * @param name    filter name
     * @param version filter version
     * @return its metadata, if uploaded
     */
    public Optional<FilterRecord> filter(String name, String version) {
        return query("SELECT name, version, kind, sha256, schema_json, created_at, created_by FROM filter_artifact"
                + " WHERE name = ? AND version = ?", ps -> {
                    ps.setString(1, name);
                    ps.setString(2, version);
                }, Store::filter).stream().findFirst();
    }

    /**
     * @param name    filter name
     * @param version filter version
     * @return its content, if uploaded
     */
    public Optional<byte[]> filterContent(String name, String version) {
        return query("SELECT content FROM filter_artifact WHERE name = ? AND version = ?", ps -> {
            ps.setString(1, name);
            ps.setString(2, version);
        }, rs -> rs.getBytes(1)).stream().findFirst();
    }

    /**
     * @param name    filter name
     * @param version filter version
     * @return whether something was deleted
     */
    public boolean deleteFilter(String name, String version) {
        return update("DELETE FROM filter_artifact WHERE name = ? AND version = ?", ps -> {
            ps.setString(1, name);
            ps.setString(2, version);
        }) > 0;
    }

    /**
     * Checks that the database answers.
     *
     * @throws StoreUnavailableException if it does not
     */
    public void ping() {
        query("SELECT 1", ps -> { }, rs -> rs.getInt(1));
    }

    @Override
    public void close() {
        pool.close();
    }

    // ---- plumbing

    private interface Binder {
        void bind(PreparedStatement ps) throws SQLException;
    }

    private interface Row<T> {
        T read(ResultSet rs) throws SQLException;
    }

    private static final class DuplicateKey extends RuntimeException {
        DuplicateKey(SQLException cause) {
            super(cause);
        }
    }

    private <T> List<T> query(String sql, Binder binder, Row<T> row) {
        try (Connection c = connection(); PreparedStatement ps = c.prepareStatement(sql)) {
            binder.bind(ps);
            try (ResultSet rs = ps.executeQuery()) {
                List<T> out = new ArrayList<>();
                while (rs.next()) {
                    out.add(row.read(rs));
                }
                return out;
            }
        } catch (SQLException e) {
            throw failure(e);
        }
    }

    private int update(String sql, Binder binder) {
        try (Connection c = connection(); PreparedStatement ps = c.prepareStatement(sql)) {
            binder.bind(ps);
            return ps.executeUpdate();
        } catch (SQLException e) {
            if (e.getSQLState() != null && e.getSQLState().startsWith("23")) {
                throw new DuplicateKey(e);
            }
            throw failure(e);
        }
    }

    private Connection connection() throws SQLException {
        return pool.getConnection();
    }

    private RuntimeException failure(SQLException e) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        if (e instanceof SQLTransientConnectionException || state.startsWith("08") || state.startsWith("57P")
                || state.equals("90067") /* H2: connection broken */) {
            return new StoreUnavailableException(description + " is unavailable: " + rootMessage(e), e);
        }
        return new IllegalStateException(description + ": " + e.getMessage(), e);
    }

    private static ConfigVersion version(ResultSet rs) throws SQLException {
        return new ConfigVersion(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getTimestamp(4).toInstant(),
                rs.getString(5), rs.getInt(6));
    }

    private static TokenRecord token(ResultSet rs) throws SQLException {
        return new TokenRecord(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                rs.getTimestamp(5).toInstant(), rs.getString(6));
    }

    private static FilterRecord filter(ResultSet rs) throws SQLException {
        return new FilterRecord(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getString(5),
                rs.getTimestamp(6).toInstant(), rs.getString(7));
    }

    private static String clip(String s, int max) {
        return s == null || s.length() <= max ? s : s.substring(0, max);
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }

    /**
     * A JDBC URL with any password removed.
     *
     * @param url JDBC URL
     * @return the URL safe to print
     */
    public static String redact(String url) {
        return url.replaceAll("(?i)(password=)[^&;]*", "$1***").replaceAll("//([^:/@]+):[^@/]*@", "//$1:***@");
    }
}
