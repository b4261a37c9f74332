package io.sluice.builtin.request_size_limit;

import io.sluice.plugin.Exchange;
import io.sluice.plugin.Filter;
import io.sluice.plugin.Outcome;

/**
 * Declared lengths over the limit are refused before the body is read; chunked bodies are capped while they
 * stream (the gateway answers 413 when the cap is passed).
 */
final class RequestSizeLimitFilter implements Filter {
    private final long maxBytes;

    RequestSizeLimitFilter(long maxBytes) {
        this.maxBytes = maxBytes;
    }

    @Override
    public Outcome onRequest(Exchange exchange) {
        String declared = exchange.request().headers().firstOrNull("Content-Length");
        if (declared != null && Long.parseLong(declared.trim()) > maxBytes) {
            return tooLarge();
        }
        exchange.request().limitBody(maxBytes);
        return Outcome.proceed();
    }

    private Outcome tooLarge() {
        return Outcome.error(413, "payload_too_large", "request body is larger than " + maxBytes + " bytes");
    }
}
