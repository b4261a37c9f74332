package io.sluice.builtin.kafka_logger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SpillFileTest {
    @TempDir
    Path dir;

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** A record of exactly 20 bytes on disk: "id-N\t{"seq":N...}\n". */
    private static boolean append(SpillFile f, int n) {
        return f.append(b("id-" + n), b("{\"seq\":" + String.format("%06d", n) + "}"));
    }

    private static List<String> values(List<SpillFile.Line> lines) {
        return lines.stream().map(l -> new String(l.key(), StandardCharsets.UTF_8) + " "
                + new String(l.value(), StandardCharsets.UTF_8)).toList();
    }

    @Test
    void appendsUntilTheBoundThenRefusesAndNeverGrowsPastIt() throws IOException {
        Path path = dir.resolve("sub/t.spill");
        try (SpillFile f = SpillFile.open(path, 70)) {
            assertTrue(append(f, 1));
            assertTrue(append(f, 2));
            assertTrue(append(f, 3));
            assertFalse(append(f, 4), "a fourth 20-byte line would make 80 > 70 bytes");
            assertFalse(append(f, 5));
            assertEquals(60, f.size());
            assertEquals(60, Files.size(path));
            assertEquals(List.of("id-1 {\"seq\":000001}", "id-2 {\"seq\":000002}", "id-3 {\"seq\":000003}"),
                    values(f.read(10)));
        }
    }

    @Test
    void readsInOrderFromTheCommittedPositionAndTruncatesOnceDrained() throws IOException {
        Path path = dir.resolve("t.spill");
        try (SpillFile f = SpillFile.open(path, 1 << 20)) {
            for (int i = 1; i <= 5; i++) {
                assertTrue(append(f, i));
            }
            List<SpillFile.Line> first = f.read(3);
            assertEquals(List.of("id-1 {\"seq\":000001}", "id-2 {\"seq\":000002}", "id-3 {\"seq\":000003}"), values(first));
            assertEquals(values(first), values(f.read(3)), "read does not move the position");
            f.commit(first.get(1).end());   // 1 and 2 delivered, 3 not
            assertFalse(f.clearIfDrained());
            List<SpillFile.Line> rest = f.read(10);
            assertEquals(List.of("id-3 {\"seq\":000003}", "id-4 {\"seq\":000004}", "id-5 {\"seq\":000005}"), values(rest));
            assertEquals(60, f.unread());
            f.commit(rest.getLast().end());
            assertEquals(0, f.unread());
            assertTrue(f.read(10).isEmpty());
            assertTrue(f.clearIfDrained());
            assertEquals(0, Files.size(path));
            assertTrue(append(f, 6), "appends start again at the beginning");
            assertEquals(List.of("id-6 {\"seq\":000006}"), values(f.read(10)));
            assertEquals(0, f.takeLost());
        }
    }

    @Test
    void whatAnEarlierProcessLeftIsReplayedAfterReopening() throws IOException {
        Path path = dir.resolve("t.spill");
        try (SpillFile f = SpillFile.open(path, 1 << 20)) {
            append(f, 1);
            append(f, 2);
            f.commit(f.read(1).getFirst().end());   // the position is not persisted: at least once
        }
        try (SpillFile f = SpillFile.open(path, 1 << 20)) {
            assertEquals(List.of("id-1 {\"seq\":000001}", "id-2 {\"seq\":000002}"), values(f.read(10)));
        }
    }

    @Test
    void aTornLastLineFromACrashIsCutOffAndCountedAsLost() throws IOException {
        Path path = dir.resolve("t.spill");
        try (SpillFile f = SpillFile.open(path, 1 << 20)) {
            append(f, 1);
            append(f, 2);
        }
        Files.write(path, b("id-3\t{\"seq\":0"), StandardOpenOption.APPEND);   // the process died mid-write
        try (SpillFile f = SpillFile.open(path, 1 << 20)) {
            assertEquals(1, f.takeLost());
            assertEquals(40, Files.size(path), "the torn tail is gone");
            assertTrue(append(f, 4));
            assertEquals(List.of("id-1 {\"seq\":000001}", "id-2 {\"seq\":000002}", "id-4 {\"seq\":000004}"),
                    values(f.read(10)));
        }
    }

    @Test
    void aFileThatIsOnlyATornLineOpensEmpty() throws IOException {
        Path path = dir.resolve("t.spill");
        Files.write(path, b("id-1\t{\"se"));
        try (SpillFile f = SpillFile.open(path, 1 << 20)) {
            assertEquals(1, f.takeLost());
            assertEquals(0, f.size());
            assertTrue(f.read(10).isEmpty());
        }
    }

    @Test
    void aDamagedLineIsSkippedOnceAndCountedAsLost() throws IOException {
        Path path = dir.resolve("t.spill");
        Files.write(path, b("id-1\t{\"seq\":1}\nnot a record\nid-3\t{\"seq\":3}\n"));
        try (SpillFile f = SpillFile.open(path, 1 << 20)) {
            List<SpillFile.Line> first = f.read(10);
            assertEquals(List.of("id-1 {\"seq\":1}"), values(first), "a batch stops before a damaged line");
            f.commit(first.getLast().end());
            List<SpillFile.Line> second = f.read(10);
            assertEquals(List.of("id-3 {\"seq\":3}"), values(second));
            assertEquals(1, f.takeLost());
            f.commit(second.getLast().end());
            assertTrue(f.clearIfDrained());
            assertEquals(0, f.takeLost());
        }
    }

    @Test
    void aFileInUseIsNotOpenedTwice() throws IOException {
        Path path = dir.resolve("t.spill");
        try (SpillFile ignored = SpillFile.open(path, 100)) {
            IOException e = assertThrows(IOException.class, () -> SpillFile.open(path, 100));
            assertEquals("spill file " + path + " is in use by another process", e.getMessage());
        }
    }
}
