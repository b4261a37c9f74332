package io.sluice.builtin.transform;

import io.sluice.builtin.Schemas;
import io.sluice.plugin.Filter;
import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.FilterDescriptor;
import io.sluice.plugin.FilterFactory;

/**
 * {@code transform}: request and response headers (remove, rename, set, add), the upstream path (a template over
 * the route's parameters), query parameters (remove, add), and JSON body fields (set, remove, mask). Bodies are
 * buffered only when a body rule is configured.
 */
public final class TransformFilterFactory implements FilterFactory {
    static final String NAME = "transform";
    private static final FilterDescriptor DESCRIPTOR = new FilterDescriptor(NAME, "1.1.0",
            Schemas.load(TransformFilterFactory.class, NAME),
            "Rewrites headers, path, query and JSON body fields of requests and responses.");

    @Override
    public FilterDescriptor descriptor() {
        return DESCRIPTOR;
    }

    @Override
    public Filter create(FilterConfig config) {
        var request = config.object("request");
        var response = config.object("response");
        return new TransformFilter(HeaderRules.from(request), RequestRewrite.from(request), BodyRules.from(request),
                HeaderRules.from(response), BodyRules.from(response));
    }
}
