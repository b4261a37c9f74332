package io.sluice.builtin.rate_limit;

import io.sluice.builtin.Schemas;
import io.sluice.plugin.Filter;
import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.FilterDescriptor;
import io.sluice.plugin.FilterFactory;

/**
 * {@code rate-limit}: token buckets per consumer, IP, route or header value; in memory or shared in Redis.
 */
public final class RateLimitFilterFactory implements FilterFactory {
    static final String NAME = "rate-limit";
    private static final FilterDescriptor DESCRIPTOR = new FilterDescriptor(NAME, "1.0.0",
            Schemas.load(RateLimitFilterFactory.class, NAME),
            "Token-bucket rate limiting, local or shared through Redis; 429 with RateLimit headers.");

    @Override
    public FilterDescriptor descriptor() {
        return DESCRIPTOR;
    }

    @Override
    public Filter create(FilterConfig config) {
        return new RateLimitFilter(RateLimitConfig.from(config));
    }
}
