package io.sluice.registry.store;

import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

class EmbeddedMigrationTest extends MigrationContract {
    @TempDir
    Path dir;

    @Override
    String url() {
        return "jdbc:h2:file:" + dir.toAbsolutePath().resolve("store") + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;"
                + "DEFAULT_NULL_ORDERING=HIGH";
    }

    @Override
    Store open() {
        return Store.embedded(dir);
    }
}
