package io.sluice.plugin;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * What a filter decides: go on, or answer the client now.
 */
public sealed interface Outcome permits Outcome.Proceed, Outcome.Respond {

    /**
     * Go on with the chain.
     *
     * @return the shared proceed value
     */
    static Outcome proceed() {
        return Proceed.INSTANCE;
    }

    /**
     * Answer with a status, headers and body.
     *
     * @param status  HTTP status, 100..599
     * @param headers response headers
     * @param body    body bytes, may be empty
     * @return the outcome
     */
    static Respond respond(int status, Headers headers, byte[] body) {
        return new Respond(status, headers, body);
    }

    /**
     * Answer with the gateway's JSON error shape {@code {"error": code, "message": message}}.
     *
     * @param status  HTTP status
     * @param code    snake_case error code
     * @param message human text
     * @return the outcome, with {@code Content-Type: application/json}
     */
    static Respond error(int status, String code, String message) {
        Headers headers = new Headers();
        headers.set("Content-Type", "application/json");
        return new Respond(status, headers, Json.error(code, message).getBytes(StandardCharsets.UTF_8));
    }

    /** Go on with the chain. */
    final class Proceed implements Outcome {
        private static final Proceed INSTANCE = new Proceed();

        private Proceed() {
        }

        @Override
        public String toString() {
            return "Proceed";
        }
    }

    /**
     * Answer the client with this response.
     *
     * @param status  HTTP status
     * @param headers headers (mutable; the gateway may add its own)
     * @param body    body bytes
     */
    record Respond(int status, Headers headers, byte[] body) implements Outcome {
        /**
         * Checks the status range.
         *
         * @throws IllegalArgumentException if the status is outside 100..599
         */
        public Respond {
            if (status < 100 || status > 599) {
                throw new IllegalArgumentException("status must be 100..599: " + status);
            }
            Objects.requireNonNull(headers, "headers");
            Objects.requireNonNull(body, "body");
        }

        /**
         * The body as UTF-8 text.
         *
         * @return the body text
         */
        public String bodyText() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }
}
