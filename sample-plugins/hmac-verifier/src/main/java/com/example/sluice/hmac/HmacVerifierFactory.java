package com.example.sluice.hmac;

import io.sluice.plugin.Filter;
import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.FilterDescriptor;
import io.sluice.plugin.FilterFactory;
import org.pf4j.Extension;

import java.nio.charset.StandardCharsets;
import java.time.Clock;

/**
 * hmac-verifier: the client signs {@code timestamp \n METHOD \n path?query \n body} with a shared secret
 * (HMAC-SHA256, lower-case hex) and sends the signature and the timestamp (Unix seconds) in headers. Requests with a
 * missing, wrong or stale signature are answered 401 and never reach the upstream.
 */
@Extension
public final class HmacVerifierFactory implements FilterFactory {
    static final String SCHEMA = """
            {
              "type": "object",
              "required": ["secret"],
              "additionalProperties": false,
              "properties": {
                "secret": {"type": "string", "minLength": 16, "description": "shared secret (at least 16 characters)"},
                "signature_header": {"type": "string", "default": "X-Signature"},
                "timestamp_header": {"type": "string", "default": "X-Timestamp"},
                "max_skew_seconds": {"type": "integer", "minimum": 1, "maximum": 3600, "default": 300}
              }
            }""";
    private static final FilterDescriptor DESCRIPTOR = new FilterDescriptor("hmac-verifier", "1.0.0", SCHEMA,
            "Verifies an HMAC-SHA256 request signature over timestamp, method, path and body");
    private final Clock clock;

    /** The factory PF4J instantiates. */
    public HmacVerifierFactory() {
        this(Clock.systemUTC());
    }

    HmacVerifierFactory(Clock clock) {
        this.clock = clock;
    }

    @Override
    public FilterDescriptor descriptor() {
        return DESCRIPTOR;
    }

    @Override
    public Filter create(FilterConfig config) {
        String secret = config.string("secret").orElseThrow(() -> new IllegalArgumentException("secret is required"));
        return new HmacVerifier(secret.getBytes(StandardCharsets.UTF_8),
                config.string("signature_header").orElse("X-Signature"),
                config.string("timestamp_header").orElse("X-Timestamp"),
                config.integer("max_skew_seconds").orElse(300L), clock);
    }
}
