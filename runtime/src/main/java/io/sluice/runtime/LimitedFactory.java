package io.sluice.runtime;

import io.sluice.plugin.Filter;
import io.sluice.plugin.FilterConfig;

import java.util.Map;

/**
 * A factory of uploaded filters, which run under the budgets of their plugin entry ({@code limits}): a
 * JavaScript filter's statements, deadline and allocation, a Java filter's deadline.
 */
public interface LimitedFactory {

    /**
     * Binds a config under the entry's budgets.
     *
     * @param config the filter's config
     * @param limits the entry's {@code limits} (empty for the defaults)
     * @param where  the entry's place in the config, for errors and logs
     * @return the filter
     * @throws IllegalArgumentException if the config is valid by schema but unusable
     */
    Filter create(FilterConfig config, Map<String, Object> limits, String where);
}
