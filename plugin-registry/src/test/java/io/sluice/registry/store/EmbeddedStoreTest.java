package io.sluice.registry.store;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
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

    /**
     * The first connection is made without the pool's time-out (a slow open on a busy core must not fail a start),
     * but a file another process holds still fails at once, saying so.
     */
    @Test
    void aFileAnotherProcessHoldsFailsAtOnce(@TempDir Path other) throws Exception {
        Store.embedded(other).close();
        Path holder = other.resolve("Hold.java");
        Files.writeString(holder, """
                import java.nio.channels.FileChannel;
                import java.nio.file.*;
                class Hold {
                    public static void main(String[] a) throws Exception {
                        try (FileChannel ch = FileChannel.open(Path.of(a[0]), StandardOpenOption.WRITE);
                             var lock = ch.lock()) {
                            System.out.println("locked");
                            System.out.flush();
                            System.in.read();   // until the test closes our stdin
                        }
                    }
                }
                """);
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                holder.toString(), other.resolve("store.mv.db").toString()).redirectErrorStream(true).start();
        try (BufferedReader out = new BufferedReader(
                new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            assertEquals("locked", out.readLine());
            long t0 = System.nanoTime();
            StoreUnavailableException e = assertThrows(StoreUnavailableException.class, () -> Store.embedded(other));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(e.getMessage().startsWith("cannot open embedded H2 (" + other.resolve("store.mv.db") + "): "),
                    e.getMessage());
            assertTrue(e.getMessage().contains("in use by another process"), e.getMessage());
            assertTrue(ms < 2_000, "failed after " + ms + " ms");
        } finally {
            p.getOutputStream().close();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
    }
}
