package io.sluice.builtin.load_shedding;

import io.sluice.builtin.Schemas;
import io.sluice.plugin.Filter;
import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.FilterDescriptor;
import io.sluice.plugin.FilterFactory;

/**
 * {@code load-shedding}: bounds requests in flight per pool and answers 503 {@code overloaded} past the bound,
 * lower priorities first.
 */
public final class LoadSheddingFilterFactory implements FilterFactory {
    static final String NAME = "load-shedding";
    private static final FilterDescriptor DESCRIPTOR = new FilterDescriptor(NAME, "1.0.0",
            Schemas.load(LoadSheddingFilterFactory.class, NAME),
            "Answers 503 overloaded when too many requests are in flight; low-priority routes shed first.");

    @Override
    public FilterDescriptor descriptor() {
        return DESCRIPTOR;
    }

    @Override
    public Filter create(FilterConfig config) {
        String priority = config.string("priority").orElse("normal");
        double share = switch (priority) {
            case "critical" -> 1.0;
            case "low" -> 0.5;
            default -> 0.8;
        };
        int max = config.integer("max_concurrent").orElseThrow().intValue();
        return new LoadSheddingFilter(InflightPools.of(config.string("pool").orElse("global")),
                Math.max(1, (int) Math.floor(max * share)), priority,
                config.integer("retry_after_s").orElse(1L).intValue());
    }
}
