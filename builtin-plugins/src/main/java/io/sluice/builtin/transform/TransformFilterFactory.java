package io.sluice.builtin.transform;

import io.sluice.builtin.Schemas;
import io.sluice.plugin.Filter;
import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.FilterDescriptor;
import io.sluice.plugin.FilterFactory;

/**
 * {@code transform}: changes request and response headers. Rules apply in the order remove, rename, set, add.
 */
public final class TransformFilterFactory implements FilterFactory {
    static final String NAME = "transform";
    private static final FilterDescriptor DESCRIPTOR = new FilterDescriptor(NAME, "1.0.0",
            Schemas.load(TransformFilterFactory.class, NAME),
            "Adds, sets, renames and removes request and response headers.");

    @Override
    public FilterDescriptor descriptor() {
        return DESCRIPTOR;
    }

    @Override
    public Filter create(FilterConfig config) {
        return new TransformFilter(HeaderRules.from(config.object("request")),
                HeaderRules.from(config.object("response")));
    }
}
