package io.sluice.plugin;

import org.pf4j.ExtensionPoint;

/**
 * Creates filters of one kind. Built-ins are found with {@link java.util.ServiceLoader}; third-party factories
 * are PF4J extensions in a plugin jar. A factory is created once and asked for {@link #create} once per route
 * and config, when a config snapshot is built, never per request.
 */
public interface FilterFactory extends ExtensionPoint {

    /**
     * Describes the filter: name, version, config schema. Read by the registry, the admin API and the docs.
     *
     * @return the descriptor; the same value on every call
     */
    FilterDescriptor descriptor();

    /**
     * Binds a config that has already been validated against {@link FilterDescriptor#schema()}.
     *
     * @param config the filter's config from the route's plugin entry
     * @return an immutable, thread-safe filter
     * @throws IllegalArgumentException if the config is valid by schema but unusable (say why in the message)
     */
    Filter create(FilterConfig config);
}
