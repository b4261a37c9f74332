package io.sluice.docs;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The release archive (README.md#release-archive), as a user gets it: runtime/target/sluice-VERSION.tar.gz unpacked
 * into an empty folder, no JDK but the one running this test, no Maven, no source. bin/sluice answers --help for
 * every command, validates the sample config, and starts on it without building, ready on /ready; a plugin jar is
 * uploaded (PF4J loads it); its output is the banner and the access log, nothing else (no Helidon, PF4J, HikariCP,
 * Flyway or Maven lines, no escape codes).
 */
class ReleaseArchiveIT {
    static final Path ROOT = Path.of(System.getProperty("sluice.root", "..")).toAbsolutePath().normalize();
    static final Pattern PORT = Pattern.compile("^\\s*(proxy|admin):\\s+http://[^:]+:(\\d+)");
    static final HttpClient HTTP = HttpClient.newHttpClient();
    static final String TOKEN = "release-archive-test-token";

    @TempDir
    Path tmp;
    Process gateway;

    @AfterEach
    void stop() throws InterruptedException {
        if (gateway != null) {
            gateway.destroy();
            if (!gateway.waitFor(20, TimeUnit.SECONDS)) {
                gateway.destroyForcibly();
            }
        }
    }

    private Path unpack() throws Exception {
        Path archive;
        try (Stream<Path> s = Files.list(ROOT.resolve("runtime/target"))) {
            archive = s.filter(p -> p.getFileName().toString().matches("sluice-.*\\.tar\\.gz")).findFirst()
                    .orElseThrow(() -> new AssertionError("no runtime/target/sluice-*.tar.gz: build runtime first"));
        }
        Path into = Files.createDirectories(tmp.resolve("empty"));
        assertEquals(0, new ProcessBuilder("tar", "xzf", archive.toString(), "-C", into.toString()).inheritIO()
                .start().waitFor());
        try (Stream<Path> s = Files.list(into)) {
            List<Path> top = s.toList();
            assertEquals(1, top.size(), "one top folder: " + top);
            return top.getFirst();
        }
    }

    private ProcessBuilder sluice(Path home, String... args) {
        List<String> cmd = new ArrayList<>(List.of(home.resolve("bin/sluice").toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(home.toFile());
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().put("SLUICE_HEAP", "256m");
        pb.environment().put("PATH", "/usr/bin:/bin");   // no mvn needed
        pb.environment().put("SLUICE_ADMIN_TOKEN", TOKEN);
        return pb;
    }

    private record Run(int code, String out, String err) {
    }

    private Run run(Path home, String... args) throws Exception {
        Path out = tmp.resolve("out.txt");
        Path err = tmp.resolve("err.txt");
        Process p = sluice(home, args).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), String.join(" ", args));
        return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    @Test
    void unpackedArchiveStartsWithoutBuildingAndSaysNothingStray() throws Exception {
        Path home = unpack();
        for (String f : List.of("bin/sluice", "bin/jdk.sh", "lib/sluice-runtime.jar", "config/sluice.yaml",
                "README.md", "LICENSE")) {
            assertTrue(Files.isRegularFile(home.resolve(f)), f);
        }
        assertTrue(Files.isExecutable(home.resolve("bin/sluice")));

        for (String cmd : List.of("start", "validate", "version", "sdk", "help")) {
            Run r = run(home, cmd, "--help");
            assertEquals(0, r.code(), cmd + " --help: " + r.err());
            assertTrue(r.out().startsWith("usage: sluice " + cmd), cmd + " --help: " + r.out());
            assertEquals("", r.err(), cmd + " --help");
        }
        Run v = run(home, "validate", "config/sluice.yaml");
        assertEquals(0, v.code(), v.err());
        assertEquals("config/sluice.yaml: ok (1 routes, 0 global plugins, 0 consumers)\n", v.out());
        assertEquals("", v.err());

        Path out = tmp.resolve("gateway.out");
        Path err = tmp.resolve("gateway.err");
        gateway = sluice(home, "start", "--config", "config/sluice.yaml", "--proxy-host", "127.0.0.1",
                "--proxy-port", "0", "--admin-port", "0").redirectOutput(out.toFile()).redirectError(err.toFile())
                .start();
        int proxy = -1;
        int admin = -1;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while ((proxy < 0 || admin < 0) && System.nanoTime() < deadline && gateway.isAlive()) {
            for (String line : Files.readAllLines(out)) {
                Matcher m = PORT.matcher(line);
                if (m.find()) {
                    if (m.group(1).equals("proxy")) {
                        proxy = Integer.parseInt(m.group(2));
                    } else {
                        admin = Integer.parseInt(m.group(2));
                    }
                }
            }
            Thread.sleep(200);
        }
        assertTrue(proxy > 0 && admin > 0, "no banner: " + Files.readString(out) + Files.readString(err));
        HttpResponse<String> ready = get(admin, "/ready");
        assertEquals(200, ready.statusCode(), ready.body());
        assertTrue(ready.body().contains("\"ready\":true"), ready.body());
        assertFalse(Files.exists(home.resolve("target")), "nothing was built");

        // the route of the sample config has no service behind it: 502, and one access log line
        HttpResponse<String> proxied = get(proxy, "/api/users/ann.json");
        assertEquals(502, proxied.statusCode());
        String log = null;
        for (int i = 0; i < 50 && log == null; i++) {
            log = Files.readAllLines(out).stream().filter(l -> l.contains("\"GET /api/users/ann.json HTTP/1.1\" 502"))
                    .findFirst().orElse(null);
            Thread.sleep(100);
        }
        assertTrue(log != null && log.startsWith("127.0.0.1 - - ["), "access log line on stdout: "
                + Files.readString(out));

        // a Java plugin jar, uploaded: PF4J loads it (it used to log ~20 INFO lines per jar)
        HttpResponse<String> upload = HTTP.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + admin + "/v1/filters"))
                .header("Authorization", "Bearer " + TOKEN).header("Content-Type", "application/java-archive")
                .POST(HttpRequest.BodyPublishers.ofFile(ROOT.resolve("runtime/target/sample-plugins/ab-tagger.jar")))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(201, upload.statusCode(), upload.body());
        HttpResponse<String> put = HTTP.send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + admin + "/v1/routes/tagged"))
                .header("Authorization", "Bearer " + TOKEN).PUT(HttpRequest.BodyPublishers.ofString("""
                        {"paths": ["/tagged/**"], "upstream": {"targets": [{"url": "http://127.0.0.1:9"}]},
                         "plugins": [{"name": "ab-tagger", "config": {"experiment": "demo"}}]}"""))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertTrue(put.statusCode() / 100 == 2, put.body());

        String stdout = Files.readString(out, StandardCharsets.UTF_8);
        String stderr = Files.readString(err, StandardCharsets.UTF_8);
        // stderr: only Sluice's own log records (here: the upload's inspection), none of a library's
        for (String line : stderr.lines().toList()) {
            assertTrue(line.matches("^\\S+ (INFO|WARNING|SEVERE) io\\.sluice\\.\\S+: .*"),
                    "a stray line on stderr: " + line);
        }
        for (String noise : List.of("Helidon", "org.pf4j", "hikari", "flyway", "WARNING: ", "\u001b")) {
            assertFalse(stderr.contains(noise), noise + " on stderr: " + stderr);
        }
        for (String line : stdout.lines().toList()) {
            assertTrue(line.startsWith("Sluice ") || line.startsWith("  ") || line.startsWith("127.0.0.1 - - ["),
                    "a stray line on stdout: " + line);
        }
        assertFalse(stdout.contains("\u001b"), "no escape codes");
        assertTrue(stdout.contains("  access: stdout (combined)"), stdout);
    }

    private static HttpResponse<String> get(int port, String path) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
