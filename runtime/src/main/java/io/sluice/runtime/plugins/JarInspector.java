package io.sluice.runtime.plugins;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.plugin.FilterDescriptor;
import io.sluice.plugin.PluginApi;
import io.sluice.registry.admin.FilterArtifacts.InspectionFailed;
import io.sluice.registry.admin.FilterArtifacts.Invalid;
import io.sluice.registry.config.ConfigParser;
import io.sluice.registry.config.Problem;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Inspects an uploaded jar without running any of its code in this process: a short-lived child JVM (the same
 * {@code java}) loads it with {@link PluginJar} and reports its descriptor as one JSON line on standard output.
 * The child gets an empty environment (no {@code SLUICE_ADMIN_TOKEN}, no {@code JAVA_TOOL_OPTIONS}), a class path
 * of plugin-api, pf4j (with java-semver and slf4j-api) plus the two inspector classes (copied out of the runtime, whose jar would
 * bring every library through its manifest's {@code Class-Path}), a small heap, and a deadline after which it is
 * killed. A static initialiser that spins, a constructor that calls {@code System.exit}, or one that reads the
 * environment can then hang, end or read only that child.
 *
 * <p>The child runs as the gateway's OS user: it is not a sandbox for files or the network. Only jars the platform
 * vouched for (uploaded with a platform token, or signed by a trusted signer) get here, and their code will run on
 * the data plane with the gateway's rights anyway; the child keeps the control plane answering whatever the code
 * does while it is inspected. Starting a JVM costs a few hundred milliseconds, acceptable for an admin upload.
 */
final class JarInspector {
    private static final System.Logger LOG = System.getLogger(JarInspector.class.getName());
    private static final ObjectMapper MAPPER = new ObjectMapper();
    /** Classes the child runs: the loader and its entry point, with their nested and anonymous classes. */
    private static final List<Class<?>> CHILD_CLASSES = List.of(JarInspectorMain.class, PluginJar.class);
    /** Libraries the child needs besides them: plugin-api, pf4j with its java-semver and slf4j-api. */
    private static final List<Class<?>> CHILD_LIBRARIES = List.of(PluginApi.class, org.pf4j.PluginManager.class,
            com.github.zafarkhaja.semver.Version.class, org.slf4j.LoggerFactory.class);
    private static final int MAX_OUTPUT = 1024 * 1024;
    private static final int MAX_ERROR_TAIL = 2048;

    private final Path dir;
    private final Duration deadline;
    /** Inspections at once: each is a JVM; more wait (up to the deadline) rather than swamp the machine. */
    private final Semaphore running = new Semaphore(2, true);
    private volatile String classPath;

    /**
     * @param dir      where the child's classes and each inspection's working directory are kept
     * @param deadline how long one inspection may take, JVM start included
     */
    JarInspector(Path dir, Duration deadline) {
        this.dir = dir.toAbsolutePath();   // the child runs in its own folder: a relative data dir would not resolve
        this.deadline = deadline;
    }

    /**
     * Inspects a jar in a child JVM.
     *
     * @param content the jar
     * @return its descriptor
     * @throws Invalid          the jar is not a usable plugin (or its code ended the child)
     * @throws InspectionFailed 422 {@code inspection_timeout} past the deadline; 503 {@code inspection_busy}
     */
    FilterDescriptor inspect(byte[] content) throws Invalid, InspectionFailed {
        try {
            if (!running.tryAcquire(deadline.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new InspectionFailed(503, "inspection_busy", "other uploads are being inspected; try again");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InspectionFailed(503, "inspection_busy", "interrupted while waiting to inspect the jar");
        }
        long start = System.nanoTime();   // the deadline counts from here: waiting for a turn is not the jar's time
        Path job = null;
        try {
            Files.createDirectories(dir);
            job = Files.createTempDirectory(dir, "job-");
            Path jar = job.resolve("plugin.jar");
            Files.write(jar, content);
            FilterDescriptor d = run(job, jar, start);
            LOG.log(System.Logger.Level.INFO, "inspected plugin jar " + d.name() + "@" + d.version() + " in a child JVM"
                    + " in " + (System.nanoTime() - start) / 1_000_000 + " ms");
            return d;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare the jar's inspection in " + dir, e);
        } finally {
            running.release();
            if (job != null) {
                deleteTree(job);
            }
        }
    }

    private FilterDescriptor run(Path job, Path jar, long start) throws IOException, Invalid, InspectionFailed {
        List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx128m", "-Xss1m", "-XX:MaxMetaspaceSize=96m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-XX:ActiveProcessorCount=1", "-XX:-UsePerfData", "-XX:+DisableAttachMechanism", "-Xshare:auto",
                "-Djava.io.tmpdir=" + job, "-cp", classPath(), JarInspectorMain.class.getName(), jar.toString());
        ProcessBuilder pb = new ProcessBuilder(command).directory(job.toFile());
        pb.environment().clear();   // no admin token, database URL, JAVA_TOOL_OPTIONS or anything else of ours
        Process p = pb.start();
        p.getOutputStream().close();
        Capture out = new Capture(p.getInputStream(), MAX_OUTPUT, false);
        Capture err = new Capture(p.getErrorStream(), MAX_ERROR_TAIL, true);
        boolean ended;
        try {
            long left = deadline.toNanos() - (System.nanoTime() - start);
            ended = p.waitFor(Math.max(left, 0), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            ended = false;
        }
        if (!ended) {
            kill(p);
            throw new InspectionFailed(422, "inspection_timeout", "the jar's code did not finish its inspection"
                    + " within " + deadline.toMillis() + " ms (a static initialiser, constructor or descriptor()"
                    + " that blocks or loops?); the inspection process was killed and nothing was stored");
        }
        p.descendants().forEach(ProcessHandle::destroyForcibly);   // anything it started and left running
        String stdout = out.text();
        String result = null;
        for (String line : stdout.split("\n")) {
            if (line.startsWith(JarInspectorMain.RESULT)) {
                result = line.substring(JarInspectorMain.RESULT.length()).trim();
            }
        }
        if (result == null) {
            String tail = err.text().strip();
            throw invalid("the jar's code ended the inspection process (exit status " + p.exitValue()
                    + ") before it described itself" + (tail.isEmpty() ? "" : "; it wrote: " + lastLines(tail)));
        }
        return descriptor(result);
    }

    private static FilterDescriptor descriptor(String json) throws Invalid {
        JsonNode n;
        try {
            n = MAPPER.readTree(json);
        } catch (IOException e) {
            throw invalid("the inspection process answered something that is not JSON: " + e.getMessage());
        }
        if (n.has("problems")) {
            List<Problem> problems = new ArrayList<>();
            n.path("problems").forEach(p -> problems.add(new Problem("", 0, p.asText())));
            throw new Invalid(problems.isEmpty() ? List.of(new Problem("", 0, "the plugin does not load")) : problems);
        }
        FilterDescriptor d;
        try {
            d = new FilterDescriptor(n.path("name").asText(), n.path("version").asText(), n.path("schema").asText(),
                    n.path("description").asText());
        } catch (IllegalArgumentException e) {
            throw invalid("FilterFactory.descriptor() failed: " + e.getMessage());
        }
        List<Problem> problems = new ArrayList<>();
        ConfigParser.schemaProblems(d.schema()).forEach(p -> problems.add(new Problem("schema", 0, p)));
        if (!problems.isEmpty()) {
            throw new Invalid(problems);
        }
        return d;
    }

    private static void kill(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        try {
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                LOG.log(System.Logger.Level.WARNING, "inspection process " + p.pid() + " did not end when killed");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * The child's class path, made on first use: the child classes copied into a directory named by their digest
     * (so an upgraded gateway never runs stale ones), and the library jars where this process found them.
     */
    private String classPath() throws IOException {
        String cp = classPath;
        if (cp != null) {
            return cp;
        }
        synchronized (this) {
            if (classPath == null) {
                Map<String, byte[]> files = new LinkedHashMap<>();
                for (Class<?> c : CHILD_CLASSES) {
                    for (Class<?> member : c.getNestMembers()) {
                        String name = member.getName().replace('.', '/') + ".class";
                        try (InputStream in = JarInspector.class.getClassLoader().getResourceAsStream(name)) {
                            if (in == null) {
                                throw new IOException("class file " + name + " not found");
                            }
                            files.put(name, in.readAllBytes());
                        }
                    }
                }
                Path classes = dir.resolve("classes-" + digest(files));
                if (!Files.isDirectory(classes)) {
                    Path tmp = Files.createTempDirectory(dir, "classes-tmp-");
                    for (Map.Entry<String, byte[]> f : files.entrySet()) {
                        Path target = tmp.resolve(f.getKey());
                        Files.createDirectories(target.getParent());
                        Files.write(target, f.getValue());
                    }
                    try {
                        Files.move(tmp, classes, StandardCopyOption.ATOMIC_MOVE);
                    } catch (IOException e) {
                        deleteTree(tmp);   // another node process made it meanwhile
                        if (!Files.isDirectory(classes)) {
                            throw e;
                        }
                    }
                }
                List<String> entries = new ArrayList<>(List.of(classes.toString()));
                for (Class<?> lib : CHILD_LIBRARIES) {
                    entries.add(location(lib).toString());
                }
                classPath = String.join(File.pathSeparator, entries);
            }
            return classPath;
        }
    }

    private static Path location(Class<?> c) {
        try {
            return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException | RuntimeException e) {
            throw new IllegalStateException("cannot find where " + c.getName() + " was loaded from", e);
        }
    }

    private static String digest(Map<String, byte[]> files) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            files.forEach((k, v) -> {
                md.update(k.getBytes(StandardCharsets.UTF_8));
                md.update(v);
            });
            return HexFormat.of().formatHex(md.digest()).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String lastLines(String text) {
        String[] lines = text.split("\n");
        return String.join(" | ", List.of(lines).subList(Math.max(0, lines.length - 3), lines.length));
    }

    private static Invalid invalid(String message) {
        return new Invalid(List.of(new Problem("", 0, message)));
    }

    static void deleteTree(Path root) {
        try (Stream<Path> all = Files.walk(root)) {
            all.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    LOG.log(System.Logger.Level.WARNING, "cannot delete " + p + ": " + e);
                }
            });
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot delete " + root + ": " + e);
        }
    }

    /** Drains one of the child's streams on a virtual thread, keeping at most a bound (the head, or the tail). */
    private static final class Capture {
        private final ByteArrayOutputStream kept = new ByteArrayOutputStream();
        private final Thread reader;

        Capture(InputStream in, int max, boolean tail) {
            reader = Thread.ofVirtual().name("sluice-inspect-stream").start(() -> {
                byte[] buf = new byte[8192];
                try (in) {
                    int n;
                    while ((n = in.read(buf)) >= 0) {
                        synchronized (kept) {
                            if (tail && kept.size() + n > max) {
                                byte[] all = kept.toByteArray();
                                kept.reset();
                                int keep = Math.max(0, max - n);
                                kept.write(all, all.length - Math.min(keep, all.length), Math.min(keep, all.length));
                                kept.write(buf, Math.max(0, n - max), Math.min(n, max));
                            } else if (kept.size() < max) {
                                kept.write(buf, 0, Math.min(n, max - kept.size()));
                            }
                        }
                    }
                } catch (IOException e) {
                    // the child was killed
                }
            });
        }

        String text() {
            try {
                reader.join(Duration.ofSeconds(2));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            synchronized (kept) {
                return kept.toString(StandardCharsets.UTF_8);
            }
        }
    }
}
