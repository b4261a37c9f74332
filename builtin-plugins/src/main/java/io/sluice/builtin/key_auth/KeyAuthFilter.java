package io.sluice.builtin.key_auth;

import io.sluice.plugin.Consumer;
import io.sluice.plugin.Exchange;
import io.sluice.plugin.Filter;
import io.sluice.plugin.Outcome;
import io.sluice.plugin.Query;
import io.sluice.plugin.Request;

import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Looks the presented key up among the consumers of the request's config snapshot (by its SHA-256 hash), sets the
 * consumer and the consumer header, and removes the credential from what goes upstream.
 */
final class KeyAuthFilter implements Filter {
    private final String header;
    private final Optional<String> queryParam;
    private final boolean hideCredentials;
    private final String consumerHeader;
    private final Set<String> allowTags;
    private final String challenge;

    KeyAuthFilter(String header, Optional<String> queryParam, boolean hideCredentials, String consumerHeader,
                  Set<String> allowTags) {
        this.header = header;
        this.queryParam = queryParam;
        this.hideCredentials = hideCredentials;
        this.consumerHeader = consumerHeader;
        this.allowTags = allowTags;
        this.challenge = "ApiKey realm=\"sluice\", header=\"" + header + "\""
                + queryParam.map(q -> ", query=\"" + q + "\"").orElse("");
    }

    @Override
    public Outcome onRequest(Exchange exchange) {
        Request req = exchange.request();
        List<String> fromHeader = req.headers().all(header);
        String key = fromHeader.isEmpty() ? null : fromHeader.getFirst();
        if (fromHeader.size() > 1) {
            return unauthorized("more than one " + header + " header");
        }
        if (queryParam.isPresent()) {
            Optional<String> fromQuery = Query.first(req.query(), queryParam.get());
            if (fromQuery.isPresent()) {
                // the key never travels further in the URL (upstream access logs)
                req.query(Query.remove(req.query(), List.of(queryParam.get())));
                if (key == null) {
                    key = fromQuery.get();
                }
            }
        }
        if (hideCredentials) {
            req.headers().remove(header);
        }
        if (key == null || key.isEmpty()) {
            return unauthorized("an API key is required in the " + header + " header"
                    + queryParam.map(q -> " or the " + q + " query parameter").orElse(""));
        }
        Optional<Consumer> consumer = exchange.consumers().byApiKey(key);
        if (consumer.isEmpty()) {
            return unauthorized("invalid API key");
        }
        Consumer c = consumer.get();
        if (!allowTags.isEmpty() && !hasAllowedTag(c)) {
            return Outcome.error(403, "forbidden", "consumer '" + c.id() + "' may not use this route");
        }
        exchange.consumer(c);
        req.headers().set(consumerHeader, c.id());
        return Outcome.proceed();
    }

    private boolean hasAllowedTag(Consumer c) {
        String tags = c.attributes().getOrDefault("tags", "");
        for (String t : tags.split(",")) {
            if (allowTags.contains(t)) {
                return true;
            }
        }
        return false;
    }

    private Outcome unauthorized(String message) {
        Outcome.Respond r = Outcome.error(401, "unauthorized", message);
        r.headers().set("WWW-Authenticate", challenge);
        return r;
    }
}
