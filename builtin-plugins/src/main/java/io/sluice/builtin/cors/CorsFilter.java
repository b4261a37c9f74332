package io.sluice.builtin.cors;

import io.sluice.plugin.Exchange;
import io.sluice.plugin.Filter;
import io.sluice.plugin.Headers;
import io.sluice.plugin.Outcome;
import io.sluice.plugin.Request;

import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Answers CORS preflights at the gateway (204 with the {@code Access-Control-Allow-*} headers, or 403 when the
 * origin, method or a header is not allowed) and adds the CORS headers to the responses of allowed origins. Requests
 * without {@code Origin} pass untouched; the filter owns the route's CORS response headers, so an upstream's own are
 * replaced.
 */
final class CorsFilter implements Filter {
    /** {@code vars["cors_origin"]}: the request's allowed Origin, or {@code false} when it is not allowed. */
    static final String VAR = "cors_origin";
    static final String CODE = "cors_forbidden";
    private static final byte[] EMPTY = new byte[0];
    private static final Set<String> SAFELISTED_METHODS = Set.of("GET", "HEAD", "POST");

    /**
     * The bound config.
     *
     * @param origins        allowed origins
     * @param methods        allowed methods (upper case), or {@code null} for any (the requested one is echoed)
     * @param headers        allowed request headers (lower case), or {@code null} for any (the requested are echoed)
     * @param exposeHeaders  {@code Access-Control-Expose-Headers} value, or {@code null}
     * @param credentials    whether to send {@code Access-Control-Allow-Credentials: true}
     * @param maxAge         {@code Access-Control-Max-Age} value, or {@code null}
     */
    record Config(Origins origins, Set<String> methods, Set<String> headers, String exposeHeaders, boolean credentials,
                  String maxAge) {
    }

    private final Config config;
    private final String allowMethods;   // precomputed when the methods are listed
    private final String allowHeaders;
    private final boolean literalStar;   // Access-Control-Allow-Origin: * (any origin, no credentials)

    CorsFilter(Config config, List<String> methodsInOrder, List<String> headersInOrder) {
        this.config = config;
        this.allowMethods = config.methods() == null ? null : String.join(", ", methodsInOrder);
        this.allowHeaders = config.headers() == null ? null : String.join(", ", headersInOrder);
        this.literalStar = config.origins().any() && !config.credentials();
    }

    @Override
    public Outcome onRequest(Exchange exchange) {
        Request req = exchange.request();
        String origin = req.headers().firstOrNull("Origin");
        if (origin == null) {
            return Outcome.proceed();
        }
        boolean allowed = config.origins().allows(origin);
        String requestedMethod = req.method().equals("OPTIONS")
                ? req.headers().firstOrNull("Access-Control-Request-Method") : null;
        if (requestedMethod != null) {
            return preflight(req, origin, allowed, requestedMethod);
        }
        exchange.vars().put(VAR, allowed ? origin : Boolean.FALSE);
        return Outcome.proceed();
    }

    @Override
    public Outcome onResponse(Exchange exchange) {
        Object decision = exchange.vars().get(VAR);
        if (decision == null) {
            return Outcome.proceed();
        }
        exchange.response().ifPresent(r -> {
            Headers h = r.headers();
            h.remove("Access-Control-Allow-Origin");
            h.remove("Access-Control-Allow-Credentials");
            h.remove("Access-Control-Expose-Headers");
            if (decision instanceof String origin) {
                allowOrigin(h, origin);
                if (config.exposeHeaders() != null) {
                    h.set("Access-Control-Expose-Headers", config.exposeHeaders());
                }
            } else if (!literalStar) {
                varyOrigin(h);   // a cache must not serve this CORS-less answer to an allowed origin
            }
        });
        return Outcome.proceed();
    }

    private Outcome preflight(Request req, String origin, boolean allowed, String method) {
        if (!allowed) {
            return Outcome.error(403, CODE, "origin '" + origin + "' is not allowed");
        }
        if (config.methods() != null && !SAFELISTED_METHODS.contains(method)
                && !config.methods().contains(method.toUpperCase(Locale.ROOT))) {
            return Outcome.error(403, CODE, "method '" + method + "' is not allowed");
        }
        List<String> requested = req.headers().all("Access-Control-Request-Headers");
        if (config.headers() != null) {
            for (String line : requested) {
                for (String name : line.split(",")) {
                    String n = name.strip();
                    if (!n.isEmpty() && !config.headers().contains(n.toLowerCase(Locale.ROOT))) {
                        return Outcome.error(403, CODE, "header '" + n + "' is not allowed");
                    }
                }
            }
        }
        Headers h = new Headers();
        allowOrigin(h, origin);
        h.set("Access-Control-Allow-Methods", allowMethods != null ? allowMethods : method);
        if (allowHeaders != null) {
            if (!allowHeaders.isEmpty()) {
                h.set("Access-Control-Allow-Headers", allowHeaders);
            }
        } else if (!requested.isEmpty()) {
            h.set("Access-Control-Allow-Headers", String.join(", ", requested));
        }
        if (config.maxAge() != null) {
            h.set("Access-Control-Max-Age", config.maxAge());
        }
        return Outcome.respond(204, h, EMPTY);
    }

    private void allowOrigin(Headers h, String origin) {
        if (literalStar) {
            h.set("Access-Control-Allow-Origin", "*");
            return;
        }
        h.set("Access-Control-Allow-Origin", origin);
        if (config.credentials()) {
            h.set("Access-Control-Allow-Credentials", "true");
        }
        varyOrigin(h);
    }

    /** Adds {@code Origin} to {@code Vary} unless it (or {@code *}) is already there. */
    private static void varyOrigin(Headers h) {
        for (int i = 0, n = h.size(); i < n; i++) {
            if (h.name(i).equalsIgnoreCase("Vary")) {
                String v = h.value(i);
                if (v.strip().equals("*") || containsToken(v, "origin")) {
                    return;
                }
            }
        }
        h.add("Vary", "Origin");
    }

    private static boolean containsToken(String list, String token) {
        for (String t : list.split(",")) {
            if (t.strip().equalsIgnoreCase(token)) {
                return true;
            }
        }
        return false;
    }
}
