package io.sluice.registry.store;

import io.sluice.registry.testing.PostgresDatabase;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PostgresStoreIT extends StoreContract {
    static PostgresDatabase db;

    @BeforeAll
    static void createDatabase() {
        db = PostgresDatabase.create();
    }

    @AfterAll
    static void dropDatabase() {
        db.close();
    }

    @Override
    Store open() {
        return Store.postgres(db.url());
    }

    @Override
    void cleanUp() {
        // each test starts from an empty schema
        db.close();
        db = PostgresDatabase.create();
    }

    @Test
    void deadServerFailsFastWithAClearError() {
        long t0 = System.nanoTime();
        StoreUnavailableException e = assertThrows(StoreUnavailableException.class,
                () -> Store.postgres("jdbc:postgresql://127.0.0.1:1/none?user=postgres&connectTimeout=1"));
        assertTrue(e.getMessage().contains("cannot open PostgreSQL"), e.getMessage());
        assertTrue(System.nanoTime() - t0 < 10_000_000_000L);
    }

    @Test
    void readerStartsWhileTheServerIsDownAndReportsUnavailable() {
        try (Store reader = Store.postgresReader("jdbc:postgresql://127.0.0.1:1/none?user=postgres")) {
            assertThrows(StoreUnavailableException.class, reader::latestVersion);
        }
    }

    @Test
    void refusesANonPostgresUrl() {
        assertThrows(IllegalArgumentException.class, () -> Store.postgres("jdbc:mysql://x/y"));
    }
}
