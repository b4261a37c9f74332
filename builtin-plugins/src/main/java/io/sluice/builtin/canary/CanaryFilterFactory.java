package io.sluice.builtin.canary;

import io.sluice.builtin.Schemas;
import io.sluice.plugin.Filter;
import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.FilterDescriptor;
import io.sluice.plugin.FilterFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * {@code canary}: splits a route's traffic between its upstream groups by weight, optionally sticky per client.
 */
public final class CanaryFilterFactory implements FilterFactory {
    static final String NAME = "canary";
    private static final FilterDescriptor DESCRIPTOR = new FilterDescriptor(NAME, "1.0.0",
            Schemas.load(CanaryFilterFactory.class, NAME),
            "Weighted split of a route's traffic between upstream groups, optionally sticky by header, cookie or consumer.");

    @Override
    public FilterDescriptor descriptor() {
        return DESCRIPTOR;
    }

    @Override
    public Filter create(FilterConfig config) {
        List<String> names = new ArrayList<>();
        List<Integer> weights = new ArrayList<>();
        for (Object o : config.list("split")) {
            FilterConfig entry = FilterConfig.of(castMap(o));
            String name = entry.string("upstream").orElseThrow();
            if (names.contains(name)) {
                throw new IllegalArgumentException("split names upstream '" + name + "' twice");
            }
            names.add(name);
            weights.add(entry.integer("weight").orElseThrow().intValue());
        }
        if (weights.stream().mapToInt(Integer::intValue).sum() == 0) {
            throw new IllegalArgumentException("split weights sum to 0");
        }
        CanaryFilter.Sticky sticky = config.object("sticky")
                .map(s -> new CanaryFilter.Sticky(s.string("by").orElseThrow(), s.string("name").orElse(null)))
                .orElse(null);
        return new CanaryFilter(names, weights, sticky, config.string("response_header").orElse(null));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> castMap(Object o) {
        return (Map<String, Object>) o;
    }
}
