package io.sluice.builtin.ip_restriction;

import io.sluice.plugin.IpLiteral;
import io.sluice.plugin.IpRanges;
import io.sluice.builtin.Schemas;
import io.sluice.plugin.Filter;
import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.FilterDescriptor;
import io.sluice.plugin.FilterFactory;

/**
 * {@code ip-restriction}: allows or denies requests by the client's IP address, against IPv4 and IPv6 CIDR blocks.
 */
public final class IpRestrictionFilterFactory implements FilterFactory {
    static final String NAME = "ip-restriction";
    static final String DEFAULT_MESSAGE = "your IP address is not allowed";
    private static final FilterDescriptor DESCRIPTOR = new FilterDescriptor(NAME, "1.0.0",
            Schemas.load(IpRestrictionFilterFactory.class, NAME),
            "Refuses requests whose client IP is in deny, or not in allow when allow is set (403 ip_forbidden).");

    @Override
    public FilterDescriptor descriptor() {
        return DESCRIPTOR;
    }

    @Override
    public Filter create(FilterConfig config) {
        IpRanges allow = IpRanges.parse("allow", config.list("allow"));
        IpRanges deny = IpRanges.parse("deny", config.list("deny"));
        if (allow.isEmpty() && deny.isEmpty()) {
            throw new IllegalArgumentException("set at least one address or block in 'allow' or 'deny'");
        }
        return new IpRestrictionFilter(allow, deny, config.integer("status").orElse(403L).intValue(),
                config.string("message").orElse(DEFAULT_MESSAGE));
    }
}
