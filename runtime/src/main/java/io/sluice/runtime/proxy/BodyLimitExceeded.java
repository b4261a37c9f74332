package io.sluice.runtime.proxy;

import io.sluice.plugin.Outcome;

import java.io.IOException;

/** The request body passed a configured limit; answered 413. */
final class BodyLimitExceeded extends IOException {
    private final long limit;

    BodyLimitExceeded(long limit) {
        super("request body is larger than " + limit + " bytes", null);
        this.limit = limit;
    }

    Outcome.Respond outcome() {
        return Outcome.error(413, "payload_too_large", "request body is larger than " + limit + " bytes");
    }
}
