package io.sluice.registry.store;

import io.sluice.registry.testing.PostgresDatabase;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

class PostgresMigrationIT extends MigrationContract {
    PostgresDatabase db;

    @BeforeEach
    void create() {
        db = PostgresDatabase.create();
    }

    @AfterEach
    void drop() {
        db.close();
    }

    @Override
    String url() {
        return db.url();
    }

    @Override
    Store open() {
        return Store.postgres(db.url());
    }
}
