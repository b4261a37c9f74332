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
    /** Semantic versioning 2.0 without build metadata: no leading zeros. */
    private static final Pattern SEMVER = Pattern.compile(
            "(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)(-[0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*)?");

    /**
     * @param name a candidate filter name
     * @return whether it is kebab-case (a-z, 0-9, '-')
     */
    public static boolean isName(String name) {
        return name != null && NAME.matcher(name).matches();
    }

    /**
     * @param version a candidate version
     * @return whether it is a semantic version (1.2.3, 1.2.3-rc.1)
     */
    public static boolean isVersion(String version) {
        return version != null && SEMVER.matcher(version).matches();
    }

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
        if (!isName(name)) {
            throw new IllegalArgumentException("filter name must be kebab-case: " + name);
        }
        if (!isVersion(version)) {
            throw new IllegalArgumentException("filter version must be semver (1.2.3): " + version);
        }
    }
}
