package io.sluice.builtin.request_size_limit;

import io.sluice.builtin.Schemas;
import io.sluice.plugin.Filter;
import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.FilterDescriptor;
import io.sluice.plugin.FilterFactory;

/**
 * {@code request-size-limit}: answers 413 when the request body is larger than {@code max_bytes}.
 */
public final class RequestSizeLimitFilterFactory implements FilterFactory {
    static final String NAME = "request-size-limit";
    private static final FilterDescriptor DESCRIPTOR = new FilterDescriptor(NAME, "1.0.0",
            Schemas.load(RequestSizeLimitFilterFactory.class, NAME),
            "Rejects request bodies larger than max_bytes with 413.");

    @Override
    public FilterDescriptor descriptor() {
        return DESCRIPTOR;
    }

    @Override
    public Filter create(FilterConfig config) {
        return new RequestSizeLimitFilter(config.integer("max_bytes").orElseThrow());
    }
}
