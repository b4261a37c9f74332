package io.sluice.runtime;

import io.sluice.plugin.Exchange;
import io.sluice.plugin.Filter;
import io.sluice.plugin.Outcome;

/**
 * Stands in for a filter whose secret names an environment variable this node does not have: every request
 * through it is answered 500 {@code filter_error}, whatever the entry's {@code on_error} says, because skipping
 * an auth filter that lacks its key would let everyone in. The rest of the config is served as usual.
 */
public final class MissingSecretFilter implements Filter {
    private final String message;

    private MissingSecretFilter(String plugin) {
        // the variable's name is in the gateway log; clients learn only that the filter is not usable here
        this.message = "filter '" + plugin + "' is not configured on this gateway node";
    }

    /**
     * @param plugin plugin name
     * @return the filter
     */
    public static MissingSecretFilter create(String plugin) {
        return new MissingSecretFilter(plugin);
    }

    @Override
    public Outcome onRequest(Exchange exchange) {
        return Outcome.error(500, "filter_error", message);   // a new value each time: its headers are mutable
    }
}
