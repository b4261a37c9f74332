package io.sluice.registry.distribution;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.registry.admin.Registry;
import io.sluice.registry.model.EntitySet;
import io.sluice.registry.store.ConfigVersion;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.Optional;

/**
 * The last applied config on local disk ({@code <data-dir>/snapshot.json}), so a data plane can keep serving
 * and restart while the store, Redis or the control plane is down. Written atomically (temp file + rename):
 * a crash mid-write leaves the previous snapshot intact.
 */
public final class SnapshotFile {
    private final Path file;

    /**
     * @param dataDir the data directory
     */
    public SnapshotFile(Path dataDir) {
        this.file = dataDir.resolve("snapshot.json");
    }

    /**
     * @return where the snapshot lives
     */
    public Path path() {
        return file;
    }

    /**
     * Saves a version.
     *
     * @param v        the applied version
     * @param entities its config
     * @throws IOException if it cannot be written
     */
    public void write(ConfigVersion v, EntitySet entities) throws IOException {
        ObjectNode n = Registry.mapper().createObjectNode();
        n.put("version", v.version());
        n.put("author", v.author());
        n.put("role", v.role());
        n.put("created_at", v.createdAt().toString());
        n.put("summary", v.summary());
        n.set("config", entities.document());
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, n.toString(), StandardCharsets.UTF_8);
        try {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /**
     * Reads the saved version.
     *
     * @return it, or empty when there is none
     * @throws IOException if it exists but cannot be read or parsed
     */
    public Optional<Saved> read() throws IOException {
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        JsonNode n = Registry.mapper().readTree(Files.readString(file, StandardCharsets.UTF_8));
        if (n == null || !n.has("version") || !n.path("config").isObject()) {
            throw new IOException(file + " is not a Sluice snapshot");
        }
        return Optional.of(new Saved(new ConfigVersion(n.get("version").asLong(), n.path("author").asText(),
                n.path("role").asText(), Instant.parse(n.path("created_at").asText(Instant.EPOCH.toString())),
                n.path("summary").asText(), 0), EntitySet.of(n.get("config"))));
    }

    /**
     * A saved snapshot.
     *
     * @param version  its version
     * @param entities its config
     */
    public record Saved(ConfigVersion version, EntitySet entities) {
    }
}
