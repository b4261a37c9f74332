package io.sluice.builtin.transform;

import io.sluice.plugin.Exchange;
import io.sluice.plugin.Filter;
import io.sluice.plugin.Outcome;

final class TransformFilter implements Filter {
    private final HeaderRules requestHeaders;
    private final RequestRewrite rewrite;
    private final BodyRules requestBody;
    private final HeaderRules responseHeaders;
    private final BodyRules responseBody;

    TransformFilter(HeaderRules requestHeaders, RequestRewrite rewrite, BodyRules requestBody,
                    HeaderRules responseHeaders, BodyRules responseBody) {
        this.requestHeaders = requestHeaders;
        this.rewrite = rewrite;
        this.requestBody = requestBody;
        this.responseHeaders = responseHeaders;
        this.responseBody = responseBody;
    }

    @Override
    public Outcome onRequest(Exchange exchange) {
        var request = exchange.request();
        if (!requestHeaders.isEmpty()) {
            requestHeaders.apply(request.headers());
        }
        if (!rewrite.isEmpty()) {
            rewrite.apply(request, exchange.route().params());
        }
        if (!requestBody.isEmpty()) {
            request.body().flatMap(b -> requestBody.apply(request.headers(), b)).ifPresent(request::body);
        }
        return Outcome.proceed();
    }

    @Override
    public Outcome onResponse(Exchange exchange) {
        exchange.response().ifPresent(r -> {
            if (!responseHeaders.isEmpty()) {
                responseHeaders.apply(r.headers());
            }
            if (!responseBody.isEmpty()) {
                r.body().flatMap(b -> responseBody.apply(r.headers(), b)).ifPresent(r::body);
            }
        });
        return Outcome.proceed();
    }

    @Override
    public boolean needsRequestBody() {
        return !requestBody.isEmpty();
    }

    @Override
    public boolean needsResponseBody() {
        return !responseBody.isEmpty();
    }
}
