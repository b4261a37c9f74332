package io.sluice.registry.admin;

import io.sluice.registry.store.Store;
import io.sluice.registry.testing.PostgresDatabase;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

class PostgresRegistryIT extends RegistryContract {
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
        db.close();
        db = PostgresDatabase.create();
    }
}
