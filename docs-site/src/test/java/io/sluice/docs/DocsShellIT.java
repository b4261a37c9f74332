package io.sluice.docs;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every shell example of the docs (docs-site/src/docs, README.md) runs against a real gateway, so the docs cannot
 * drift from it: one standalone gateway of this checkout (runtime/target/sluice-runtime.jar, started as its own
 * process with its defaults but free loopback ports; its bootstrap token in {@code .sluice/admin-token}) and an
 * echo upstream in this JVM. Each page's shell blocks run in document order in one {@code bash -euo pipefail}
 * session ({@link ShellSession}), as a reader pastes them, in a fresh folder holding what the page assumes a reader
 * has:
 * <ul>
 *   <li>{@code .sluice}: the gateway's data folder (the gateway was started there), and {@code $TOKEN} exported,
 *       its platform token, as a reader who followed the admin API page has it;</li>
 *   <li>{@code target/ab-tagger-1.0.0.jar}: the sample plugin's jar, as its build writes it;</li>
 *   <li>every block of any page marked {@code <!-- file: NAME -->} (such as the JavaScript filter
 *       {@code add-header.js}), written to NAME;</li>
 *   <li>{@code $STOREPASS} exported, the password of the signing examples' keystore.</li>
 * </ul>
 * The docs' default addresses are the test's: {@code 127.0.0.1:8081} / {@code localhost:8081} (the admin
 * listener), {@code :8080} (the proxy) and {@code :9001} (the service the examples route to) are replaced in the
 * blocks by the gateway's and the echo upstream's ports, so the test never needs a fixed port. {@code curl} fails on
 * an HTTP error status (as with {@code --fail-with-body}; a command that gives {@code -f} itself is left alone),
 * so a refused example fails the test. A block that cannot run here says why on the line before its fence:
 * {@code <!-- not run: REASON -->} (the README's quickstart, which starts a gateway of its own, is run by
 * {@link QuickstartIT}); any other shell block runs, so a new one cannot slip by untested. Every failure is reported
 * with its page:line and the end of the session's output.
 */
class DocsShellIT {
    static final Path ROOT = SiteSources.ROOT;
    static final Pattern PORT = Pattern.compile("^\\s*(proxy|admin):\\s+http://[^:]+:(\\d+)");
    static final Pattern ADDRESS = Pattern.compile("\\b(?:127\\.0\\.0\\.1|localhost):(8080|8081|9001)\\b");
    static final Pattern COMMAND = Pattern.compile("^\\s*(?:\\$ )?(?:curl|bin/sluice|mvn|keytool|jarsigner)\\b",
            Pattern.MULTILINE);
    static final Pattern LAUNCHER = Pattern.compile("bin/sluice\\s+(start|validate|version|help)\\b([^|;&#]*)");
    static final Pattern OPTION = Pattern.compile("(?<![\\w-])--[a-z][a-z-]*");
    static final Pattern ENV = Pattern.compile("\\b(SLUICE_[A-Z_]+)=");
    static final Map<String, String> HELP = new java.util.HashMap<>();
    static final HttpClient HTTP = HttpClient.newHttpClient();
    static final Path TMP = tmpDir();

    static Process gateway;
    static HttpServer upstream;
    static int optionsChecked;
    static int proxy = -1;
    static int admin = -1;
    static String token;

    /** docs-site/target/docs-shell: the gateway's folder and log, each page's folder, script and output. */
    private static Path tmpDir() {
        try {
            Path dir = ROOT.resolve("docs-site/target/docs-shell");
            SiteSources.deleteTree(dir);
            return Files.createDirectories(dir);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @BeforeAll
    static void startGateway() throws Exception {
        long t0 = System.nanoTime();
        upstream = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        upstream.createContext("/", ex -> {
            byte[] out = ("{\"method\": \"" + ex.getRequestMethod() + "\", \"path\": \"" + ex.getRequestURI()
                    + "\"}").getBytes(StandardCharsets.UTF_8);
            ex.getRequestBody().readAllBytes();
            ex.getResponseHeaders().set("Content-Type", "application/json");
            ex.sendResponseHeaders(200, out.length);
            try (var os = ex.getResponseBody()) {
                os.write(out);
            }
        });
        upstream.start();

        Path jar = ROOT.resolve("runtime/target/sluice-runtime.jar");
        assertTrue(Files.isRegularFile(jar), jar + " is missing: build runtime first (mvn -pl docs-site -am package)");
        Path home = Files.createDirectories(TMP.resolve("gateway"));
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xms64m", "-Xmx512m", "-XX:+UseSerialGC"));
        Path graal = jar.resolveSibling("graal");
        Path compiler = jar.resolveSibling("graal-compiler");
        if (Files.isDirectory(graal) && Files.isDirectory(compiler)) {
            // as bin/sluice: GraalJS's optimizing compiler, for JavaScript filters
            cmd.addAll(List.of("-XX:+UnlockExperimentalVMOptions", "-XX:+EnableJVMCI",
                    "--module-path", graal.toString(), "--add-modules", "org.graalvm.polyglot",
                    "--upgrade-module-path", compiler.toString(),
                    "--enable-native-access=org.graalvm.truffle", "--sun-misc-unsafe-memory-access=allow"));
        }
        // the defaults (data folder ./.sluice, a bootstrap token written there) but free loopback ports
        cmd.addAll(List.of("-jar", jar.toString(), "start", "--proxy-host", "127.0.0.1", "--proxy-port", "0",
                "--admin-port", "0"));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(home.toFile()).redirectErrorStream(true)
                .redirectOutput(TMP.resolve("gateway.log").toFile());
        pb.environment().remove("SLUICE_ADMIN_TOKEN");
        gateway = pb.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while ((proxy < 0 || admin < 0) && System.nanoTime() < deadline && gateway.isAlive()) {
            for (String line : Files.readAllLines(TMP.resolve("gateway.log"))) {
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
        assertTrue(proxy > 0 && admin > 0, "the gateway did not start: " + Files.readString(TMP.resolve("gateway.log")));
        int ready = 0;
        while (ready != 200 && System.nanoTime() < deadline) {
            ready = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin + "/ready")).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode();
            Thread.sleep(ready == 200 ? 0 : 200);
        }
        assertTrue(ready == 200, "the gateway is not ready: " + Files.readString(TMP.resolve("gateway.log")));
        token = Files.readString(home.resolve(".sluice/admin-token")).strip();
        System.out.printf("DocsShellIT: gateway ready in %d ms%n", (System.nanoTime() - t0) / 1_000_000);
    }

    @AfterAll
    static void stopGateway() throws InterruptedException {
        if (gateway != null) {
            List<ProcessHandle> children = gateway.descendants().toList();
            gateway.destroy();
            if (!gateway.waitFor(20, TimeUnit.SECONDS)) {
                gateway.destroyForcibly();
            }
            children.forEach(ProcessHandle::destroyForcibly);
        }
        if (upstream != null) {
            upstream.stop(0);
        }
    }

    @Test
    void everyShellExampleRunsAgainstARealGateway() throws Exception {
        List<DocBlocks.Block> blocks = DocBlocks.all();
        List<String> problems = new ArrayList<>();
        Map<String, List<DocBlocks.Block>> pages = new LinkedHashMap<>();
        int notRun = 0;
        for (DocBlocks.Block b : blocks) {
            if (b.lang().isEmpty() && COMMAND.matcher(b.text()).find()) {
                problems.add(b.at(0) + ": a command in a block without a language: fence it as ```sh");
            }
            if (!DocBlocks.SHELL.contains(b.lang())) {
                continue;
            }
            if (b.notRun() != null) {
                if (b.notRun().isBlank()) {
                    problems.add(b + ": <!-- not run: --> needs a reason");
                }
                problems.addAll(launcherOptions(b));
                notRun++;
                continue;
            }
            pages.computeIfAbsent(b.page(), p -> new ArrayList<>()).add(b);
        }
        int run = 0;
        for (Map.Entry<String, List<DocBlocks.Block>> page : pages.entrySet()) {
            long t0 = System.nanoTime();
            problems.addAll(runPage(page.getKey(), page.getValue(), blocks));
            run += page.getValue().size();
            System.out.printf("DocsShellIT: %s, %d blocks, %d ms%n", page.getKey(), page.getValue().size(),
                    (System.nanoTime() - t0) / 1_000_000);
        }
        System.out.printf("DocsShellIT: %d shell blocks run, %d marked not run (%d launcher options and variables "
                + "in them checked)%n", run, notRun, optionsChecked);
        assertTrue(problems.isEmpty(), String.join("\n\n", problems));
        assertTrue(run >= 20, "shell blocks run: " + run);
        assertTrue(optionsChecked >= 10, "launcher options checked in blocks not run: " + optionsChecked);
    }

    /** Runs a page's blocks in one session; the failure (page:line, exit status, output), if any. */
    private List<String> runPage(String page, List<DocBlocks.Block> blocks, List<DocBlocks.Block> all)
            throws Exception {
        Path dir = Files.createDirectories(TMP.resolve("pages").resolve(page.replace('/', '_')));
        Files.createSymbolicLink(dir.resolve(".sluice"), TMP.resolve("gateway/.sluice"));
        Files.createDirectories(dir.resolve("target"));
        Files.copy(ROOT.resolve("runtime/target/sample-plugins/ab-tagger.jar"),
                dir.resolve("target/ab-tagger-1.0.0.jar"));
        for (DocBlocks.Block b : all) {
            if (b.file() != null) {
                Path f = dir.resolve(b.file()).normalize();
                assertTrue(f.startsWith(dir), b + ": file outside the folder");
                Files.createDirectories(f.getParent());
                Files.writeString(f, b.text());
            }
        }

        ShellSession session = new ShellSession(page, dir.getParent().resolve(dir.getFileName() + ".sh"))
                .env("TOKEN", token).env("STOREPASS", "docs-test-keystore");
        blocks.forEach(b -> session.block(b, DocsShellIT::substitute));
        return session.run(dir, Duration.ofSeconds(180)).failure().stream().toList();
    }

    /**
     * What a block that is not run can still be checked for: each {@code bin/sluice COMMAND --option} it shows is
     * an option that {@code sluice COMMAND --help} lists, each {@code SLUICE_...=} variable set for it one that
     * {@code sluice start --help} lists.
     */
    private static List<String> launcherOptions(DocBlocks.Block b) throws Exception {
        List<String> problems = new ArrayList<>();
        String[] lines = b.text().replace("\\\n", " ").split("\n");   // continuation lines joined
        for (String line : lines) {
            String code = line.replaceAll("\\s#.*", "");
            Matcher cmd = LAUNCHER.matcher(code);
            while (cmd.find()) {
                String help = help(cmd.group(1));
                Matcher opt = OPTION.matcher(cmd.group(2));
                while (opt.find()) {
                    optionsChecked++;
                    if (!Pattern.compile(Pattern.quote(opt.group()) + "(?![\\w-])").matcher(help).find()) {
                        problems.add(b + ": bin/sluice " + cmd.group(1) + " has no option " + opt.group()
                                + " (sluice " + cmd.group(1) + " --help)");
                    }
                }
            }
            Matcher env = ENV.matcher(code.contains("bin/sluice ") ? code : "");   // the launcher's environment
            while (env.find()) {
                optionsChecked++;
                if (!help("start").contains(env.group(1))) {
                    problems.add(b + ": sluice start --help lists no " + env.group(1));
                }
            }
        }
        return problems;
    }

    /** The runtime's own {@code COMMAND --help}. */
    private static String help(String command) throws Exception {
        if (!HELP.containsKey(command)) {
            Path out = TMP.resolve("help-" + command + ".txt");
            Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-jar", ROOT.resolve("runtime/target/sluice-runtime.jar").toString(), command, "--help")
                    .redirectErrorStream(true).redirectOutput(out.toFile()).start();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, command + " --help: "
                    + Files.readString(out));
            HELP.put(command, Files.readString(out));
        }
        return HELP.get(command);
    }

    /** The docs' default addresses made the test's. */
    private static String substitute(String text) {
        return ADDRESS.matcher(text).replaceAll(m -> "127.0.0.1:" + switch (m.group(1)) {
            case "8081" -> admin;
            case "8080" -> proxy;
            default -> upstream.getAddress().getPort();
        });
    }
}
