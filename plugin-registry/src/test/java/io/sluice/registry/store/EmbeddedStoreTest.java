package io.sluice.registry.store;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;

class EmbeddedStoreTest extends StoreContract {
    @TempDir
    Path dir;

    @Override
    Store open() {
        return Store.embedded(dir);
    }

    @Override
    void cleanUp() {
    }

    @Test
    void keepsItsFileInTheDataDir() {
        assertTrue(Files.exists(dir.resolve("store.mv.db")));
    }
}
