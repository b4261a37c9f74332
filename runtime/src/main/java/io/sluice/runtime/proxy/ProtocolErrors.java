package io.sluice.runtime.proxy;

import io.helidon.http.DirectHandler;
import io.helidon.http.HeaderNames;
import io.helidon.http.ServerResponseHeaders;
import io.helidon.http.Status;
import io.helidon.webserver.http.DirectHandlers;
import io.sluice.plugin.Json;
import io.sluice.runtime.observe.AccessLog;

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
        return handlers(AccessLog.OFF);
    }

    /**
     * Direct handlers for every event type, each refusal also written to the access log (what Helidon parsed of
     * the request so far; the client address is not known here: "-").
     *
     * @param log the access log
     * @return the handlers
     */
    public static DirectHandlers handlers(AccessLog log) {
        DirectHandler handler = (request, type, status, headers, message) -> {
            long start = System.nanoTime();
            DirectHandler.TransportResponse r = handle(request, type, status, headers, message);
            if (log.on()) {
                log.log(entry(request, r, start));
            }
            return r;
        };
        DirectHandlers.Builder b = DirectHandlers.builder();
        for (DirectHandler.EventType t : DirectHandler.EventType.values()) {
            b.addHandler(t, handler);
        }
        return b.build();
    }

    private static AccessLog.Entry entry(DirectHandler.TransportRequest request, DirectHandler.TransportResponse r,
                                         long start) {
        String method = request.method();
        String path = request.path();
        String version = request.protocolVersion();
        io.helidon.http.ServerRequestHeaders h = request.headers();
        int code = r.status().code();
        return new AccessLog.Entry(System.currentTimeMillis(), null, method == null || method.isEmpty() ? null : method,
                path == null || path.isEmpty() ? null : path,
                version == null || version.isEmpty() ? null : version, code, -1,
                h.first(HeaderNames.REFERER).orElse(null), h.first(HeaderNames.USER_AGENT).orElse(null),
                System.nanoTime() - start, null, null, null, null, errorCode(code));
    }

    private static String errorCode(int code) {
        return switch (code) {
            case 431 -> "headers_too_large";
            case 413 -> "payload_too_large";
            case 505 -> "http_version_not_supported";
            default -> code >= 500 ? "internal_error" : "bad_request";
        };
    }

    private static DirectHandler.TransportResponse handle(DirectHandler.TransportRequest request,
                                                          DirectHandler.EventType type, Status status,
                                                          ServerResponseHeaders headers, String message) {
        String text = message == null ? "" : message.lines().findFirst().orElse("").strip();
        if (text.length() > 200) {
            text = text.substring(0, 200);   // parser messages can carry a hex dump of the request
        }
        int code = status.code();
        if (text.contains("Header size exceeded")) {
            code = 431;
            text = "request headers are too large";
        }
        String error = errorCode(code);
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
