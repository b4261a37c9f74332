package io.sluice.docs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.plugin.FilterDescriptor;
import io.sluice.plugin.FilterFactory;
import io.sluice.registry.admin.OpenApiDocument;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * Writes the docs site's sources, docs-site/target/site-src, for VitePress: the hand-written pages of src/docs,
 * the quickstart and release archive sections of the README, the benchmark results, and the generated pages — one
 * reference page per built-in filter (from its descriptor and schema, with the hand-written examples of
 * src/docs/plugin-examples beside the table), the admin API reference (from the OpenAPI document) and the
 * plugin-api javadoc (from plugin-api's javadoc jar).
 */
final class SiteSources {
    static final Path ROOT = Path.of(System.getProperty("sluice.root", "..")).toAbsolutePath().normalize();
    static final Path DOCS = ROOT.resolve("docs-site/src/docs");
    static final Path OUT = ROOT.resolve("docs-site/target/site-src");
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The repository files (relative to its root) that the site shows as generated pages, and those pages. */
    static final Map<String, String> GENERATED = Map.of(
            "README.md#quickstart", "./quickstart.md",
            "README.md#release-archive", "./quickstart.md#release-archive",
            "runtime/bench/RESULTS.md", "./benchmarks.md",
            "plugin-registry/src/main/resources/io/sluice/registry/admin/openapi.yaml", "./api-reference.md",
            "plugin-api/src/main/java/io/sluice/plugin", "/javadoc/index.html");

    private SiteSources() {
    }

    static List<FilterDescriptor> builtins() {
        List<FilterDescriptor> out = new ArrayList<>();
        for (FilterFactory f : ServiceLoader.load(FilterFactory.class, SiteSources.class.getClassLoader())) {
            out.add(f.descriptor());
        }
        out.sort(Comparator.comparing(FilterDescriptor::name));
        return out;
    }

    static void write() throws Exception {
        deleteTree(OUT);
        Files.createDirectories(OUT.resolve("plugins"));
        try (Stream<Path> s = Files.list(DOCS)) {
            for (Path p : s.filter(f -> f.toString().endsWith(".md")).toList()) {
                Files.writeString(OUT.resolve(p.getFileName()), links(Files.readString(p)));
            }
        }
        String readme = Files.readString(ROOT.resolve("README.md"));
        Files.writeString(OUT.resolve("quickstart.md"), "# Quickstart\n\n"
                + "<!-- from the README's Quickstart and Release archive sections -->\n\n"
                + links(section(readme, "## Quickstart")) + "\n\n## Release archive\n\n"
                + links(section(readme, "## Release archive")) + "\n");
        Files.writeString(OUT.resolve("benchmarks.md"), "<!-- runtime/bench/RESULTS.md -->\n\n"
                + Files.readString(ROOT.resolve("runtime/bench/RESULTS.md")));
        ArrayNode sidebar = JSON.createArrayNode();
        for (FilterDescriptor d : builtins()) {
            Path examples = DOCS.resolve("plugin-examples/" + d.name() + ".md");
            String ex = Files.exists(examples) ? Files.readString(examples) : "";
            Files.writeString(OUT.resolve("plugins/" + d.name() + ".md"), PluginReference.page(d, ex));
            ObjectNode item = sidebar.addObject();
            item.put("text", d.name());
            item.put("link", "/plugins/" + d.name());
        }
        Files.writeString(OUT.resolve("api-reference.md"), ApiReference.page(OpenApiDocument.tree()));
        unzipJavadoc(OUT.resolve("public/javadoc"));
        copySdkRepository(OUT.resolve("public/maven"));
        Path vp = Files.createDirectories(OUT.resolve(".vitepress"));
        Files.copy(ROOT.resolve("docs-site/src/site/config.mjs"), vp.resolve("config.mjs"));
        Files.writeString(vp.resolve("plugins.json"),
                JSON.writerWithDefaultPrettyPrinter().writeValueAsString(sidebar));
    }

    /** A README section's body: from after its heading to the next "## " heading. */
    static String section(String text, String heading) {
        int at = text.indexOf("\n" + heading + "\n");
        if (at < 0) {
            throw new IllegalStateException("README.md has no '" + heading + "' section");
        }
        int from = at + heading.length() + 2;
        int to = text.indexOf("\n## ", from);
        return text.substring(from, to < 0 ? text.length() : to).strip();
    }

    /**
     * Links between repository files, made links between pages of the site. The markdown links to the files a
     * generated page is made from, so that it reads on GitHub too; the site links to the page.
     */
    static String links(String md) {
        String out = md.replace("](docs-site/src/docs/", "](./");
        for (Map.Entry<String, String> e : GENERATED.entrySet()) {
            // from README.md (KEY) or from a page of src/docs (../../../KEY); an #anchor after a file is kept
            out = Pattern.compile("\\]\\((?:\\.\\./\\.\\./\\.\\./)?" + Pattern.quote(e.getKey()) + "(#[^)\\s]*)?\\)")
                    .matcher(out).replaceAll(Matcher.quoteReplacement("](" + e.getValue()) + "$1)");
        }
        // a built-in's examples (src/docs/plugin-examples/NAME.md) are part of its reference page
        return out.replaceAll("\\]\\((?:\\./)?plugin-examples/([a-z0-9-]+\\.md)", "](./plugins/$1");
    }

    /**
     * The SDK's Maven repository folder (plugin-api, its BOM, the archetype), served by the site at {@code /maven/}
     * so that plugin authors can point Maven at it.
     */
    private static void copySdkRepository(Path into) throws IOException {
        Path repo = ROOT.resolve("target/sdk-repo");
        if (!Files.isDirectory(repo.resolve("io/sluice/plugin-api"))) {
            throw new IllegalStateException("no SDK repository in " + repo + ": build plugin-api first (mvn -pl "
                    + "docs-site -am package)");
        }
        try (Stream<Path> s = Files.walk(repo)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                Path out = into.resolve(repo.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(out);
                } else {
                    Files.copy(p, out, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    private static void unzipJavadoc(Path into) throws IOException {
        Path target = ROOT.resolve("plugin-api/target");
        Path jar;
        try (Stream<Path> s = Files.list(target)) {
            jar = s.filter(p -> p.getFileName().toString().matches("plugin-api-.*-javadoc\\.jar")).findFirst()
                    .orElseThrow(() -> new IllegalStateException("no plugin-api javadoc jar in " + target
                            + ": build plugin-api first (mvn -pl docs-site -am package)"));
        }
        try (ZipInputStream z = new ZipInputStream(Files.newInputStream(jar))) {
            for (ZipEntry e; (e = z.getNextEntry()) != null; ) {
                Path out = into.resolve(e.getName()).normalize();
                if (!out.startsWith(into) || e.getName().startsWith("META-INF")) {
                    continue;
                }
                if (e.isDirectory()) {
                    Files.createDirectories(out);
                } else {
                    Files.createDirectories(out.getParent());
                    Files.copy(z, out);
                }
            }
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    static String read(InputStream in) {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
