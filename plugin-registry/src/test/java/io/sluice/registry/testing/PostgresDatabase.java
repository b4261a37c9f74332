package io.sluice.registry.testing;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.UUID;

/**
 * A fresh, empty database on the real PostgreSQL server (127.0.0.1:5432 by default, user postgres; override
 * with {@code SLUICE_TEST_POSTGRES=jdbc:postgresql://HOST:PORT/postgres?user=U}); dropped on close.
 */
public final class PostgresDatabase implements AutoCloseable {
    private static final String ADMIN_URL = System.getenv().getOrDefault("SLUICE_TEST_POSTGRES",
            "jdbc:postgresql://127.0.0.1:5432/postgres?user=postgres");

    private final String name;

    private PostgresDatabase(String name) {
        this.name = name;
    }

    /**
     * Creates the database.
     *
     * @return it
     */
    public static PostgresDatabase create() {
        String name = "sluice_test_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
        try (Connection c = DriverManager.getConnection(ADMIN_URL); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + name);
        } catch (SQLException e) {
            throw new IllegalStateException("PostgreSQL is needed for this test (" + ADMIN_URL + "); .ci/run installs"
                    + " and starts it: " + e.getMessage(), e);
        }
        return new PostgresDatabase(name);
    }

    /**
     * @return JDBC URL of this database
     */
    public String url() {
        return url("127.0.0.1", 5432);
    }

    /**
     * The URL through another host and port (e.g. a cuttable proxy in front of the server).
     *
     * @param host host
     * @param port port
     * @return JDBC URL
     */
    public String url(String host, int port) {
        String base = ADMIN_URL.replaceFirst("//[^/]+/postgres", "//" + host + ":" + port + "/" + name);
        return base;
    }

    /**
     * @return the server's port
     */
    public static int serverPort() {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("//[^/:]+:(\\d+)/").matcher(ADMIN_URL);
        return m.find() ? Integer.parseInt(m.group(1)) : 5432;
    }

    @Override
    public void close() {
        try (Connection c = DriverManager.getConnection(ADMIN_URL); Statement s = c.createStatement()) {
            s.execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }
}
