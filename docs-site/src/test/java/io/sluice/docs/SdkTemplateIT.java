package io.sluice.docs;

import io.sluice.plugin.testkit.TestGateway;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The plugin SDK's getting started (sdk.md), followed from an empty folder as a third party would: Maven with a
 * local repository holding only what Central serves plus the SDK folder the build made (target/sdk-repo), never
 * anything else of Sluice's; mvn archetype:generate, then mvn verify, whose unit tests run and whose GatewayIT
 * uploads both filters to a real gateway (TestGateway, this checkout's) and sends requests through it.
 *
 * <p>Central artifacts come from the build's own local repository (linked, not downloaded again); what the run
 * had to download (the archetype plugin on a fresh machine) is copied back into it for the next run.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SdkTemplateIT {
    static final Path ROOT = Path.of(System.getProperty("sluice.root", "..")).toAbsolutePath().normalize();
    static final Path SDK_REPO = ROOT.resolve("target").resolve("sdk-repo");
    static final String API_VERSION = apiVersion();

    @TempDir
    Path tmp;

    @Test
    @Order(1)
    void fromAnEmptyFolderToFiltersTestedInARealGateway() throws Exception {
        Path built = ROOT.resolve("plugin-api/target/plugin-api-" + API_VERSION + ".jar");
        Path published = SDK_REPO.resolve("io/sluice/plugin-api/" + API_VERSION + "/plugin-api-" + API_VERSION
                + ".jar");
        assertTrue(Files.isRegularFile(published), published + " is missing: build with mvn install (or bin/test)");
        assertArrayEquals(Files.readAllBytes(built), Files.readAllBytes(published),
                "target/sdk-repo holds another build's plugin-api: build with mvn install (or bin/test)");
        assertTrue(TestGateway.available(), TestGateway.unavailableReason());

        Path outer = Path.of(System.getProperty("sluice.test.local-repo",
                System.getProperty("user.home") + "/.m2/repository"));
        // offline (-o), what Central would serve must already be in the local repository; after one online run it is
        assumeTrue(!outerOffline() || Stream.of("maven-archetype-plugin", "maven-failsafe-plugin")
                        .allMatch(p -> Files.isDirectory(outer.resolve("org/apache/maven/plugins").resolve(p))),
                "offline, and the archetype or failsafe plugin is not in " + outer + ": run this test online once");
        Path m2 = tmp.resolve("m2");
        long t0 = System.nanoTime();
        seed(outer, m2);
        Path settings = tmp.resolve("settings.xml");
        Files.writeString(settings, """
                <settings>
                  <localRepository>%s</localRepository>
                  <profiles>
                    <profile>
                      <id>sluice-sdk</id>
                      <repositories>
                        <repository><id>sluice-sdk</id><url>%s</url></repository>
                      </repositories>
                      <pluginRepositories>
                        <pluginRepository><id>sluice-sdk</id><url>%s</url></pluginRepository>
                      </pluginRepositories>
                    </profile>
                  </profiles>
                  <activeProfiles><activeProfile>sluice-sdk</activeProfile></activeProfiles>
                </settings>
                """.formatted(m2, SDK_REPO.toUri(), SDK_REPO.toUri()));
        Path work = Files.createDirectories(tmp.resolve("work"));
        long seeded = System.nanoTime();

        // sdk.md, "A new filter project"
        run(work, settings, "archetype:generate", "-DarchetypeGroupId=io.sluice",
                "-DarchetypeArtifactId=sluice-filter-archetype", "-DarchetypeVersion=" + API_VERSION,
                "-DgroupId=com.acme", "-DartifactId=acme-tagger", "-Dversion=1.0.0", "-Dpackage=com.acme.tagger",
                "-DfilterName=acme-tagger", "-DclassName=AcmeTagger");
        Path project = work.resolve("acme-tagger");
        assertTrue(Files.isRegularFile(project.resolve("pom.xml")));
        assertTrue(!Files.readString(project.resolve("pom.xml")).contains("<parent>"), "a standalone pom");
        long generated = System.nanoTime();

        // sdk.md, "Build, test, upload": unit tests, the jar, the real-gateway tests
        String out = run(project, settings, "verify", "-Dsluice.home=" + ROOT);
        long verified = System.nanoTime();
        assertTrue(Files.isRegularFile(project.resolve("target/acme-tagger-1.0.0.jar")), out);
        assertEquals("5 0", counts(project.resolve("target/surefire-reports")), "unit tests run, none skipped");
        assertEquals("4 0", counts(project.resolve("target/failsafe-reports")),
                "the gateway tests ran (not skipped): both filters uploaded and used through a real gateway, each "
                        + "alone and both on one route");

        copyBack(m2, outer);
        System.out.printf("SdkTemplateIT: seed %d ms, generate %d ms, verify %d ms%n",
                (seeded - t0) / 1_000_000, (generated - seeded) / 1_000_000, (verified - generated) / 1_000_000);
    }

    /**
     * sample-plugins/ab-tagger's own AbTaggerGatewayIT (TestGateway, as sdk.md shows), which its module build skips
     * while the reactor has not built the gateway yet: run here, once it has.
     */
    @Test
    @Order(2)
    void theSamplesGatewayTestRunsAgainstThisCheckout() throws Exception {
        Path outer = Path.of(System.getProperty("sluice.test.local-repo",
                System.getProperty("user.home") + "/.m2/repository"));
        assumeTrue(!outerOffline()
                        || Files.isDirectory(outer.resolve("org/apache/maven/plugins/maven-failsafe-plugin")),
                "offline, and the failsafe plugin is not in " + outer + ": run this test online once");
        Path sample = ROOT.resolve("sample-plugins/ab-tagger");
        Path settings = tmp.resolve("settings.xml");
        Files.writeString(settings, "<settings><localRepository>" + outer + "</localRepository></settings>\n");
        run(sample, settings, "verify", "-Dsluice.home=" + ROOT);
        assertEquals("2 0", counts(sample.resolve("target/failsafe-reports")), "the sample's gateway tests ran");
    }

    /** Runs Maven in a folder as a user would (batch mode), and fails with its output when it fails. */
    private String run(Path dir, Path settings, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("mvn", "-B", "-s", settings.toString()));
        if (outerOffline()) {
            cmd.add("-o");   // the build runs offline (-o): so does this one, from what the local repository has
        }
        cmd.addAll(Arrays.asList(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().remove("SLUICE_HOME");
        pb.environment().remove("MAVEN_ARGS");
        Path log = tmp.resolve("mvn-" + args[0].replace(':', '-') + ".log");
        pb.redirectOutput(log.toFile());
        Process p = pb.start();
        if (!p.waitFor(15, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", cmd) + " did not finish within 15 minutes");
        }
        String out = Files.readString(log);
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + " in " + dir + " failed:\n" + tail(out));
        return out;
    }

    /** Whether the Maven running this test was given -o (its launcher exports its command line). */
    private static boolean outerOffline() {
        String args = " " + System.getenv().getOrDefault("MAVEN_CMD_LINE_ARGS", "") + " ";
        return args.contains(" -o ") || args.contains(" --offline ");
    }

    /** "tests skipped" summed over a reports folder's XML files. */
    private static String counts(Path reports) throws IOException {
        int tests = 0;
        int skipped = 0;
        Pattern suite = Pattern.compile("<testsuite [^>]*?tests=\"(\\d+)\"[^>]*?skipped=\"(\\d+)\"");
        try (Stream<Path> s = Files.list(reports)) {
            for (Path f : s.filter(x -> x.getFileName().toString().matches("TEST-.*\\.xml")).toList()) {
                Matcher m = suite.matcher(Files.readString(f));
                if (m.find()) {
                    tests += Integer.parseInt(m.group(1));
                    skipped += Integer.parseInt(m.group(2));
                }
            }
        }
        return tests + " " + skipped;
    }

    /**
     * A local repository with the outer build's Central artifacts and nothing of Sluice's (io.sluice) or of the
     * samples (com.example): jars and poms are hard links (never rewritten in place), the small bookkeeping files
     * copies, so the run cannot change the outer repository.
     */
    private static void seed(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                String rel = from.relativize(f).toString().replace('\\', '/');
                if (rel.startsWith("io/sluice/") || rel.startsWith("com/example/") || rel.startsWith("com/acme/")) {
                    continue;
                }
                Path target = to.resolve(rel);
                Files.createDirectories(target.getParent());
                if (rel.endsWith(".jar") || rel.endsWith(".pom")) {
                    try {
                        Files.createLink(target, f);
                        continue;
                    } catch (IOException | UnsupportedOperationException e) {
                        // another file system: copy
                    }
                }
                Files.copy(f, target);
            }
        }
    }

    /** What the run downloaded from Central (not Sluice's, not the generated project) into the outer repository. */
    private static void copyBack(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            files.filter(Files::isRegularFile).forEach(f -> {
                String rel = from.relativize(f).toString().replace('\\', '/');
                if (rel.startsWith("io/sluice/") || rel.startsWith("com/acme/") || rel.startsWith("com/example/")
                        || rel.endsWith(".lastUpdated") || rel.endsWith("_remote.repositories")
                        || rel.contains("maven-metadata") || rel.endsWith("resolver-status.properties")) {
                    return;
                }
                Path target = to.resolve(rel);
                if (Files.exists(target)) {
                    return;
                }
                try {
                    Files.createDirectories(target.getParent());
                    Files.copy(f, target);
                } catch (FileAlreadyExistsException e) {
                    // a concurrent build put it there
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }

    private static String tail(String out) {
        String[] lines = out.split("\n");
        return String.join("\n", Arrays.asList(lines).subList(Math.max(0, lines.length - 80), lines.length));
    }

    private static String apiVersion() {
        try {
            Matcher m = Pattern.compile("<plugin-api.version>([^<]+)</plugin-api.version>")
                    .matcher(Files.readString(ROOT.resolve("pom.xml")));
            assertTrue(m.find(), "plugin-api.version in the root pom");
            return m.group(1);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
