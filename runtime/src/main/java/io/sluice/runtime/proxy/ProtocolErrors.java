package io.sluice.runtime.proxy;

import io.helidon.http.DirectHandler;
import io.helidon.http.HeaderNames;
import io.helidon.http.ServerResponseHeaders;
import io.helidon.http.Status;
import io.helidon.webserver.http.DirectHandlers;
import io.sluice.plugin.Json;

import java.nio.charset.StandardCharsets;

/**
 * Answers for requests Helidon refuses before any handler runs (malformed request line or headers, headers too
 * large, framing it cannot parse) in the gateway's JSON error shape. These connections are always closed.
 */
public final class ProtocolErrors {
    private ProtocolErrors() {
    }

    /**
     * Direct handlers for every event type.
     *
     * @return the handlers
     */
    public static DirectHandlers handlers() {
        DirectHandler handler = ProtocolErrors::handle;
        DirectHandlers.Builder b = DirectHandlers.builder();
        for (DirectHandler.EventType t : DirectHandler.EventType.values()) {
            b.addHandler(t, handler);
        }
        return b.build();
    }

    private static DirectHandler.TransportResponse handle(DirectHandler.TransportRequest request,
                                                          DirectHandler.EventType type, Status status,
                                                          ServerResponseHeaders headers, String message) {
        String text = message == null ? "" : message.lines().findFirst().orElse("").strip();
        if (text.length() > 200) {
            text = text.substring(0, 200);   // parser messages can carry a hex dump of the request
        }
        int code = status.code();
        String error;
        if (text.contains("Header size exceeded")) {
            code = 431;
            error = "headers_too_large";
            text = "request headers are too large";
        } else if (code == 413) {
            error = "payload_too_large";
        } else if (code == 505) {
            error = "http_version_not_supported";
        } else if (code >= 500) {
            error = "internal_error";
        } else {
            error = "bad_request";
        }
        if (text.isEmpty()) {
            text = Status.create(code).reasonPhrase();
        }
        return DirectHandler.TransportResponse.builder()
                .status(code == 431 ? Status.create(431, "Request Header Fields Too Large") : Status.create(code))
                .headers(headers)
                .header(HeaderNames.CONTENT_TYPE, "application/json")
                .keepAlive(false)
                .entity(Json.error(error, text).getBytes(StandardCharsets.UTF_8))
                .build();
    }
}
