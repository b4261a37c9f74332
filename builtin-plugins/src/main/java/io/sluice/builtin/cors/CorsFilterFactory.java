package io.sluice.builtin.cors;

import io.sluice.builtin.Schemas;
import io.sluice.plugin.Filter;
import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.FilterDescriptor;
import io.sluice.plugin.FilterFactory;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * {@code cors}: answers CORS preflights at the gateway and adds the CORS headers to responses for allowed origins.
 */
public final class CorsFilterFactory implements FilterFactory {
    static final String NAME = "cors";
    static final List<Object> DEFAULT_METHODS = List.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE");
    private static final FilterDescriptor DESCRIPTOR = new FilterDescriptor(NAME, "1.0.0",
            Schemas.load(CorsFilterFactory.class, NAME),
            "Answers CORS preflights at the gateway (204, or 403 cors_forbidden) and adds Access-Control-Allow-Origin"
                    + " and friends to responses for allowed origins.");

    @Override
    public FilterDescriptor descriptor() {
        return DESCRIPTOR;
    }

    @Override
    public Filter create(FilterConfig config) {
        Origins origins = Origins.parse(config.list("allow_origins"));
        boolean credentials = config.bool("allow_credentials").orElse(false);
        if (origins.any() && credentials) {
            throw new IllegalArgumentException("allow_origins '*' cannot be combined with allow_credentials: true"
                    + " (browsers refuse credentialed responses for any origin); list the origins, or patterns such as"
                    + " https://*.example.com");
        }
        List<String> methods = names("allow_methods", config.values().containsKey("allow_methods")
                ? config.list("allow_methods") : DEFAULT_METHODS, true);
        List<String> headers = names("allow_headers", config.values().containsKey("allow_headers")
                ? config.list("allow_headers") : List.of("*"), false);
        List<String> expose = names("expose_headers", config.list("expose_headers"), false);
        if (expose == null && credentials) {
            throw new IllegalArgumentException("expose_headers '*' cannot be combined with allow_credentials: true"
                    + " (with credentials browsers read it as a header named '*'); list the headers");
        }
        String exposed = expose == null ? "*" : expose.isEmpty() ? null : String.join(", ", expose);
        CorsFilter.Config bound = new CorsFilter.Config(origins,
                methods == null ? null : Set.copyOf(methods),
                headers == null ? null : lower(headers),
                exposed, credentials, config.integer("max_age").map(String::valueOf).orElse(null));
        return new CorsFilter(bound, methods, headers);
    }

    /**
     * A list of method or header names.
     *
     * @return the distinct names (methods upper-cased), or {@code null} for {@code *}
     */
    private static List<String> names(String field, List<Object> entries, boolean upper) {
        Set<String> out = new LinkedHashSet<>();
        for (int i = 0; i < entries.size(); i++) {
            String name = (String) entries.get(i);
            if (name.equals("*")) {
                if (entries.size() > 1) {
                    throw new IllegalArgumentException(field + "[" + i + "]: '*' allows everything and must be the"
                            + " only entry");
                }
                return null;
            }
            out.add(upper ? name.toUpperCase(Locale.ROOT) : name);
        }
        return List.copyOf(out);
    }

    private static Set<String> lower(List<String> names) {
        Set<String> out = new LinkedHashSet<>();
        names.forEach(n -> out.add(n.toLowerCase(Locale.ROOT)));
        return Set.copyOf(out);
    }
}
