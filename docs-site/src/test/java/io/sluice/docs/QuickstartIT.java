package io.sluice.docs;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The README's quickstart, run as a newcomer pastes it into a shell at the repository root: Python's web server as
 * the service, {@code bin/sluice validate} and {@code start}, a call through the gateway, the admin API, a
 * JavaScript filter and the sample plugin jar uploaded and attached. DocsShellIT leaves the block to this test
 * (the README marks it {@code <!-- not run: run by QuickstartIT ... -->}), since it starts a gateway of its own on
 * fixed ports. Only what a test cannot share with a reader is rewritten:
 * <ul>
 *   <li>free ports instead of 8080, 8081 and 9001 (they are the launcher's defaults, so {@code bin/sluice start}
 *       is given {@code --proxy-port} and {@code --admin-port});</li>
 *   <li>a folder under docs-site/target instead of {@code /tmp/sluice-demo};</li>
 *   <li>{@code bin/sluice} and {@code sample-plugins/...} made absolute paths of the checkout, since the session
 *       runs in a fresh folder (where the gateway makes its {@code .sluice}), not in the checkout.</li>
 * </ul>
 * It runs in a {@link ShellSession}, under {@code setsid}: the gateway and the web server the quickstart leaves
 * running in the background are killed with the session's process group. The gateway is the one the build made
 * (runtime/target/sluice-runtime.jar): if bin/sluice finds it older than the sources it would build, and the
 * session's {@code mvn} refuses, so the test never runs Maven (or writes the Maven repository) itself.
 */
class QuickstartIT {
    static final Path ROOT = SiteSources.ROOT;
    static final Path TMP = ROOT.resolve("docs-site/target/quickstart");
    static final Path JAR = ROOT.resolve("runtime/target/sluice-runtime.jar");
    static final Path SAMPLE = ROOT.resolve("sample-plugins/ab-tagger/target/ab-tagger-1.0.0.jar");
    static final String MARK = "run by QuickstartIT";

    @Test
    void theReadmeQuickstartRunsAsPasted() throws Exception {
        assertTrue(Files.isRegularFile(JAR), JAR + " is missing: build first (mvn package, or bin/test)");
        // the reactor builds sample-plugins before runtime and docs-site, as bin/test and bin/sluice do
        assertTrue(Files.isRegularFile(SAMPLE), SAMPLE + " is missing: build first (mvn package, or bin/test)");
        DocBlocks.Block quickstart = quickstart();
        SiteSources.deleteTree(TMP);
        Path work = Files.createDirectories(TMP.resolve("work"));
        Path demo = TMP.resolve("demo");
        int[] ports = freePorts(3);
        String script = rewrite(quickstart.text(), demo, ports[0], ports[1], ports[2]);

        ShellSession.Result r = new ShellSession("README.md quickstart", TMP.resolve("quickstart.sh"))
                .path(noBuild()).block(quickstart, text -> script).run(work, Duration.ofMinutes(5));

        assertTrue(r.failure().isEmpty(), r.failure().orElse(""));
        String out = r.output();
        // 4. through the gateway: the service's file, with the header the route's transform filter sets
        assertShows("(?ims)^HTTP/1\\.1 200\\b.*?^x-served-by: sluice\\r?$.*?^\\{\"user\": \"ann\"}$",
                "the proxied {\"user\": \"ann\"} with X-Served-By: sluice", out);
        // 6. and 7. (a header line that grep prints may follow the previous command's JSON on its line)
        assertShows("(?im)x-tagged: hello\\r?$", "the JavaScript filter's x-tagged: hello", out);
        assertShows("(?im)x-ab-variant: [AB]\\r?$", "the jar plugin's X-AB-Variant", out);
        assertTrue(Files.isRegularFile(work.resolve(".sluice/admin-token")),
                "the gateway's data folder, .sluice, in the folder the commands ran in");
    }

    private static void assertShows(String regex, String what, String out) {
        assertTrue(Pattern.compile(regex).matcher(out).find(), "the quickstart's output shows no " + what + ":\n"
                + out);
    }

    /** The README's shell block run by this test, which is the Quickstart section's. */
    private static DocBlocks.Block quickstart() throws IOException {
        Path readme = ROOT.resolve("README.md");
        List<DocBlocks.Block> marked = DocBlocks.of("README.md", Files.readAllLines(readme)).stream()
                .filter(b -> DocBlocks.SHELL.contains(b.lang()) && b.notRun() != null && b.notRun().startsWith(MARK))
                .toList();
        assertEquals(1, marked.size(), "README.md's shell blocks marked <!-- not run: " + MARK + " -->: " + marked);
        assertTrue(SiteSources.section(Files.readString(readme), "## Quickstart").contains(marked.getFirst().text()),
                marked.getFirst() + " is not the Quickstart section's block");
        return marked.getFirst();
    }

    /** The quickstart as this test runs it; each rewrite must apply, so that the README cannot drift from it. */
    static String rewrite(String text, Path demo, int proxy, int admin, int service) {
        String root = quote(ROOT.toString());
        List<String> missing = new ArrayList<>();
        text = replace(text, Pattern.quote("/tmp/sluice-demo"), quote(demo.toString()), missing);
        text = replace(text, Pattern.quote("bin/sluice start"), "bin/sluice start --proxy-port " + proxy
                + " --admin-port " + admin, missing);
        text = replace(text, "(?<![\\w/.-])bin/sluice\\b", root + "/bin/sluice", missing);
        text = replace(text, "(?<![\\w/.-])sample-plugins/", root + "/sample-plugins/", missing);
        text = replace(text, "\\b8080\\b", String.valueOf(proxy), missing);
        text = replace(text, "\\b8081\\b", String.valueOf(admin), missing);
        text = replace(text, "\\b9001\\b", String.valueOf(service), missing);
        assertEquals(List.of(), missing, "the README's quickstart no longer has what QuickstartIT rewrites");
        return text;
    }

    private static String replace(String text, String regex, String with, List<String> missing) {
        Matcher m = Pattern.compile(regex).matcher(text);
        if (!m.find()) {
            missing.add(regex);
            return text;
        }
        return m.replaceAll(Matcher.quoteReplacement(with));
    }

    /** A word for bash: single-quoted. */
    private static String quote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }

    /** Free loopback ports, all held open until each is chosen, so they differ. */
    private static int[] freePorts(int n) throws IOException {
        List<ServerSocket> held = new ArrayList<>();
        try {
            int[] ports = new int[n];
            for (int i = 0; i < n; i++) {
                ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                held.add(s);
                ports[i] = s.getLocalPort();
            }
            return ports;
        } finally {
            for (ServerSocket s : held) {
                s.close();
            }
        }
    }

    /** A folder whose {@code mvn} says that the gateway needs building, instead of building it. */
    private static Path noBuild() throws IOException {
        Path bin = Files.createDirectories(TMP.resolve("no-build"));
        Files.writeString(bin.resolve("mvn"), """
                #!/bin/sh
                echo "QuickstartIT: bin/sluice would build ($0 $*): %s is older than a pom.xml or src/main file; \
                build first (mvn package, or bin/test)" >&2
                exit 1
                """.formatted(JAR));
        Files.setPosixFilePermissions(bin.resolve("mvn"), PosixFilePermissions.fromString("rwxr-xr-x"));
        return bin;
    }
}
