package io.sluice.runtime.plugins;

import io.sluice.plugin.Filter;
import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.FilterDescriptor;
import io.sluice.plugin.FilterFactory;
import io.sluice.runtime.LimitedFactory;

import java.util.Map;

/**
 * The factory of a filter from an uploaded jar: binds config with the jar's class loader as context class loader
 * and wraps each filter in a {@link DeadlineFilter}.
 */
public final class JarFilterFactory implements FilterFactory, LimitedFactory {
    /** Deadline of a Java filter's invocation when its entry sets none: Java filters may do I/O. */
    public static final long DEFAULT_DEADLINE_MS = 500;
    private final PluginJar jar;

    JarFilterFactory(PluginJar jar) {
        this.jar = jar;
    }

    @Override
    public FilterDescriptor descriptor() {
        return jar.descriptor();
    }

    @Override
    public Filter create(FilterConfig config) {
        return create(config, Map.of(), "");
    }

    @Override
    public Filter create(FilterConfig config, Map<String, Object> limits, String where) {
        long deadline = limits.get("deadline_ms") instanceof Number n ? n.longValue() : DEFAULT_DEADLINE_MS;
        Filter f = PluginJar.<Filter, RuntimeException>inPlugin(jar.loader(), () -> jar.factory().create(config));
        if (f == null) {
            throw new IllegalArgumentException("the plugin's FilterFactory.create returned null");
        }
        return new DeadlineFilter(f, descriptor().name(), deadline, jar.loader());
    }
}
