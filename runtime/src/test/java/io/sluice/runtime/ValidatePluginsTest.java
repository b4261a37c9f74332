package io.sluice.runtime;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code sluice validate --plugins DIR FILE}: a config using uploaded filters checked offline against the schemas
 * of the jars and scripts in DIR (the sample plugins, built by their own modules), inspected as uploads are.
 */
class ValidatePluginsTest {
    static final Path SAMPLES = Path.of("target", "sample-plugins");
    static final String ROUTE = """
            routes:
              - id: pay
                paths: ["/pay/**"]
                upstream: {targets: [{url: "http://127.0.0.1:9001"}]}
                plugins:
            """;

    @TempDir
    Path dir;

    private record Run(int code, String out, String err) {
    }

    private Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** DIR with the ab-tagger jar and maintenance.js, as a developer keeps what they upload. */
    private Path plugins() throws Exception {
        Path p = Files.createDirectories(dir.resolve("plugins"));
        Files.copy(SAMPLES.resolve("ab-tagger.jar"), p.resolve("ab-tagger-1.0.0.jar"));
        try (ZipFile zip = new ZipFile(SAMPLES.resolve("js-filters.jar").toFile())) {
            Files.write(p.resolve("maintenance.js"), zip.getInputStream(zip.getEntry("maintenance.js")).readAllBytes());
        }
        return p;
    }

    private String config(String plugins) throws Exception {
        Path f = dir.resolve("sluice.yaml");
        Files.writeString(f, ROUTE + plugins);
        return f.toString();
    }

    @Test
    void aConfigUsingUploadedFiltersIsValidAgainstTheirSchemas() throws Exception {
        String f = config("""
                      - name: ab-tagger
                        config: {experiment: checkout, percent_b: 10}
                      - name: maintenance
                        version: 1.0.0
                        config: {retry_after_seconds: 60, allow_paths: [/pay/health]}
                """);
        Run r = run("validate", "--plugins", plugins().toString(), f);
        assertEquals(0, r.code(), r.err());
        assertEquals(f + ": ok (1 routes, 0 global plugins, 0 consumers)\n", r.out());
    }

    @Test
    void aConfigViolatingAnUploadedFiltersSchemaIsReportedWithFileAndLine() throws Exception {
        String f = config("""
                      - name: ab-tagger
                        config:
                          percent_b: 150
                      - name: maintenance
                        config: {retry_after_seconds: "soon"}
                """);
        Run r = run("validate", "--plugins", plugins().toString(), f);
        assertEquals(1, r.code(), r.out());
        assertEquals(f + ":7: routes[0].plugins[0].config.experiment: required property 'experiment' not found\n"
                + f + ":8: routes[0].plugins[0].config.percent_b: must have a maximum value of 100\n"
                + f + ":10: routes[0].plugins[1].config.retry_after_seconds: string found, integer expected\n",
                r.err());
    }

    @Test
    void withoutThePluginsFolderTheyAreUnknown() throws Exception {
        String f = config("""
                      - name: ab-tagger
                        config: {experiment: checkout}
                """);
        Run r = run("validate", f);
        assertEquals(1, r.code());
        assertEquals(f + ":6: routes[0].plugins[0].name: unknown plugin 'ab-tagger'\n", r.err());
    }

    @Test
    void aPinnedVersionNotInTheFolderIsUnknown() throws Exception {
        String f = config("""
                      - name: ab-tagger
                        version: 2.0.0
                        config: {experiment: checkout}
                """);
        Run r = run("validate", "--plugins", plugins().toString(), f);
        assertEquals(1, r.code());
        assertEquals(f + ":6: routes[0].plugins[0].name: unknown plugin 'ab-tagger' version 2.0.0\n", r.err());
    }

    @Test
    void aJarWithoutItsExtensionIndexFailsWithTheReason() throws Exception {
        Path p = plugins();
        // what a build without the annotation processor produces (javac on JDK 23+ does not run it unasked)
        try (ZipFile in = new ZipFile(SAMPLES.resolve("ab-tagger.jar").toFile());
             ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(p.resolve("ab-tagger-1.0.0.jar")))) {
            for (ZipEntry e : java.util.Collections.list(in.entries())) {
                if (!e.getName().equals("META-INF/extensions.idx")) {
                    out.putNextEntry(new ZipEntry(e.getName()));
                    in.getInputStream(e).transferTo(out);
                    out.closeEntry();
                }
            }
        }
        String f = config("""
                      - name: maintenance
                        config: {}
                """);
        Run r = run("validate", "--plugins", p.toString(), f);
        assertEquals(1, r.code(), r.out());
        assertTrue(r.err().startsWith(p.resolve("ab-tagger-1.0.0.jar") + ": not a usable filter: "), r.err());
        assertTrue(r.err().contains("extensions.idx"), r.err());
    }

    @Test
    void usageErrors() throws Exception {
        Run r = run("validate", "--plugins");
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("sluice: --plugins needs a folder\n"), r.err());
        r = run("validate", "--plugins", dir.resolve("none").toString(), config(""));
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("sluice: --plugins " + dir.resolve("none") + " is not a folder\n"), r.err());
    }
}
