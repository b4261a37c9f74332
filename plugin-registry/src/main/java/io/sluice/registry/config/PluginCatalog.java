package io.sluice.registry.config;

import io.sluice.plugin.FilterDescriptor;

import java.util.Optional;

/**
 * The plugins a config may name: built-ins and uploaded filters.
 */
@FunctionalInterface
public interface PluginCatalog {

    /**
     * Looks a plugin up.
     *
     * @param name    plugin name
     * @param version a pinned version, or empty for the current one
     * @return its descriptor, or empty if unknown
     */
    Optional<FilterDescriptor> describe(String name, Optional<String> version);

    /**
     * The newest uploaded version of a filter that is not built in, for pinning plugin entries without a version.
     *
     * @param name filter name
     * @return the version, or empty (built in, or unknown)
     */
    default Optional<String> latestUploaded(String name) {
        return Optional.empty();
    }
}
