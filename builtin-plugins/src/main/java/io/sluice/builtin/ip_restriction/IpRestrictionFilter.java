package io.sluice.builtin.ip_restriction;

import io.sluice.plugin.IpLiteral;
import io.sluice.plugin.IpRanges;
import io.sluice.plugin.Exchange;
import io.sluice.plugin.Filter;
import io.sluice.plugin.Outcome;

/**
 * Lets a request through by its client address: a {@code deny} block always refuses, and a non-empty {@code allow}
 * list admits only the addresses it holds. The address is the one the gateway computed for the connection, never a
 * header.
 */
final class IpRestrictionFilter implements Filter {
    static final String CODE = "ip_forbidden";

    private final IpRanges allow;
    private final IpRanges deny;
    private final int status;
    private final String message;

    IpRestrictionFilter(IpRanges allow, IpRanges deny, int status, String message) {
        this.allow = allow;
        this.deny = deny;
        this.status = status;
        this.message = message;
    }

    @Override
    public Outcome onRequest(Exchange exchange) {
        IpLiteral ip = IpLiteral.parse(exchange.clientAddress(), true);
        if (ip == null) {
            return refuse();   // not an IP (a Unix socket, say): no rule can vouch for it
        }
        ip = ip.unmapped();
        if (deny.contains(ip) || !allow.isEmpty() && !allow.contains(ip)) {
            return refuse();
        }
        return Outcome.proceed();
    }

    private Outcome refuse() {
        return Outcome.error(status, CODE, message);
    }
}
