package io.sluice.runtime.admin;

import io.sluice.registry.testing.PostgresDatabase;
import io.sluice.runtime.Node;
import io.sluice.runtime.SluiceServer.Listeners;
import io.sluice.runtime.testing.AdminClient;
import io.sluice.runtime.testing.RedisProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Three data-plane processes (separate JVMs started with the real launcher main) follow a control plane on
 * the real PostgreSQL and a real redis-server. Every admin write must reach all three; the time from sending
 * the write to the last data plane serving it is printed (the benchmark figure in RESULTS.md comes from
 * {@code -Dsluice.propagation.writes=200}).
 */
class PropagationIT {
    private static final Pattern ADMIN = Pattern.compile("admin:\\s+http://127\\.0\\.0\\.1:(\\d+)");

    @TempDir
    Path dir;

    record DataPlane(Process process, int adminPort) {
        long version() {
            AdminClient.Resp r = new AdminClient(adminPort, null).get("/ready");
            return r.status() == 200 ? r.json().path("version").asLong() : -1;
        }
    }

    static DataPlane launch(Path dataDir, String pgUrl, String redisUrl) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        Process p = new ProcessBuilder(java, "-Xmx192m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                // a 10 minute poll: what arrives in time arrives by the Redis notice
                "-Dsluice.poll.ms=600000",
                "-cp", System.getProperty("java.class.path"), "io.sluice.runtime.Main", "start",
                "--role", "data-plane", "--postgres", pgUrl, "--redis", redisUrl, "--proxy-host", "127.0.0.1",
                "--proxy-port", "0", "--admin-port", "0", "--data-dir", dataDir.toString())
                .redirectErrorStream(true).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        List<String> seen = new ArrayList<>();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        String line;
        while (System.nanoTime() < end && (line = out.readLine()) != null) {
            seen.add(line);
            Matcher m = ADMIN.matcher(line);
            if (m.find()) {
                int port = Integer.parseInt(m.group(1));
                Thread.ofVirtual().start(() -> out.lines().forEach(l -> { }));   // keep draining its output
                return new DataPlane(p, port);
            }
        }
        p.destroyForcibly();
        throw new AssertionError("data plane did not start: " + String.join("\n", seen));
    }

    @Test
    void everyWriteReachesThreeDataPlaneProcesses() throws Exception {
        int writes = Integer.getInteger("sluice.propagation.writes", 20);
        List<DataPlane> dps = new ArrayList<>();
        try (PostgresDatabase db = PostgresDatabase.create(); RedisProcess redis = RedisProcess.start();
             Node cp = Node.start(new Node.Options("control-plane", dir.resolve("cp"),
                     new Listeners("127.0.0.1", 0, "127.0.0.1", 0, false), Optional.of(db.url()),
                     Optional.of(redis.url()), Optional.of("t"), Duration.ofSeconds(5)))) {
            AdminClient admin = new AdminClient(cp.server().adminPort(), "t");
            try {
                for (int i = 0; i < 3; i++) {
                    dps.add(launch(dir.resolve("dp" + i), db.url(), redis.url()));
                }
                long[] millis = new long[writes];
                for (int w = 0; w < writes; w++) {
                    String body = "{\"paths\":[\"/v" + w + "\"],\"upstream\":{\"targets\":[{\"url\":"
                            + "\"http://127.0.0.1:1\"}]}}";
                    long t0 = System.nanoTime();
                    AdminClient.Resp r = admin.put("/v1/routes/r", body);
                    assertTrue(r.status() == 201 || r.status() == 200, r.toString());
                    long version = Long.parseLong(r.header("Sluice-Config-Version").orElseThrow());
                    for (DataPlane dp : dps) {
                        long deadline = t0 + TimeUnit.SECONDS.toNanos(10);
                        while (dp.version() < version) {
                            assertTrue(System.nanoTime() < deadline, "version " + version + " not applied in 10 s");
                            Thread.sleep(1);
                        }
                    }
                    millis[w] = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                }
                long[] sorted = millis.clone();
                Arrays.sort(sorted);
                long p50 = sorted[(writes - 1) / 2];
                long p99 = sorted[(int) Math.ceil(writes * 0.99) - 1];
                System.out.printf("propagation to 3 data-plane processes over %d writes: p50 %d ms, p99 %d ms,"
                        + " max %d ms%n", writes, p50, p99, sorted[writes - 1]);
                for (DataPlane dp : dps) {
                    assertEquals(writes, dp.version());
                }
            } finally {
                for (DataPlane dp : dps) {
                    dp.process().destroy();
                    dp.process().waitFor(10, TimeUnit.SECONDS);
                }
            }
        }
    }
}
