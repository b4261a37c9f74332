package io.sluice.runtime.upstream;

import io.sluice.plugin.Headers;

/**
 * A request to send upstream. The client adds {@code Host}, {@code Content-Length} or
 * {@code Transfer-Encoding}; {@code headers} must already be free of hop-by-hop headers.
 *
 * @param method        method
 * @param target        origin-form request target: path and optional {@code ?query}
 * @param headers       end-to-end headers
 * @param body          the body
 */
public record UpstreamRequest(String method, String target, Headers headers, RequestBody body) {

    /**
     * Whether a failed attempt may be sent again (RFC 9110 §9.2.2 idempotent methods, replayable body).
     *
     * @return true if a retry is safe
     */
    public boolean retryable() {
        return body.replayable() && switch (method) {
            case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE" -> true;
            default -> false;
        };
    }
}
