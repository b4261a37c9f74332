package io.sluice.runtime.proxy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.ServerRequestHeaders;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerResponse;
import io.sluice.plugin.Headers;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The gateway's own answers to gRPC clients. A gRPC client reads the outcome of a call from {@code grpc-status},
 * not from the HTTP status, so an error the gateway answers itself (no route, auth refused, rate limited, upstream
 * unreachable, timeout, filter failure, body too large) goes out as a gRPC "trailers-only" response: HTTP 200,
 * {@code content-type: application/grpc}, {@code grpc-status} and {@code grpc-message} in one HEADERS frame that
 * ends the stream. The mapping from the gateway's HTTP status lives here and only here.
 *
 * <table>
 *   <caption>gateway status → grpc-status</caption>
 *   <tr><th>HTTP</th><th>grpc-status</th></tr>
 *   <tr><td>400</td><td>3 INVALID_ARGUMENT</td></tr>
 *   <tr><td>401</td><td>16 UNAUTHENTICATED</td></tr>
 *   <tr><td>403</td><td>7 PERMISSION_DENIED</td></tr>
 *   <tr><td>404, 405, 501</td><td>12 UNIMPLEMENTED</td></tr>
 *   <tr><td>408, 504</td><td>4 DEADLINE_EXCEEDED</td></tr>
 *   <tr><td>409</td><td>10 ABORTED</td></tr>
 *   <tr><td>412</td><td>9 FAILED_PRECONDITION</td></tr>
 *   <tr><td>413, 429</td><td>8 RESOURCE_EXHAUSTED</td></tr>
 *   <tr><td>499</td><td>1 CANCELLED</td></tr>
 *   <tr><td>502, 503</td><td>14 UNAVAILABLE</td></tr>
 *   <tr><td>500 and other 5xx</td><td>13 INTERNAL</td></tr>
 *   <tr><td>other</td><td>2 UNKNOWN</td></tr>
 * </table>
 */
final class GrpcErrors {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HeaderName GRPC_STATUS = HeaderNames.createFromLowercase("grpc-status");
    private static final HeaderName GRPC_MESSAGE = HeaderNames.createFromLowercase("grpc-message");
    private static final HeaderName X_REQUEST_ID = HeaderNames.create("X-Request-Id");

    private GrpcErrors() {
    }

    /**
     * @param h2      whether the request came on an HTTP/2 stream
     * @param headers its headers
     * @return whether it is a gRPC call ({@code content-type: application/grpc}, {@code application/grpc+proto}…)
     */
    static boolean isGrpc(boolean h2, ServerRequestHeaders headers) {
        if (!h2) {
            return false;
        }
        List<String> types = headers.all(HeaderNames.CONTENT_TYPE, List::of);
        return types.size() == 1 && isGrpcContentType(types.getFirst());
    }

    static boolean isGrpcContentType(String type) {
        return type != null && type.regionMatches(true, 0, "application/grpc", 0, 16)
                && (type.length() == 16 || type.charAt(16) == '+' || type.charAt(16) == ';');
    }

    /**
     * The grpc-status for an HTTP status the gateway answers with.
     *
     * @param http the HTTP status
     * @return the gRPC status code
     */
    static int code(int http) {
        return switch (http) {
            case 400 -> 3;             // INVALID_ARGUMENT
            case 401 -> 16;            // UNAUTHENTICATED
            case 403 -> 7;             // PERMISSION_DENIED
            case 404, 405, 501 -> 12;  // UNIMPLEMENTED
            case 408, 504 -> 4;        // DEADLINE_EXCEEDED
            case 409 -> 10;            // ABORTED
            case 412 -> 9;             // FAILED_PRECONDITION
            case 413, 429 -> 8;        // RESOURCE_EXHAUSTED
            case 499 -> 1;             // CANCELLED
            case 502, 503 -> 14;       // UNAVAILABLE
            default -> http >= 500 && http < 600 ? 13 : 2;   // INTERNAL, UNKNOWN
        };
    }

    /**
     * Answers a gRPC call with the gateway's error as a trailers-only response.
     *
     * @param res       the response, nothing sent yet
     * @param status    the HTTP status the gateway would have answered
     * @param headers   headers of that answer (kept, except its content type and length)
     * @param body      its JSON body ({@code {"error": ..., "message": ...}}), the source of grpc-message
     * @param requestId the request id, or null before routing
     */
    static void send(ServerResponse res, int status, Headers headers, byte[] body, String requestId) {
        res.status(Status.OK_200);
        for (int i = 0, n = headers.size(); i < n; i++) {
            String name = headers.name(i);
            if (!name.equalsIgnoreCase("Content-Type") && !name.equalsIgnoreCase("Content-Length")
                    && !name.equalsIgnoreCase("X-Request-Id")) {
                res.headers().add(HeaderNames.create(name), headers.value(i));
            }
        }
        res.headers().set(HeaderNames.CONTENT_TYPE, "application/grpc");
        res.headers().set(GRPC_STATUS, Integer.toString(code(status)));
        res.headers().set(GRPC_MESSAGE, percentEncode(message(status, body)));
        if (requestId != null) {
            res.headers().set(X_REQUEST_ID, requestId);
        }
        trailersOnly(res);
    }

    /**
     * Ends the response with its headers alone: one HEADERS frame with END_STREAM. Helidon does that for an output
     * stream closed unwritten, once the {@code Trailer} header it adds for {@code te: trailers} is gone (with it,
     * it would send an empty DATA-less HEADERS frame and a {@code stream-result} trailer).
     */
    static void trailersOnly(ServerResponse res) {
        try {
            OutputStream os = res.outputStream();
            res.headers().remove(HeaderNames.TRAILER);
            os.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String message(int status, byte[] body) {
        if (body != null && body.length > 0) {
            try {
                JsonNode n = JSON.readTree(body);
                String m = n.path("message").asText("");
                String e = n.path("error").asText("");
                if (!m.isEmpty() || !e.isEmpty()) {
                    return e.isEmpty() ? m : m.isEmpty() ? e : e + ": " + m;
                }
            } catch (IOException | RuntimeException notJson) {
                // a filter's own body: fall back to the status
            }
        }
        return "gateway answered HTTP " + status;
    }

    /** gRPC's Percent-Encoded grpc-message: UTF-8, bytes outside 0x20..0x7E and '%' as %XX. */
    static String percentEncode(String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        StringBuilder out = new StringBuilder(bytes.length);
        for (byte b : bytes) {
            int c = b & 0xff;
            if (c >= 0x20 && c <= 0x7e && c != '%') {
                out.append((char) c);
            } else {
                out.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
            }
        }
        return out.toString();
    }
}
