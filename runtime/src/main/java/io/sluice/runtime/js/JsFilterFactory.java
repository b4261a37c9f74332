package io.sluice.runtime.js;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.plugin.Filter;
import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.FilterDescriptor;
import io.sluice.plugin.FilterFactory;
import io.sluice.runtime.LimitedFactory;

import java.util.Map;

/**
 * The factory of an uploaded JavaScript filter version. Binding it to a plugin entry costs nothing: contexts are
 * made when the snapshot holding the filter is about to serve ({@link JsFilter#prepare}), so that a config check
 * that binds filters only to validate them makes none.
 */
public final class JsFilterFactory implements FilterFactory, LimitedFactory {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final JsSandbox sandbox;
    private final JsScript script;

    /**
     * @param sandbox where it runs
     * @param script  the inspected script
     */
    public JsFilterFactory(JsSandbox sandbox, JsScript script) {
        this.sandbox = sandbox;
        this.script = script;
    }

    @Override
    public FilterDescriptor descriptor() {
        return script.descriptor();
    }

    @Override
    public Filter create(FilterConfig config) {
        return create(config, Map.of(), "");
    }

    /**
     * Binds the filter to a plugin entry.
     *
     * @param config the entry's config (already valid against the script's schema)
     * @param limits the entry's {@code limits}
     * @param where  route id and entry position: bindings at different places never share a context
     * @return the filter
     */
    @Override
    public Filter create(FilterConfig config, Map<String, Object> limits, String where) {
        try {
            return new JsFilter(sandbox, script, JSON.writeValueAsString(config.values()), JsLimits.of(limits), where);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("config is not JSON-shaped: " + e.getOriginalMessage(), e);
        }
    }
}
