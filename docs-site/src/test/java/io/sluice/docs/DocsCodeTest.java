package io.sluice.docs;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.plugin.Headers;
import io.sluice.plugin.Outcome;
import io.sluice.plugin.testkit.JsFilterHarness;
import io.sluice.plugin.testkit.TestExchange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import java.lang.reflect.InvocationTargetException;
import java.net.URI;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every Java and JavaScript example of the docs (docs-site/src/docs, README.md) is compiled and run against this
 * checkout's plugin-api, so a wrong API name or a wrong claim fails the build.
 * <ul>
 *   <li>Java: the blocks of all pages are compiled together with javac (a page's fragment may use a class another
 *       of its blocks declares), with the imports a filter's source has ({@code io.sluice.plugin.*}, the testkit,
 *       {@code java.nio.file.*}, {@code java.util.*}, JUnit's assertions). A block declaring a class is compiled
 *       as it is; any other is a fragment, the body of a method that is then run (its assertions must hold)
 *       unless the line before the fence says {@code <!-- not run: REASON -->}. A relative {@code Path.of(...)}
 *       in a fragment is looked up in the sample plugin projects (sample-plugins/NAME), where the docs' sample
 *       files are.</li>
 *   <li>JavaScript: each block is loaded in the gateway's own sandbox ({@link JsFilterHarness}: the same module
 *       checks as an upload); a block without {@code export} is the members of a filter's export. The filter the
 *       admin API page uploads ({@code <!-- file: add-header.js -->}) is also run over a request and a response.
 *       DocsShellIT uploads it to a real gateway.</li>
 * </ul>
 */
class DocsCodeTest {
    static final Path ROOT = SiteSources.ROOT;
    static final String IMPORTS = """
            import io.sluice.plugin.*;
            import io.sluice.plugin.testkit.*;
            import java.net.http.HttpResponse;
            import java.nio.file.*;
            import java.util.*;
            import static org.junit.jupiter.api.Assertions.*;
            """;
    static final Pattern TYPE = Pattern.compile(
            "^(?:public\\s+)?(?:(?:final|abstract|sealed)\\s+)*(?:class|record|interface|enum)\\s+(\\w+)",
            Pattern.MULTILINE);
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    /** A compilation unit made of a block. */
    private record Unit(DocBlocks.Block block, String className, String source, int header, boolean fragment) {
        /** page:line of a line of the generated source */
        String at(long line) {
            long n = line - 1 - header;
            return n >= 0 ? block.at((int) n) : block.toString();
        }
    }

    @Test
    void everyJavaExampleCompilesAndItsFragmentsRun() throws Exception {
        List<Unit> units = new ArrayList<>();
        for (DocBlocks.Block b : DocBlocks.all()) {
            if (b.lang().equals("java")) {
                units.add(unit(b));
            }
        }
        assertTrue(units.size() >= 4, "java blocks: " + units.size());

        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        List<JavaFileObject> sources = new ArrayList<>();
        for (Unit u : units) {
            sources.add(new SimpleJavaFileObject(URI.create("string:///" + u.className() + ".java"),
                    JavaFileObject.Kind.SOURCE) {
                @Override
                public CharSequence getCharContent(boolean ignoreEncodingErrors) {
                    return u.source();
                }
            });
        }
        Path out = tmp.resolve("classes");
        java.nio.file.Files.createDirectories(out);
        boolean ok;
        try (StandardJavaFileManager files = javac.getStandardFileManager(diagnostics, Locale.ROOT, null)) {
            ok = javac.getTask(null, files, diagnostics, List.of("-proc:none", "-Xlint:none", "-classpath",
                    System.getProperty("java.class.path"), "-d", out.toString()), null, sources).call();
        }
        List<String> problems = new ArrayList<>();
        for (Diagnostic<? extends JavaFileObject> d : diagnostics.getDiagnostics()) {
            if (d.getKind() != Diagnostic.Kind.ERROR) {
                continue;
            }
            String name = d.getSource() == null ? "" : d.getSource().getName();
            Unit u = units.stream().filter(x -> name.endsWith("/" + x.className() + ".java")).findFirst()
                    .orElse(null);
            problems.add((u == null ? name : u.at(d.getLineNumber())) + ": " + d.getMessage(Locale.ROOT));
        }
        assertTrue(ok && problems.isEmpty(), "the docs' Java examples do not compile:\n"
                + String.join("\n", problems));

        int run = 0;
        try (URLClassLoader loader = new URLClassLoader(new URL[]{out.toUri().toURL()},
                getClass().getClassLoader())) {
            for (Unit u : units) {
                if (!u.fragment() || u.block().notRun() != null) {
                    continue;
                }
                Class<?> c = loader.loadClass(u.className());
                try {
                    c.getMethod("run").invoke(c.getConstructor().newInstance());
                    run++;
                } catch (InvocationTargetException e) {
                    Throwable t = e.getCause();
                    long line = -1;
                    for (StackTraceElement s : t.getStackTrace()) {
                        if (s.getClassName().equals(u.className())) {
                            line = s.getLineNumber();
                            break;
                        }
                    }
                    problems.add((line > 0 ? u.at(line) : u.block().toString()) + ": " + t);
                }
            }
        }
        assertTrue(problems.isEmpty(), "the docs' Java examples fail:\n" + String.join("\n", problems));
        assertTrue(run >= 2, "fragments run: " + run);
    }

    private static Unit unit(DocBlocks.Block b) {
        Matcher m = TYPE.matcher(b.text());
        if (m.find()) {
            return new Unit(b, m.group(1), IMPORTS + b.text(), (int) IMPORTS.lines().count(), false);
        }
        String name = "Example_" + b.page().replaceAll("\\W", "_") + "_" + b.line();
        StringBuilder bases = new StringBuilder();
        try (var s = java.nio.file.Files.list(ROOT.resolve("sample-plugins"))) {
            for (Path p : s.filter(java.nio.file.Files::isDirectory).sorted().toList()) {
                bases.append('"').append(p.toString().replace("\\", "\\\\")).append("\", ");
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        String head = IMPORTS + """
                public class %s {
                    /** Path.of(...) of a relative path: the docs' sample files, in the sample plugin projects. */
                    static final class Path {
                        static java.nio.file.Path of(String first, String... more) {
                            java.nio.file.Path p = java.nio.file.Path.of(first, more);
                            for (String base : new String[]{%s}) {
                                if (!p.isAbsolute() && Files.exists(java.nio.file.Path.of(base).resolve(p))) {
                                    return java.nio.file.Path.of(base).resolve(p);
                                }
                            }
                            return p;
                        }
                    }

                    public void run() throws Exception {
                """.formatted(name, bases);
        return new Unit(b, name, head + b.text() + "    }\n}\n", (int) head.lines().count(), true);
    }

    @Test
    void everyJavaScriptExampleLoadsInTheGatewaysSandbox() throws Exception {
        List<String> problems = new ArrayList<>();
        int loaded = 0;
        boolean addHeader = false;
        for (DocBlocks.Block b : DocBlocks.all()) {
            if (!b.lang().equals("js") && !b.lang().equals("javascript")) {
                continue;
            }
            String source = b.text().contains("export ") ? b.text() : """
                    export default {
                      name: "docs-example", version: "1.0.0",
                      %s,
                      onRequest(ctx, conf) {}
                    };
                    """.formatted(b.text().strip().replaceAll(",$", ""));
            try (JsFilterHarness f = JsFilterHarness.of(source)) {
                assertTrue(!f.name().isBlank() && !f.version().isBlank(), b + ": name and version");
                JSON.readTree(f.schema());
                loaded++;
                if ("add-header.js".equals(b.file()) && b.notRun() == null) {
                    // plugins.md's filter: sets x-tag from its config; a 5xx from upstream is answered 503
                    String conf = "{\"value\": \"hello\"}";
                    TestExchange ex = TestExchange.request("GET", "/users/7");
                    assertEquals(Outcome.proceed(), f.onRequest(ex, conf), b.toString());
                    assertEquals("hello", ex.request().headers().firstOrNull("x-tag"), b.toString());
                    TestExchange failed = TestExchange.request("GET", "/users/7").respond(502, new Headers(), "");
                    Outcome.Respond r = assertInstanceOf(Outcome.Respond.class, f.onResponse(failed, conf),
                            b.toString());
                    assertEquals(503, r.status(), b.toString());
                    TestExchange fine = TestExchange.request("GET", "/users/7").respond(200, new Headers(), "");
                    assertEquals(Outcome.proceed(), f.onResponse(fine, conf), b.toString());
                    addHeader = true;
                }
            } catch (RuntimeException e) {
                problems.add(b + ": " + e.getMessage());
            }
        }
        assertTrue(problems.isEmpty(), "the docs' JavaScript examples fail:\n" + String.join("\n", problems));
        assertTrue(loaded >= 2, "js blocks: " + loaded);
        assertTrue(addHeader, "plugins.md's add-header.js was run");
    }
}
