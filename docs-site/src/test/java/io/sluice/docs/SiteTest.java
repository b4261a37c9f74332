package io.sluice.docs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.sluice.plugin.FilterDescriptor;
import io.sluice.registry.admin.OpenApiDocument;
import io.sluice.registry.config.ConfigException;
import io.sluice.registry.config.ConfigParser;
import io.sluice.registry.config.GatewayConfig;
import io.sluice.registry.config.SourceTree;
import io.sluice.runtime.FilterCatalog;
import io.sluice.runtime.proxy.ConfigSnapshot;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The docs site's sources (SiteSources, into docs-site/target/site-src, which `npm run build` turns into the
 * site): a reference page per built-in with every schema field, the admin API reference with every operation, and
 * every YAML and JSON snippet of every page checked — a config snippet by the gateway's own parser and checks (the
 * ones `sluice validate` runs), a JSON one at least as JSON — so the docs cannot drift from the code; and every
 * link leads somewhere, both in the markdown as GitHub shows it and between the site's pages.
 */
class SiteTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final YAMLMapper YAML = new YAMLMapper();
    private static final Pattern LINK = Pattern.compile("\\]\\(([^)\\s]+)\\)");
    private static final Pattern HEADING = Pattern.compile("^#{1,6}\\s+(.+?)\\s*#*$");
    private static final Set<String> DOCUMENT_KEYS = Set.of("routes", "global_plugins", "consumers", "settings",
            "trusted_jar_signers");

    @BeforeAll
    static void generate() throws Exception {
        SiteSources.write();
    }

    @Test
    void aReferencePagePerBuiltinWithEveryField() throws Exception {
        List<FilterDescriptor> builtins = SiteSources.builtins();
        assertTrue(builtins.size() >= 11, builtins.toString());
        for (FilterDescriptor d : builtins) {
            String page = Files.readString(SiteSources.OUT.resolve("plugins/" + d.name() + ".md"));
            JsonNode props = JSON.readTree(d.schema()).path("properties");
            for (Iterator<String> it = props.fieldNames(); it.hasNext(); ) {
                String f = it.next();
                assertTrue(page.contains("| `" + f + "` |"), d.name() + ": no row for " + f);
            }
            props.fields().forEachRemaining(e -> {
                if (e.getValue().path("writeOnly").asBoolean()) {
                    assertTrue(page.contains("| `" + e.getKey() + "` |") && page.contains("**secret**"),
                            d.name() + "." + e.getKey() + " is a secret");
                }
            });
        }
        String rate = Files.readString(SiteSources.OUT.resolve("plugins/rate-limit.md"));
        assertTrue(rate.contains("| `redis_url` | string |"), rate);
        assertTrue(rate.contains("| `period` | string | `\"second\"` | one of second, minute, hour |"), rate);
    }

    @Test
    void theApiReferenceHasEveryOperation() throws Exception {
        String page = Files.readString(SiteSources.OUT.resolve("api-reference.md"));
        JsonNode paths = OpenApiDocument.tree().path("paths");
        int ops = 0;
        for (Iterator<String> it = paths.fieldNames(); it.hasNext(); ) {
            String p = it.next();
            for (String m : List.of("get", "put", "post", "patch", "delete")) {
                if (paths.path(p).has(m)) {
                    assertTrue(page.contains("### `" + m.toUpperCase() + " " + p + "`"), m + " " + p);
                    ops++;
                }
            }
        }
        assertTrue(ops > 20, "operations: " + ops);
        assertTrue(Files.isRegularFile(SiteSources.OUT.resolve("public/javadoc/index.html")), "javadoc");
    }

    /**
     * Every relative link of the markdown (src/docs, README.md) leads to a file of the repository, and its #anchor
     * to a heading there, so the docs read on GitHub too: a generated page of the site is linked by what it is made
     * from (SiteSources.GENERATED).
     */
    @Test
    void everyLinkOfTheMarkdownLeadsToAFileOfTheRepository() throws Exception {
        List<Path> pages = new ArrayList<>();
        try (Stream<Path> s = Files.walk(SiteSources.DOCS)) {
            pages.addAll(s.filter(p -> p.toString().endsWith(".md")).sorted().toList());
        }
        pages.add(SiteSources.ROOT.resolve("README.md"));
        List<String> problems = new ArrayList<>();
        int checked = 0;
        for (Path page : pages) {
            for (String target : links(page)) {
                String file = target.replaceFirst("#.*", "");
                if (target.startsWith("/")) {
                    problems.add(SiteSources.ROOT.relativize(page) + ": " + target + " is a path of the site only");
                    continue;
                }
                checked++;
                Path to = file.isEmpty() ? page : page.getParent().resolve(file).normalize();
                if (!Files.exists(to)) {
                    problems.add(SiteSources.ROOT.relativize(page) + ": no file " + target);
                } else if (target.contains("#") && to.toString().endsWith(".md")
                        && !anchors(to).contains(target.substring(target.indexOf('#') + 1))) {
                    problems.add(SiteSources.ROOT.relativize(page) + ": no heading for " + target);
                }
            }
        }
        assertEquals(List.of(), problems, String.join("\n", problems));
        assertTrue(checked > 50, "links checked: " + checked);
    }

    /** Every relative link of the site's pages leads to a page of the site (or a file of its public folder). */
    @Test
    void everyLinkOfTheSiteLeadsToAPage() throws Exception {
        List<Path> pages;
        try (Stream<Path> s = Files.walk(SiteSources.OUT)) {
            pages = s.filter(p -> p.toString().endsWith(".md") && !p.startsWith(SiteSources.OUT.resolve("public")))
                    .sorted().toList();
        }
        List<String> problems = new ArrayList<>();
        for (Path page : pages) {
            for (String target : links(page)) {
                String file = target.replaceFirst("#.*", "");
                if (file.isEmpty()) {
                    continue;
                }
                Path to = file.startsWith("/") ? SiteSources.OUT.resolve("public").resolve(file.substring(1))
                        : page.getParent().resolve(file).normalize();
                if (!to.startsWith(SiteSources.OUT) || !Files.exists(to)) {
                    problems.add(SiteSources.OUT.relativize(page) + ": no page " + target);
                }
            }
        }
        assertEquals(List.of(), problems, String.join("\n", problems));
    }

    /** The anchors of a markdown page's headings, as GitHub makes them (and the site: config.mjs's slugify). */
    static Set<String> anchors(Path page) throws Exception {
        Set<String> out = new HashSet<>();
        boolean code = false;
        for (String line : Files.readAllLines(page)) {
            if (line.strip().startsWith("```")) {
                code = !code;
            }
            Matcher h = HEADING.matcher(line);
            if (!code && h.matches()) {
                String slug = h.group(1).strip().toLowerCase(Locale.ROOT).replaceAll("<[^>]*>", "")
                        .replaceAll("[^\\p{L}\\p{N}\\s_-]", "").replaceAll("\\s", "-");
                String unique = slug;
                for (int n = 1; !out.add(unique); n++) {
                    unique = slug + "-" + n;   // a repeated heading: -1, -2, ...
                }
            }
        }
        return out;
    }

    /** The targets of a markdown page's links, but those to another site (http:, mailto:) and in fenced code. */
    static List<String> links(Path page) throws Exception {
        List<String> out = new ArrayList<>();
        boolean code = false;
        for (String line : Files.readAllLines(page)) {
            if (line.strip().startsWith("```")) {
                code = !code;
            }
            Matcher m = LINK.matcher(code ? "" : line.replaceAll("`[^`]*`", ""));
            while (m.find()) {
                if (!m.group(1).matches("[a-z]+:.*")) {
                    out.add(m.group(1));
                }
            }
        }
        return out;
    }

    /** A fenced snippet of a page. */
    record Snippet(Path page, int line, String lang, String text) {
        @Override
        public String toString() {
            return SiteSources.OUT.relativize(page) + ":" + line + " (" + lang + ")";
        }
    }

    static List<Snippet> snippets() throws Exception {
        List<Snippet> out = new ArrayList<>();
        List<Path> pages;
        try (Stream<Path> s = Files.walk(SiteSources.OUT)) {
            pages = s.filter(p -> p.toString().endsWith(".md") && !p.toString().contains("/public/")).sorted()
                    .toList();
        }
        for (Path p : pages) {
            List<String> lines = Files.readAllLines(p);
            for (int i = 0; i < lines.size(); i++) {
                String l = lines.get(i).strip();
                if (l.startsWith("```") && l.length() > 3) {
                    String lang = l.substring(3).strip();
                    StringBuilder b = new StringBuilder();
                    int start = i + 1;
                    while (++i < lines.size() && !lines.get(i).strip().equals("```")) {
                        b.append(lines.get(i)).append('\n');
                    }
                    out.add(new Snippet(p, start, lang, b.toString()));
                }
            }
        }
        return out;
    }

    @Test
    void everyConfigSnippetIsValidatedByTheRealParser() throws Exception {
        // plus the JavaScript filter of the README's quickstart, as an upload would describe it
        FilterCatalog catalog = FilterCatalog.builtins().withDescribed(java.util.Map.of("add-header", List.of(
                new FilterDescriptor("add-header", "1.0.0", """
                        {"type": "object", "required": ["value"], "properties": {"value": {"type": "string"}}}""",
                        "the README's quickstart filter"))));
        ConfigParser parser = new ConfigParser(catalog);
        List<String> problems = new ArrayList<>();
        int configs = 0;
        int json = 0;
        for (Snippet s : snippets()) {
            if (!s.lang().equals("yaml") && !s.lang().equals("json")) {
                continue;
            }
            JsonNode tree;
            try {
                tree = s.lang().equals("json") ? JSON.readTree(s.text()) : YAML.readTree(s.text());
            } catch (Exception e) {
                problems.add(s + ": not " + s.lang() + ": " + e.getMessage().lines().findFirst().orElse(""));
                continue;
            }
            JsonNode doc = asDocument(tree);
            if (doc == null) {
                if (s.lang().equals("yaml")) {
                    problems.add(s + ": a YAML snippet that is no config, route or plugin list");
                } else {
                    json++;
                }
                continue;
            }
            try {
                GatewayConfig c = parser.parse(SourceTree.parse(JSON.writeValueAsString(doc)));
                ConfigSnapshot.check(c, catalog);
                configs++;
            } catch (ConfigException e) {
                problems.add(s + ": " + e.problems());
            }
        }
        assertEquals(List.of(), problems, String.join("\n", problems));
        assertTrue(configs >= 25, "config snippets checked: " + configs);
        assertTrue(json > 0);
    }

    /** A snippet as a whole config document: as is, or a route or plugin list placed in a route. */
    static JsonNode asDocument(JsonNode tree) {
        // a document's upstreams are a list of shared upstreams; a route's are a map of named groups
        if (tree.isObject() && (DOCUMENT_KEYS.stream().anyMatch(tree::has) || tree.path("upstreams").isArray())) {
            return tree;
        }
        ObjectNode route;
        if (tree.isObject() && (tree.has("paths") || tree.path("upstream").isObject() || tree.has("upstreams")
                || tree.path("plugins").isArray() || tree.has("aggregate"))) {
            route = ((ObjectNode) tree).deepCopy();
        } else if (tree.isArray() && !tree.isEmpty() && tree.get(0).isObject() && tree.get(0).has("name")) {
            route = JSON.createObjectNode();
            route.set("plugins", tree);
        } else if (tree.isObject() && tree.has("name") && tree.has("config") && tree.size() <= 4) {
            route = JSON.createObjectNode();
            route.putArray("plugins").add(tree);
        } else {
            return null;
        }
        if (!route.has("id")) {
            route.put("id", "doc");
        }
        if (!route.has("paths")) {
            route.putArray("paths").add("/doc/**");
        }
        if (!route.has("upstream") && !route.has("aggregate")) {
            route.putObject("upstream").putArray("targets").addObject().put("url", "http://127.0.0.1:9");
        }
        ObjectNode doc = JSON.createObjectNode();
        doc.putArray("routes").add(route);
        return doc;
    }
}
