package io.sluice.runtime.plugins;

import io.sluice.plugin.FilterDescriptor;
import io.sluice.registry.admin.FilterArtifacts;
import io.sluice.registry.config.Problem;
import io.sluice.registry.store.FilterRecord;
import io.sluice.registry.store.Store;
import io.sluice.registry.store.StoreUnavailableException;
import io.sluice.runtime.FilterCatalog.Acquired;
import io.sluice.runtime.js.JsFilterFactory;
import io.sluice.runtime.js.JsSandbox;
import io.sluice.runtime.js.JsScript;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Uploaded filters, as the runtime loads them: each version's artifact (a JavaScript module or a PF4J jar) read
 * from the store once and kept in {@code <data-dir>/filters/} (so a data plane restarted while the store is down
 * still has it). Scripts are inspected once and cached by {@code name@version} (versions are immutable). Jars are
 * loaded when the first config snapshot uses them and unloaded, class loader closed, when the last snapshot
 * using them has drained. Also the registry's inspector for uploads: a jar upload is inspected in a child JVM
 * ({@link JarInspector}), never in this process; a script on its own sandbox thread under a deadline and an
 * allocation budget. Both under the inspection deadline, {@code -Dsluice.inspect.deadline-ms} (default 10 s).
 */
public final class UploadedFilters implements FilterArtifacts, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(UploadedFilters.class.getName());
    static final String JS = "js";
    static final String JAR = "jar";
    private static final Runnable NOTHING = () -> { };
    private final Supplier<JsSandbox> start;
    private volatile JsSandbox sandbox;
    private final Store store;
    private final Path dir;
    private final Duration inspectDeadline;
    private final JarInspector jarInspector;
    private final Map<String, JsFilterFactory> scripts = new ConcurrentHashMap<>();
    /** Descriptors of uploaded versions read so far (immutable per name@version), so validation loads nothing twice. */
    private final Map<String, FilterDescriptor> descriptors = new ConcurrentHashMap<>();
    /** Loaded jars by name@version, with the number of snapshots using each; guarded by itself. */
    private final Map<String, Held> jars = new HashMap<>();

    private static final class Held {
        final PluginJar jar;
        final JarFilterFactory factory;
        int users;

        Held(PluginJar jar) {
            this.jar = jar;
            this.factory = new JarFilterFactory(jar);
        }
    }

    private record Artifact(String kind, byte[] content) {
    }

    /**
     * @param sandbox starts the JavaScript sandbox, on first use (an engine costs time and memory)
     * @param store   where artifacts are kept
     * @param dataDir the node's data directory
     */
    public UploadedFilters(Supplier<JsSandbox> sandbox, Store store, Path dataDir) {
        this.start = sandbox;
        this.store = store;
        this.dir = dataDir.resolve("filters");
        this.inspectDeadline = Duration.ofMillis(Long.getLong("sluice.inspect.deadline-ms", 10_000));
        this.jarInspector = new JarInspector(dataDir.resolve("inspector"), inspectDeadline);
    }

    /** @return the sandbox, started on first use */
    public JsSandbox sandbox() {
        JsSandbox s = sandbox;
        if (s == null) {
            synchronized (this) {
                s = sandbox;
                if (s == null) {
                    s = start.get();
                    sandbox = s;
                }
            }
        }
        return s;
    }

    /**
     * Takes an uploaded filter into use by a config snapshot. A jar is loaded if no snapshot uses it yet.
     *
     * @param name    filter name
     * @param version a version, or empty for the newest
     * @return the factory and what to run when the snapshot has drained; empty when no such filter loads
     */
    public Optional<Acquired> acquire(String name, Optional<String> version) {
        Optional<String> v = version.isPresent() ? version : latest(name);
        if (v.isEmpty()) {
            return Optional.empty();
        }
        String key = name + "@" + v.get();
        JsFilterFactory script = scripts.get(key);
        if (script != null) {
            return Optional.of(new Acquired(script, NOTHING));
        }
        synchronized (jars) {
            Held held = jars.get(key);
            if (held != null) {
                held.users++;
                return Optional.of(new Acquired(held.factory, () -> release(key)));
            }
        }
        Optional<Artifact> artifact = artifact(name, v.get());
        if (artifact.isEmpty()) {
            return Optional.empty();
        }
        try {
            if (artifact.get().kind().equals(JS)) {
                JsScript s = JsScript.inspect(sandbox(), new String(artifact.get().content(), StandardCharsets.UTF_8),
                        inspectDeadline);
                if (!s.name().equals(name) || !s.version().equals(v.get())) {
                    return Optional.empty();
                }
                return Optional.of(new Acquired(scripts.computeIfAbsent(key, k -> new JsFilterFactory(sandbox(), s)),
                        NOTHING));
            }
            synchronized (jars) {
                Held held = jars.get(key);
                if (held == null) {
                    PluginJar jar = PluginJar.load(dir.resolve(key + ".jar"));
                    if (!jar.descriptor().name().equals(name) || !jar.descriptor().version().equals(v.get())) {
                        jar.close();
                        return Optional.empty();
                    }
                    held = new Held(jar);
                    jars.put(key, held);
                    LOG.log(System.Logger.Level.INFO, "loaded plugin jar " + key);
                }
                held.users++;
                return Optional.of(new Acquired(held.factory, () -> release(key)));
            }
        } catch (Invalid | InspectionFailed | PluginJar.Refused e) {
            LOG.log(System.Logger.Level.ERROR, "stored filter " + key + " does not load: " + e.getMessage());
            return Optional.empty();
        }
    }

    private void release(String key) {
        synchronized (jars) {
            Held held = jars.get(key);
            if (held != null && --held.users == 0) {
                jars.remove(key);
                held.jar.close();
                LOG.log(System.Logger.Level.INFO, "unloaded plugin jar " + key + " (no snapshot uses it)");
            }
        }
    }

    /**
     * Describes an uploaded filter (for validating configs that name it).
     *
     * @param name    filter name
     * @param version a version, or empty for the newest
     * @return the descriptor
     */
    public Optional<FilterDescriptor> describe(String name, Optional<String> version) {
        Optional<String> v = version.isPresent() ? version : latest(name);
        if (v.isEmpty()) {
            return Optional.empty();
        }
        FilterDescriptor known = descriptors.get(name + "@" + v.get());
        if (known != null) {
            return Optional.of(known);
        }
        Optional<Acquired> a = acquire(name, v);
        a.ifPresent(x -> {
            descriptors.put(name + "@" + v.get(), x.factory().descriptor());
            x.release().run();
        });
        return a.map(x -> x.factory().descriptor());
    }

    /** @return the names ({@code name@version}) of the jars loaded now */
    public List<String> loadedJars() {
        synchronized (jars) {
            return List.copyOf(jars.keySet());
        }
    }

    /**
     * The newest version of an uploaded filter, by semantic version order.
     *
     * @param name filter name
     * @return the version, or empty
     */
    public Optional<String> latest(String name) {
        try {
            return store.filters().stream().filter(r -> r.name().equals(name)).map(FilterRecord::version)
                    .max(SEMVER);
        } catch (StoreUnavailableException e) {
            try (var files = Files.list(dir)) {
                return files.map(p -> p.getFileName().toString())
                        .filter(f -> f.startsWith(name + "@") && (f.endsWith(".js") || f.endsWith(".jar")))
                        .map(f -> f.substring(name.length() + 1, f.lastIndexOf('.'))).max(SEMVER);
            } catch (IOException io) {
                return Optional.empty();
            }
        }
    }

    /** The artifact, from the store (kept on disk as it is read) or, while the store is down, from disk. */
    private Optional<Artifact> artifact(String name, String version) {
        String key = name + "@" + version;
        try {
            Optional<FilterRecord> r = store.filter(name, version);
            Optional<byte[]> c = store.filterContent(name, version);
            if (r.isEmpty() || c.isEmpty()) {
                return Optional.empty();
            }
            String kind = r.get().kind();
            keep(dir.resolve(key + "." + kind), c.get());
            return Optional.of(new Artifact(kind, c.get()));
        } catch (StoreUnavailableException e) {
            for (String kind : List.of(JS, JAR)) {
                try {
                    return Optional.of(new Artifact(kind, Files.readAllBytes(dir.resolve(key + "." + kind))));
                } catch (IOException io) {
                    // try the other kind
                }
            }
            return Optional.empty();
        }
    }

    private void keep(Path file, byte[] bytes) {
        try {
            if (Files.exists(file) && Files.size(file) == bytes.length) {
                return;   // versions are immutable; a loaded jar's file stays as it is
            }
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, ".upload", ".tmp");
            Files.write(tmp, bytes);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot keep a local copy of " + file + ": " + e);
        }
    }

    @Override
    public Inspected inspect(String contentType, byte[] content) throws Invalid, InspectionFailed {
        return switch (contentType) {
            case "application/javascript", "text/javascript" -> inspectScript(content);
            case "application/java-archive", "application/x-java-archive" -> inspectJar(content);
            default -> throw new Invalid(List.of(new Problem("", 0, "upload a JavaScript module as"
                    + " application/javascript or a PF4J plugin jar as application/java-archive")));
        };
    }

    private Inspected inspectScript(byte[] content) throws Invalid, InspectionFailed {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(content)).toString();
        } catch (CharacterCodingException e) {
            throw new Invalid(List.of(new Problem("", 0, "the script is not UTF-8")));
        }
        JsScript s = JsScript.inspect(sandbox(), text, inspectDeadline);
        return new Inspected(JS, s.name(), s.version(), s.schema(), s.description());
    }

    private Inspected inspectJar(byte[] content) throws Invalid, InspectionFailed {
        FilterDescriptor d = jarInspector.inspect(content);
        return new Inspected(JAR, d.name(), d.version(), d.schema(), d.description());
    }

    @Override
    public boolean quarantined(String name, String version) {
        JsSandbox s = sandbox;
        return s != null && s.quarantine().isQuarantined(name + "@" + version);
    }

    @Override
    public boolean release(String name, String version) {
        JsSandbox s = sandbox;
        return s != null && s.quarantine().release(name + "@" + version);
    }

    @Override
    public void close() {
        synchronized (jars) {
            jars.values().forEach(h -> h.jar.close());
            jars.clear();
        }
        JsSandbox s = sandbox;
        if (s != null) {
            s.close();
        }
    }

    /** Semantic version order (pre-releases before their release; otherwise by text). */
    static final Comparator<String> SEMVER = (a, b) -> {
        String[] x = a.split("-", 2);
        String[] y = b.split("-", 2);
        String[] xs = x[0].split("\\.");
        String[] ys = y[0].split("\\.");
        for (int i = 0; i < 3; i++) {
            int c = Long.compare(Long.parseLong(xs[i]), Long.parseLong(ys[i]));
            if (c != 0) {
                return c;
            }
        }
        if (x.length != y.length) {
            return x.length == 1 ? 1 : -1;
        }
        return x.length == 1 ? 0 : x[1].compareTo(y[1]);
    };
}
