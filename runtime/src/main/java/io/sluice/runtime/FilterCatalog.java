package io.sluice.runtime;

import io.sluice.plugin.FilterDescriptor;
import io.sluice.plugin.Filter;
import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.FilterFactory;
import io.sluice.plugin.Outcome;
import io.sluice.registry.config.PluginCatalog;
import io.sluice.runtime.plugins.UploadedFilters;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.registry.config.ConfigParser;
import io.sluice.registry.config.SecretFields;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * The filter factories the runtime can instantiate: built-ins (found with {@link ServiceLoader}) and, on nodes
 * with a store, filters uploaded to the registry. One way to find a filter, whatever its kind. It also holds
 * the node's environment, from which secrets written as {@code {"$env": "NAME"}} are read when a filter is built.
 */
public final class FilterCatalog implements PluginCatalog {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    /** The process environment. */
    public static final Function<String, Optional<String>> SYSTEM_ENV = name -> Optional.ofNullable(System.getenv(name));

    private final Map<String, FilterFactory> factories;
    private final Optional<UploadedFilters> uploaded;
    private final Function<String, Optional<String>> env;
    /** filters known by their descriptors only (validate --plugins DIR), newest version first */
    private final Map<String, List<FilterDescriptor>> described;

    private FilterCatalog(Map<String, FilterFactory> factories, Optional<UploadedFilters> uploaded,
                          Function<String, Optional<String>> env, Map<String, List<FilterDescriptor>> described) {
        this.factories = Map.copyOf(factories);
        this.uploaded = uploaded;
        this.env = env;
        this.described = Map.copyOf(described);
    }

    /**
     * This catalog reading {@code $env} secrets from another environment (tests; the default is the process's).
     *
     * @param environment variable name to value
     * @return the catalog
     */
    public FilterCatalog withEnvironment(Function<String, Optional<String>> environment) {
        return new FilterCatalog(factories, uploaded, environment, described);
    }

    /**
     * A plugin entry's config with its {@code $env} secrets read from this node's environment.
     *
     * @param name    plugin name
     * @param version pinned version or empty
     * @param config  the validated config
     * @return the config the filter is built with
     * @throws SecretFields.MissingVariables when a variable it names is not set here
     */
    public Map<String, Object> resolveSecrets(String name, Optional<String> version, Map<String, Object> config)
            throws SecretFields.MissingVariables {
        Optional<FilterDescriptor> d = describe(name, version);
        if (d.isEmpty()) {
            return config;
        }
        SecretFields secrets = SecretFields.of(d.get().schema());
        if (!secrets.any()) {
            return config;
        }
        com.fasterxml.jackson.databind.JsonNode tree = MAPPER.valueToTree(config);
        com.fasterxml.jackson.databind.JsonNode resolved = secrets.resolve(tree, env);
        return resolved == tree ? config : ConfigParser.toJava(resolved);
    }

    /**
     * This catalog plus the filters uploaded to the registry.
     *
     * @param uploads uploaded filters
     * @return the catalog
     */
    public FilterCatalog withUploads(UploadedFilters uploads) {
        return new FilterCatalog(factories, Optional.of(uploads), env, described);
    }

    /**
     * This catalog plus filters known only by their descriptors, as read from a folder of artifacts offline
     * ({@code sluice validate --plugins DIR}): configs are checked against their schemas; building one gives a
     * filter that only proceeds (their code is not loaded).
     *
     * @param descriptors by filter name, newest version first
     * @return the catalog
     */
    public FilterCatalog withDescribed(Map<String, List<FilterDescriptor>> descriptors) {
        return new FilterCatalog(factories, uploaded, env, descriptors);
    }

    @Override
    public Optional<String> latestUploaded(String name) {
        if (factories.containsKey(name)) {
            return Optional.empty();
        }
        List<FilterDescriptor> d = described.get(name);
        return d != null ? Optional.of(d.getFirst().version()) : uploaded.flatMap(u -> u.latest(name));
    }

    private Optional<FilterDescriptor> offline(String name, Optional<String> version) {
        List<FilterDescriptor> d = described.getOrDefault(name, List.of());
        return d.stream().filter(x -> version.isEmpty() || x.version().equals(version.get())).findFirst();
    }


    /**
     * The built-in filters on the class path.
     *
     * @return the catalog
     */
    public static FilterCatalog builtins() {
        Map<String, FilterFactory> found = new TreeMap<>();
        for (FilterFactory f : ServiceLoader.load(FilterFactory.class, FilterCatalog.class.getClassLoader())) {
            FilterFactory prev = found.putIfAbsent(f.descriptor().name(), f);
            if (prev != null) {
                throw new IllegalStateException("two built-in filters named " + f.descriptor().name());
            }
        }
        return new FilterCatalog(found, Optional.empty(), SYSTEM_ENV, Map.of());
    }

    /**
     * A filter factory taken into use by a config snapshot.
     *
     * @param factory the factory
     * @param release run once the snapshot no longer serves requests (unloads a jar nothing else uses)
     */
    public record Acquired(FilterFactory factory, Runnable release) {
    }

    @Override
    public Optional<FilterDescriptor> describe(String name, Optional<String> version) {
        FilterFactory f = factories.get(name);
        if (f == null && described.containsKey(name)) {
            return offline(name, version);
        }
        if (f == null) {
            return uploaded.flatMap(u -> u.describe(name, version));
        }
        return version.isPresent() && !version.get().equals(f.descriptor().version()) ? Optional.empty()
                : Optional.of(f.descriptor());
    }

    /**
     * The factory for a plugin entry, taken into use: the caller runs {@link Acquired#release()} when it no
     * longer needs it.
     *
     * @param name    plugin name
     * @param version pinned version or empty
     * @return the factory, or empty if unknown
     */
    public Optional<Acquired> acquire(String name, Optional<String> version) {
        FilterFactory f = factories.get(name);
        if (f == null && described.containsKey(name)) {
            return offline(name, version).map(d -> new Acquired(new FilterFactory() {
                @Override
                public FilterDescriptor descriptor() {
                    return d;
                }

                @Override
                public Filter create(FilterConfig config) {
                    return exchange -> Outcome.proceed();
                }
            }, () -> { }));
        }
        if (f == null) {
            return uploaded.flatMap(u -> u.acquire(name, version));
        }
        if (version.isPresent() && !version.get().equals(f.descriptor().version())) {
            return Optional.empty();
        }
        return Optional.of(new Acquired(f, () -> { }));
    }

    /**
     * All descriptors, by name.
     *
     * @return the descriptors
     */
    public Map<String, FilterDescriptor> descriptors() {
        Map<String, FilterDescriptor> out = new TreeMap<>();
        factories.forEach((k, v) -> out.put(k, v.descriptor()));
        return out;
    }
}
