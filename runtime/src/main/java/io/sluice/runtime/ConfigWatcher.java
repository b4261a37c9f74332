package io.sluice.runtime;

import io.sluice.registry.config.GatewayConfig;
import io.sluice.registry.config.Problem;
import io.sluice.runtime.proxy.Gateway;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reloads the {@code --config} file when it changes (checked once a second). A file with errors is reported
 * and ignored; the gateway keeps serving the last good config.
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
    static void start(Path file, String loadedStamp, Gateway gateway, PrintStream err) {
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
                GatewayConfig config = Main.load(file.toString(), problems);
                if (config == null) {
                    problems.forEach(p -> err.println(p.format(file.toString())));
                    err.println("sluice: " + file + " has errors; still serving version "
                            + gateway.current().version());
                    continue;
                }
                try {
                    long v = gateway.apply(config).version();
                    err.println("sluice: " + file + " reloaded as version " + v);
                } catch (Exception e) {
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
