package io.sluice.runtime.plugins;

import io.sluice.plugin.FilterDescriptor;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * Upload inspection with a relative data directory, as {@code bin/sluice start} has by default ({@code .sluice}):
 * the child JVM runs in its own folder, so a relative class path or tmpdir would not resolve there.
 */
class JarInspectorTest {
    @Test
    void relativeDataDirInspectsAJar() throws Exception {
        Path rel = Path.of("target", "inspector-relative-" + System.nanoTime());
        assertFalse(rel.isAbsolute());
        Files.createDirectories(rel);
        byte[] jar = Files.readAllBytes(Path.of("target", "sample-plugins", "ab-tagger.jar"));
        FilterDescriptor d = new JarInspector(rel, Duration.ofSeconds(60)).inspect(jar);
        assertEquals("ab-tagger", d.name());
    }
}
