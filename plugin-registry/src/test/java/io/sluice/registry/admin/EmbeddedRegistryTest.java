package io.sluice.registry.admin;

import io.sluice.registry.store.Store;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

class EmbeddedRegistryTest extends RegistryContract {
    @TempDir
    Path dir;

    @Override
    Store open() {
        return Store.embedded(dir);
    }

    @Override
    void cleanUp() {
    }
}
