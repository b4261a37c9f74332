package io.sluice.runtime;

import io.sluice.registry.config.Problem;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Re-imports the {@code --config} file into the registry when it changes (checked once a second), as a new
 * config version. A file with errors is reported and ignored; the gateway keeps serving the last good config.
 */
final class ConfigWatcher {
    private ConfigWatcher() {
    }

    /**
     * Watches a file.
     *
     * @param loadedStamp the file's {@link #stamp} taken before the config now served was read from it, so an
     *                    edit made between that read and this call is not missed
     */
    static void start(Path file, String loadedStamp, Node node, PrintStream err) {
        Thread.ofVirtual().name("sluice-config-watch").start(() -> {
            String last = loadedStamp;
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException e) {
                    return;
                }
                String now = stamp(file);
                if (now.equals(last)) {
                    continue;
                }
                last = now;
                List<Problem> problems = new ArrayList<>();
                Main.Loaded loaded = Main.load(file.toString(), problems);
                if (loaded == null) {
                    problems.forEach(p -> err.println(p.format(file.toString())));
                    err.println("sluice: " + file + " has errors; still serving version "
                            + node.server().gateway().current().version());
                    continue;
                }
                try {
                    long v = node.importFile(file.toString(), loaded.document());
                    err.println("sluice: " + file + " imported as version " + v);
                } catch (Node.StartException | RuntimeException e) {
                    err.println("sluice: reload failed: " + e.getMessage());
                }
            }
        });
    }

    static String stamp(Path file) {
        try {
            return Files.getLastModifiedTime(file).toMillis() + ":" + Files.size(file);
        } catch (IOException e) {
            return "missing";
        }
    }
}
