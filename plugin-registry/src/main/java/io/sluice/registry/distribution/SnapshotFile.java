package io.sluice.registry.distribution;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.registry.admin.Registry;
import io.sluice.registry.model.EntityChange;
import io.sluice.registry.model.EntityKind;
import io.sluice.registry.model.EntitySet;
import io.sluice.registry.store.ConfigVersion;
import io.sluice.registry.store.VersionChanges;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The last applied config on local disk, so a data plane can keep serving and restart while the store, Redis or
 * the control plane is down. Two files:
 * <ul>
 *   <li>{@code <data-dir>/snapshot.json}: a whole config and its version, written atomically (temp file +
 *       rename): a crash mid-write leaves the previous one intact;</li>
 *   <li>{@code <data-dir>/snapshot.journal}: one line per version applied since, holding its change set, appended
 *       as each version is applied. Saving a change costs what the change costs, not what the config costs.</li>
 * </ul>
 * Reading takes the whole config and replays the journal's following versions, stopping at a gap or a torn last
 * line. {@link #write} compacts: a new whole config, and the journal keeps only later versions.
 */
public final class SnapshotFile {
    private final Path file;
    private final Path journal;

    /**
     * @param dataDir the data directory
     */
    public SnapshotFile(Path dataDir) {
        this.file = dataDir.resolve("snapshot.json");
        this.journal = dataDir.resolve("snapshot.journal");
    }

    /**
     * @return where the whole snapshot lives
     */
    public Path path() {
        return file;
    }

    /**
     * @return where the journal lives
     */
    public Path journal() {
        return journal;
    }

    /**
     * Saves a whole config, then drops the journal's versions it includes.
     *
     * @param v        the applied version
     * @param entities its config
     * @throws IOException if it cannot be written
     */
    public void write(ConfigVersion v, EntitySet entities) throws IOException {
        ObjectNode n = meta(v);
        n.set("config", entities.document());
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, n.toString(), StandardCharsets.UTF_8);
        move(tmp, file);
        synchronized (this) {
            if (!Files.exists(journal)) {
                return;
            }
            List<String> keep = new ArrayList<>();
            for (String line : Files.readAllLines(journal, StandardCharsets.UTF_8)) {
                try {
                    if (Registry.mapper().readTree(line).path("version").asLong() > v.version()) {
                        keep.add(line);
                    }
                } catch (IOException e) {
                    break;   // a torn line ends the journal
                }
            }
            Path jtmp = journal.resolveSibling(journal.getFileName() + ".tmp");
            Files.write(jtmp, keep, StandardCharsets.UTF_8);
            move(jtmp, journal);
        }
    }

    /**
     * Appends one applied version's change set to the journal (not forced to disk: after a crash the data plane
     * catches up from the store, or serves the versions the disk kept).
     *
     * @param vc the version and its changes
     * @return the journal's size in bytes afterwards
     * @throws IOException if it cannot be written
     */
    public synchronized long append(VersionChanges vc) throws IOException {
        ObjectNode n = meta(vc.version());
        ArrayNode arr = n.putArray("changes");
        for (EntityChange c : vc.changes()) {
            ObjectNode o = arr.addObject().put("kind", c.kind().wire()).put("id", c.id());
            if (c.after() != null) {
                o.put("after", c.after());
            }
        }
        Files.writeString(journal, n + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND, StandardOpenOption.WRITE);
        return Files.size(journal);
    }

    private static ObjectNode meta(ConfigVersion v) {
        ObjectNode n = Registry.mapper().createObjectNode();
        n.put("version", v.version());
        n.put("author", v.author());
        n.put("role", v.role());
        n.put("created_at", v.createdAt().toString());
        n.put("summary", v.summary());
        return n;
    }

    private static ConfigVersion version(JsonNode n, int changes) {
        return new ConfigVersion(n.get("version").asLong(), n.path("author").asText(), n.path("role").asText(),
                Instant.parse(n.path("created_at").asText(Instant.EPOCH.toString())), n.path("summary").asText(),
                changes);
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /**
     * Reads the saved config: the whole snapshot with the journal's following versions applied.
     *
     * @return it, or empty when there is none
     * @throws IOException if the whole snapshot exists but cannot be read or parsed
     */
    public synchronized Optional<Saved> read() throws IOException {
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        JsonNode n = Registry.mapper().readTree(Files.readString(file, StandardCharsets.UTF_8));
        if (n == null || !n.has("version") || !n.path("config").isObject()) {
            throw new IOException(file + " is not a Sluice snapshot");
        }
        ConfigVersion v = version(n, 0);
        EntitySet entities = EntitySet.of(n.get("config"));
        if (Files.exists(journal)) {
            try (BufferedReader r = Files.newBufferedReader(journal, StandardCharsets.UTF_8)) {
                String line;
                while ((line = r.readLine()) != null) {
                    JsonNode j;
                    try {
                        j = Registry.mapper().readTree(line);
                    } catch (IOException e) {
                        break;   // a torn last line
                    }
                    long next = j.path("version").asLong();
                    if (next <= v.version()) {
                        continue;
                    }
                    if (next != v.version() + 1) {
                        break;   // a gap: serve what is complete
                    }
                    List<EntityChange> changes = new ArrayList<>();
                    for (JsonNode c : j.path("changes")) {
                        EntityKind kind = EntityKind.of(c.path("kind").asText()).orElse(null);
                        if (kind == null) {
                            throw new IOException(journal + ": unknown entity kind " + c.path("kind"));
                        }
                        changes.add(new EntityChange(kind, c.path("id").asText(), null,
                                c.hasNonNull("after") ? c.get("after").asText() : null));
                    }
                    entities.apply(changes);
                    v = version(j, changes.size());
                }
            }
        }
        return Optional.of(new Saved(v, entities));
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
