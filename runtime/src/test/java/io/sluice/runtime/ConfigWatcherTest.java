package io.sluice.runtime;

import io.sluice.runtime.SluiceServer.Listeners;
import io.sluice.runtime.proxy.Gateway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The --config file is re-imported when it changes; a broken edit is reported and the last good config kept. */
class ConfigWatcherTest {
    @TempDir
    Path dir;

    private static final String ROUTE = """
            routes:
              - id: %s
                paths: ["/a"]
                upstream: {targets: [{url: "http://127.0.0.1:9"}]}
            """;

    private static long awaitVersion(Gateway g, long version) throws InterruptedException {
        long end = System.nanoTime() + 5_000_000_000L;
        while (g.current().version() < version && System.nanoTime() < end) {
            Thread.sleep(50);
        }
        return g.current().version();
    }

    @Test
    void reimportsGoodEditsAndKeepsServingOnBadOnes() throws Exception {
        Path file = dir.resolve("sluice.yaml");
        Files.writeString(file, ROUTE.formatted("first"));
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (Node node = Node.start(new Node.Options("standalone", dir.resolve("data"),
                new Listeners("127.0.0.1", 0, "127.0.0.1", 0, true), Optional.empty(), Optional.empty(),
                Optional.of("test-token"), Duration.ofSeconds(5)))) {
            String stamp = ConfigWatcher.stamp(file);
            node.importFile(file.toString(), Main.load(file.toString(), new ArrayList<>()).document());
            Gateway g = node.server().gateway();
            assertEquals(1, g.current().version());
            ConfigWatcher.start(file, stamp, node, new PrintStream(err, true, StandardCharsets.UTF_8));
            Files.writeString(file, ROUTE.formatted("second-route"));
            assertEquals(2, awaitVersion(g, 2));
            assertEquals("second-route", g.current().routeSpecs().getFirst().id());
            assertEquals("config-file:" + file, node.registry().orElseThrow().store().latest().orElseThrow().author());

            Files.writeString(file, "routes:\n  - id: broken\n");
            long end = System.nanoTime() + 5_000_000_000L;
            while (!err.toString(StandardCharsets.UTF_8).contains("has errors") && System.nanoTime() < end) {
                Thread.sleep(50);
            }
            String log = err.toString(StandardCharsets.UTF_8);
            assertTrue(log.contains(file + ":2: routes[0].paths: required property 'paths' not found"), log);
            assertTrue(log.contains("still serving version 2"), log);
            assertEquals(2, g.current().version());
            assertEquals("second-route", g.current().routeSpecs().getFirst().id());
        }
    }
}
