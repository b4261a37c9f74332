package io.sluice.runtime.js;

import io.sluice.plugin.FilterFactory;
import io.sluice.registry.admin.FilterArtifacts;
import io.sluice.registry.config.Problem;
import io.sluice.registry.store.FilterRecord;
import io.sluice.registry.store.Store;
import io.sluice.registry.store.StoreUnavailableException;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Uploaded filters, as the runtime loads them: each version's artifact read from the store once (and kept in
 * {@code <data-dir>/filters/} so that a data plane restarted while the store is down still has it), inspected,
 * and cached by {@code name@version} (versions are immutable). Also the registry's inspector for uploads.
 */
public final class UploadedFilters implements FilterArtifacts, AutoCloseable {
    private static final System.Logger LOG = System.getLogger(UploadedFilters.class.getName());
    private final java.util.function.Supplier<JsSandbox> start;
    private volatile JsSandbox sandbox;
    private final Store store;
    private final Path dir;
    private final Map<String, FilterFactory> loaded = new ConcurrentHashMap<>();

    /**
     * @param sandbox starts the JavaScript sandbox, on first use (an engine costs time and memory)
     * @param store   where artifacts are kept
     * @param dataDir the node's data directory
     */
    public UploadedFilters(java.util.function.Supplier<JsSandbox> sandbox, Store store, Path dataDir) {
        this.start = sandbox;
        this.store = store;
        this.dir = dataDir.resolve("filters");
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
     * The factory of an uploaded filter.
     *
     * @param name    filter name
     * @param version a version, or empty for the newest
     * @return the factory, or empty when no such filter was uploaded
     */
    public Optional<FilterFactory> factory(String name, Optional<String> version) {
        Optional<String> v = version.isPresent() ? version : latest(name);
        if (v.isEmpty()) {
            return Optional.empty();
        }
        String key = name + "@" + v.get();
        FilterFactory f = loaded.get(key);
        if (f != null) {
            return Optional.of(f);
        }
        Optional<byte[]> content = content(name, v.get());
        if (content.isEmpty()) {
            return Optional.empty();
        }
        try {
            JsScript script = JsScript.inspect(sandbox(), new String(content.get(), StandardCharsets.UTF_8));
            if (!script.name().equals(name) || !script.version().equals(v.get())) {
                return Optional.empty();
            }
            f = loaded.computeIfAbsent(key, k -> new JsFilterFactory(sandbox(), script));
            return Optional.of(f);
        } catch (Invalid e) {
            LOG.log(System.Logger.Level.ERROR, "stored filter " + key + " does not load: " + e.getMessage());
            return Optional.empty();
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
                        .filter(f -> f.startsWith(name + "@") && f.endsWith(".js"))
                        .map(f -> f.substring(name.length() + 1, f.length() - 3)).max(SEMVER);
            } catch (IOException io) {
                return Optional.empty();
            }
        }
    }

    private Optional<byte[]> content(String name, String version) {
        Path cached = dir.resolve(name + "@" + version + ".js");
        try {
            Optional<byte[]> c = store.filterContent(name, version);
            c.ifPresent(bytes -> keep(cached, bytes));
            return c;
        } catch (StoreUnavailableException e) {
            try {
                return Optional.of(Files.readAllBytes(cached));
            } catch (IOException io) {
                return Optional.empty();
            }
        }
    }

    private void keep(Path file, byte[] bytes) {
        try {
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, ".upload", ".tmp");
            Files.write(tmp, bytes);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "cannot keep a local copy of " + file + ": " + e);
        }
    }

    @Override
    public Inspected inspect(String contentType, byte[] content) throws Invalid {
        if (!contentType.equals("application/javascript") && !contentType.equals("text/javascript")) {
            throw new Invalid(List.of(new Problem("", 0, "upload a JavaScript module as application/javascript"
                    + " (Java plugin jars are not accepted yet)")));
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(content)).toString();
        } catch (CharacterCodingException e) {
            throw new Invalid(List.of(new Problem("", 0, "the script is not UTF-8")));
        }
        JsScript s = JsScript.inspect(sandbox(), text);
        return new Inspected("js", s.name(), s.version(), s.schema(), s.description());
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
