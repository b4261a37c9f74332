package com.example.sluice.ab;

import io.sluice.plugin.Filter;
import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.FilterDescriptor;
import io.sluice.plugin.FilterFactory;
import org.pf4j.Extension;

/**
 * ab-tagger: puts each request of an experiment into variant A or B and tells the upstream (and the client) which,
 * in a header. Sticky by a header such as a session id, so a client stays in its variant; requests without it are
 * placed by their request id. The same filter exists in JavaScript (js-filters/ab-tagger.js) with the same hash,
 * so both place a key identically.
 */
@Extension
public final class AbTaggerFactory implements FilterFactory {
    static final String SCHEMA = """
            {
              "type": "object",
              "required": ["experiment"],
              "additionalProperties": false,
              "properties": {
                "experiment": {"type": "string", "minLength": 1},
                "percent_b": {"type": "integer", "minimum": 0, "maximum": 100, "default": 50},
                "sticky_header": {"type": "string", "description": "header whose value keeps a client in its variant"},
                "header": {"type": "string", "default": "X-AB-Variant"}
              }
            }""";
    private static final FilterDescriptor DESCRIPTOR = new FilterDescriptor("ab-tagger", "1.0.0", SCHEMA,
            "Tags each request with an A/B variant, sticky by a header");

    @Override
    public FilterDescriptor descriptor() {
        return DESCRIPTOR;
    }

    @Override
    public Filter create(FilterConfig config) {
        return new AbTagger(config.string("experiment").orElseThrow(() ->
                new IllegalArgumentException("experiment is required")),
                config.integer("percent_b").orElse(50L).intValue(),
                config.string("sticky_header").orElse(null),
                config.string("header").orElse("X-AB-Variant"));
    }
}
