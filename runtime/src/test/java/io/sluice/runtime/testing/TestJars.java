package io.sluice.runtime.testing;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;

/**
 * Builds PF4J plugin jars for tests, the way a plugin's build would: Java sources compiled against plugin-api
 * (javac from the JDK), a manifest descriptor and an extension index. The classes are never on the test's class
 * path, so loading them exercises the gateway's plugin class loaders for real.
 */
public final class TestJars {
    private final Map<String, String> manifest = new LinkedHashMap<>();
    private final Map<String, String> sources = new LinkedHashMap<>();
    private final List<String> extensions = new ArrayList<>();

    private TestJars() {
    }

    /**
     * A plugin with a manifest descriptor requiring plugin-api {@code >=0.1.0 & <0.2.0}.
     *
     * @param id      Plugin-Id
     * @param version Plugin-Version
     * @return the builder
     */
    public static TestJars plugin(String id, String version) {
        TestJars j = new TestJars();
        j.manifest.put("Plugin-Id", id);
        j.manifest.put("Plugin-Version", version);
        j.manifest.put("Plugin-Requires", ">=0.1.0 & <0.2.0");
        return j;
    }

    /**
     * A filter that sets request header {@code x-jar} to {@code <config value>-<version>} and response header
     * {@code x-jar-by} to {@code <id> <version>}; {@code sleep_ms} in its config makes it sleep first.
     *
     * @param id      filter name
     * @param version filter version
     * @return the builder, with factory {@code test.jar.TagFactory} as its extension
     */
    public static TestJars tagger(String id, String version) {
        return plugin(id, version).source("test.jar.TagFactory", """
                package test.jar;
                import io.sluice.plugin.*;
                public final class TagFactory implements FilterFactory {
                    public FilterDescriptor descriptor() {
                        return new FilterDescriptor("%s", "%s", "{\\"type\\":\\"object\\",\\"properties\\":"
                            + "{\\"value\\":{\\"type\\":\\"string\\"},\\"sleep_ms\\":{\\"type\\":\\"integer\\"}}}",
                            "tags requests");
                    }
                    public Filter create(FilterConfig c) {
                        return new TagFilter(c.string("value").orElse("none"), c.integer("sleep_ms").orElse(0L));
                    }
                }
                """.formatted(id, version)).source("test.jar.TagFilter", """
                package test.jar;
                import io.sluice.plugin.*;
                final class TagFilter implements Filter {
                    private final String value;
                    private final long sleepMs;
                    TagFilter(String value, long sleepMs) { this.value = value; this.sleepMs = sleepMs; }
                    public Outcome onRequest(Exchange ex) throws Exception {
                        if (sleepMs > 0) { Thread.sleep(sleepMs); }
                        ex.request().headers().set("x-jar", value + "-%s");
                        return Outcome.proceed();
                    }
                    public Outcome onResponse(Exchange ex) {
                        ex.response().orElseThrow().headers().set("x-jar-by", "%s %s");
                        return Outcome.proceed();
                    }
                }
                """.formatted(version, id, version)).extension("test.jar.TagFactory");
    }

    /**
     * Sets (or with null removes) a manifest attribute.
     *
     * @param key   attribute
     * @param value value or null
     * @return this
     */
    public TestJars manifest(String key, String value) {
        if (value == null) {
            manifest.remove(key);
        } else {
            manifest.put(key, value);
        }
        return this;
    }

    /**
     * Adds a class.
     *
     * @param className fully qualified name
     * @param source    its source
     * @return this
     */
    public TestJars source(String className, String source) {
        sources.put(className, source);
        return this;
    }

    /**
     * Lists a class in {@code META-INF/extensions.idx}.
     *
     * @param className fully qualified name
     * @return this
     */
    public TestJars extension(String className) {
        extensions.add(className);
        return this;
    }

    /** @return this without any extension index */
    public TestJars noExtensions() {
        extensions.clear();
        return this;
    }

    private static String location(Class<?> c) {
        try {
            return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Compiles and packs the jar.
     *
     * @return the jar's bytes
     */
    public byte[] build() {
        try {
            Path work = Files.createTempDirectory("testjar");
            Path src = work.resolve("src");
            Path classes = work.resolve("classes");
            Files.createDirectories(classes);
            List<String> args = new ArrayList<>(List.of("-d", classes.toString(), "-classpath",
                    location(io.sluice.plugin.FilterFactory.class) + java.io.File.pathSeparator
                            + location(org.pf4j.ExtensionPoint.class), "-proc:none", "-nowarn"));
            for (Map.Entry<String, String> e : sources.entrySet()) {
                Path f = src.resolve(e.getKey().replace('.', '/') + ".java");
                Files.createDirectories(f.getParent());
                Files.writeString(f, e.getValue());
                args.add(f.toString());
            }
            JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            if (!sources.isEmpty() && javac.run(null, null, err, args.toArray(String[]::new)) != 0) {
                throw new IllegalStateException("test plugin does not compile:\n" + err);
            }
            Manifest m = new Manifest();
            m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
            manifest.forEach((k, v) -> m.getMainAttributes().putValue(k, v));
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (JarOutputStream jar = new JarOutputStream(out, m); Stream<Path> files = Files.walk(classes)) {
                for (Path p : files.filter(Files::isRegularFile).toList()) {
                    jar.putNextEntry(new JarEntry(classes.relativize(p).toString().replace('\\', '/')));
                    jar.write(Files.readAllBytes(p));
                    jar.closeEntry();
                }
                if (!extensions.isEmpty()) {
                    jar.putNextEntry(new JarEntry("META-INF/extensions.idx"));
                    jar.write((String.join("\n", extensions) + "\n").getBytes());
                    jar.closeEntry();
                }
            }
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
