package io.sluice.plugin;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * What a filter says about itself, once: the single source for the registry, the admin API and the docs site.
 *
 * @param name        kebab-case id, unique in the registry (for example {@code rate-limit})
 * @param version     semantic version, for example {@code 1.0.0}
 * @param schema      JSON Schema (draft 2020-12) of the config, as JSON text
 * @param description one line for humans
 */
public record FilterDescriptor(String name, String version, String schema, String description) {

    private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9]*(-[a-z0-9]+)*");
    private static final Pattern SEMVER = Pattern.compile("\\d+\\.\\d+\\.\\d+(-[0-9A-Za-z.-]+)?");

    /** Schema of a filter that takes no config. */
    public static final String EMPTY_SCHEMA = "{\"type\":\"object\",\"additionalProperties\":false}";

    /**
     * Checks the name and version formats.
     *
     * @throws IllegalArgumentException if the name is not kebab-case or the version not semver
     */
    public FilterDescriptor {
        Objects.requireNonNull(schema, "schema");
        Objects.requireNonNull(description, "description");
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("filter name must be kebab-case: " + name);
        }
        if (version == null || !SEMVER.matcher(version).matches()) {
            throw new IllegalArgumentException("filter version must be semver (1.2.3): " + version);
        }
    }
}
