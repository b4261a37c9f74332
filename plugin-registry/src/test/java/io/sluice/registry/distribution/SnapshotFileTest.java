package io.sluice.registry.distribution;

import io.sluice.registry.model.EntityChange;
import io.sluice.registry.model.EntityKind;
import io.sluice.registry.model.EntitySet;
import io.sluice.registry.store.ConfigVersion;
import io.sluice.registry.store.VersionChanges;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The local snapshot: a whole config plus a journal of the versions applied since. */
class SnapshotFileTest {
    @TempDir
    Path dir;

    static ConfigVersion v(long n) {
        return new ConfigVersion(n, "a", "platform", Instant.parse("2026-01-01T00:00:00Z"), "v" + n, 1);
    }

    static VersionChanges route(long n, String id, String body) {
        return new VersionChanges(v(n), List.of(new EntityChange(EntityKind.ROUTE, id, null, body)));
    }

    @Test
    void theJournalIsReplayedOnTheWholeSnapshotAndCompacted() throws Exception {
        SnapshotFile f = new SnapshotFile(dir);
        EntitySet base = EntitySet.of(EntitySet.tree("{\"routes\":[{\"id\":\"a\",\"paths\":[\"/a\"]}]}"));
        f.write(v(1), base);
        f.append(route(2, "b", "{\"id\":\"b\",\"paths\":[\"/b\"]}"));
        f.append(route(3, "a", null));
        SnapshotFile.Saved saved = f.read().orElseThrow();
        assertEquals(3, saved.version().version());
        assertNull(saved.entities().get(EntityKind.ROUTE, "a"));
        assertEquals("{\"id\":\"b\",\"paths\":[\"/b\"]}", saved.entities().get(EntityKind.ROUTE, "b"));

        // a torn last line (a crash mid-append) and anything after a gap are ignored
        Files.writeString(f.journal(), "{\"version\":4,\"chan", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        assertEquals(3, f.read().orElseThrow().version().version());

        // compaction: a whole snapshot at 2 keeps only the journal's later versions
        EntitySet at2 = base.copy();
        at2.apply(List.of(new EntityChange(EntityKind.ROUTE, "b", null, "{\"id\":\"b\",\"paths\":[\"/b\"]}")));
        f.write(v(2), at2);
        List<String> lines = Files.readAllLines(f.journal());
        assertEquals(1, lines.size());
        assertTrue(lines.getFirst().contains("\"version\":3"));
        SnapshotFile.Saved again = f.read().orElseThrow();
        assertEquals(3, again.version().version());
        assertEquals(List.of(), again.entities().changesTo(saved.entities()));
    }

    @Test
    void aGapInTheJournalStopsTheReplay() throws Exception {
        SnapshotFile f = new SnapshotFile(dir);
        f.write(v(5), new EntitySet());
        f.append(route(7, "x", "{\"id\":\"x\"}"));
        assertEquals(5, f.read().orElseThrow().version().version());
    }
}
