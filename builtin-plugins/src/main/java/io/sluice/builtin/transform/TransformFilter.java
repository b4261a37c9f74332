package io.sluice.builtin.transform;

import io.sluice.plugin.Exchange;
import io.sluice.plugin.Filter;
import io.sluice.plugin.Outcome;

final class TransformFilter implements Filter {
    private final HeaderRules request;
    private final HeaderRules response;

    TransformFilter(HeaderRules request, HeaderRules response) {
        this.request = request;
        this.response = response;
    }

    @Override
    public Outcome onRequest(Exchange exchange) {
        if (!request.isEmpty()) {
            request.apply(exchange.request().headers());
        }
        return Outcome.proceed();
    }

    @Override
    public Outcome onResponse(Exchange exchange) {
        if (!response.isEmpty()) {
            exchange.response().ifPresent(r -> response.apply(r.headers()));
        }
        return Outcome.proceed();
    }
}
