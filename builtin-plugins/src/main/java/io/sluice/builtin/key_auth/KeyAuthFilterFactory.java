package io.sluice.builtin.key_auth;

import io.sluice.builtin.Schemas;
import io.sluice.plugin.Filter;
import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.FilterDescriptor;
import io.sluice.plugin.FilterFactory;

import java.util.Set;
import java.util.stream.Collectors;

/**
 * {@code key-auth}: authenticates a request by one of the registry consumers' API keys.
 */
public final class KeyAuthFilterFactory implements FilterFactory {
    static final String NAME = "key-auth";
    private static final FilterDescriptor DESCRIPTOR = new FilterDescriptor(NAME, "1.0.0",
            Schemas.load(KeyAuthFilterFactory.class, NAME),
            "Authenticates requests by a registry consumer's API key (header or query parameter); sets the consumer.");

    @Override
    public FilterDescriptor descriptor() {
        return DESCRIPTOR;
    }

    @Override
    public Filter create(FilterConfig config) {
        Set<String> tags = config.list("allow_tags").stream().map(String.class::cast).collect(Collectors.toSet());
        return new KeyAuthFilter(config.string("header").orElse("X-API-Key"),
                config.string("query_param"),
                config.bool("hide_credentials").orElse(true),
                config.string("consumer_header").orElse("X-Consumer-Id"),
                Set.copyOf(tags));
    }
}
