package io.sluice.builtin.grpc_transcode;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.Descriptors;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.util.JsonFormat;
import io.sluice.plugin.Exchange;
import io.sluice.plugin.Filter;
import io.sluice.plugin.Headers;
import io.sluice.plugin.Outcome;
import io.sluice.plugin.Response;

import java.io.ByteArrayOutputStream;
import java.net.URLDecoder;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * One HTTP/JSON request made into a unary gRPC call and back, on the gateway's one request path: the request side
 * rewrites the request (POST {@code /pkg.Service/Method}, {@code content-type: application/grpc},
 * {@code te: trailers}, the message framed) and the route's {@code grpc} upstream is called as usual; the response
 * side turns the reply message into JSON, or the {@code grpc-status} into an HTTP status and a JSON error.
 *
 * <p>The request message is the JSON body (proto3 JSON mapping; an unknown field is an error), then query
 * parameters, then path parameters, later ones overriding: a parameter named like a top-level field sets it
 * (repeated parameters make a list), others are ignored.
 */
final class GrpcTranscodeFilter implements Filter {
    private static final String VAR = "grpc-transcode";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonFormat.Parser PARSER = JsonFormat.parser();
    private static final JsonFormat.Printer PRINTER = JsonFormat.printer().alwaysPrintFieldsWithNoPresence()
            .omittingInsignificantWhitespace();
    private static final String[] CODES = {"ok", "cancelled", "unknown", "invalid_argument", "deadline_exceeded",
        "not_found", "already_exists", "permission_denied", "resource_exhausted", "failed_precondition", "aborted",
        "out_of_range", "unimplemented", "internal", "unavailable", "data_loss", "unauthenticated"};

    private final Descriptors.MethodDescriptor method;
    private final String path;

    GrpcTranscodeFilter(Descriptors.MethodDescriptor method) {
        this.method = method;
        this.path = "/" + method.getService().getFullName() + "/" + method.getName();
    }

    @Override
    public boolean needsRequestBody() {
        return true;
    }

    @Override
    public boolean needsResponseBody() {
        return true;
    }

    @Override
    public Outcome onRequest(Exchange exchange) {
        var request = exchange.request();
        DynamicMessage.Builder message = DynamicMessage.newBuilder(method.getInputType());
        byte[] body = request.body().orElse(new byte[0]);
        String json = new String(body, StandardCharsets.UTF_8);
        try {
            // one object, one merge: the parser refuses a field set twice, and parameters override the body
            ObjectNode fields = JSON.createObjectNode();
            if (!json.isBlank()) {
                if (!(JSON.readTree(json) instanceof ObjectNode o)) {
                    return Outcome.error(400, "bad_request", "the body must be a JSON object ("
                            + method.getInputType().getFullName() + ")");
                }
                fields = o;
            }
            fields.setAll(params(request.query(), exchange.route().params()));
            PARSER.merge(fields.toString(), message);
        } catch (java.io.IOException | RuntimeException e) {
            return Outcome.error(400, "bad_request", "request does not fit " + method.getInputType().getFullName()
                    + ": " + e.getMessage());
        }
        byte[] bytes = message.build().toByteArray();
        ByteBuffer framed = ByteBuffer.allocate(5 + bytes.length);
        framed.put((byte) 0).putInt(bytes.length).put(bytes);
        request.method("POST");
        request.path(path);
        request.query("");
        Headers h = request.headers();
        h.remove("Content-Length");
        h.remove("Accept-Encoding");
        h.set("Content-Type", "application/grpc");
        h.set("TE", "trailers");
        request.body(framed.array());
        exchange.vars().put(VAR, Boolean.TRUE);
        return Outcome.proceed();
    }

    /** Query and path parameters naming top-level fields, as a JSON object (path ones win). */
    private ObjectNode params(String query, Map<String, String> pathParams) {
        Map<String, ArrayNode> values = new LinkedHashMap<>();
        if (!query.isEmpty()) {
            for (String pair : query.split("&")) {
                int eq = pair.indexOf('=');
                String name = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
                String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
                if (field(name) != null) {
                    values.computeIfAbsent(name, k -> JSON.createArrayNode()).add(value);
                }
            }
        }
        ObjectNode out = JSON.createObjectNode();
        values.forEach((name, list) -> out.set(name, field(name).isRepeated() ? list : list.get(list.size() - 1)));
        pathParams.forEach((name, value) -> {
            Descriptors.FieldDescriptor f = field(name);
            if (f != null && !f.isRepeated()) {
                out.put(name, value);
            }
        });
        return out;
    }

    private Descriptors.FieldDescriptor field(String name) {
        Descriptors.Descriptor type = method.getInputType();
        Descriptors.FieldDescriptor f = type.findFieldByName(name);
        if (f == null) {
            for (Descriptors.FieldDescriptor c : type.getFields()) {
                if (c.getJsonName().equals(name)) {
                    return c;
                }
            }
        }
        return f;
    }

    @Override
    public Outcome onResponse(Exchange exchange) {
        if (exchange.vars().get(VAR) == null) {
            return Outcome.proceed();
        }
        Response r = exchange.response().orElseThrow();
        String type = r.headers().firstOrNull("Content-Type");
        if (type == null || !type.toLowerCase(Locale.ROOT).startsWith("application/grpc")) {
            return Outcome.proceed();   // the gateway's own error (JSON already) or not a gRPC server at all
        }
        String status = r.trailers().first("grpc-status").orElse(r.headers().firstOrNull("grpc-status"));
        String message = r.trailers().first("grpc-message").orElse(r.headers().firstOrNull("grpc-message"));
        java.util.List.copyOf(r.trailers().names()).forEach(r.trailers()::remove);   // JSON has no trailers
        if (status == null) {
            return Outcome.error(502, "bad_gateway", "the gRPC upstream answered HTTP " + r.status()
                    + " without a grpc-status");
        }
        int code;
        try {
            code = Integer.parseInt(status.strip());
        } catch (NumberFormatException e) {
            return Outcome.error(502, "bad_gateway", "the gRPC upstream sent grpc-status '" + status + "'");
        }
        if (code != 0) {
            String name = code > 0 && code < CODES.length ? CODES[code] : "unknown";
            return Outcome.error(httpStatus(code), name, message == null ? name : percentDecode(message));
        }
        byte[] body = r.body().orElse(new byte[0]);
        if (body.length < 5 || body[0] != 0) {
            return Outcome.error(502, "bad_gateway", body.length < 5 ? "the gRPC upstream sent no reply message"
                    : "the gRPC upstream sent a compressed reply (not requested)");
        }
        int length = ByteBuffer.wrap(body, 1, 4).getInt();
        if (length < 0 || length != body.length - 5) {
            return Outcome.error(502, "bad_gateway", "the gRPC upstream's reply is not one framed message");
        }
        String json;
        try {
            DynamicMessage reply = DynamicMessage.parseFrom(method.getOutputType(),
                    com.google.protobuf.CodedInputStream.newInstance(body, 5, length));
            json = PRINTER.print(reply);
        } catch (java.io.IOException e) {
            return Outcome.error(502, "bad_gateway", "the gRPC upstream's reply does not parse as "
                    + method.getOutputType().getFullName() + ": " + e.getMessage());
        }
        r.status(200);
        for (String n : java.util.List.copyOf(r.headers().names())) {
            if (n.toLowerCase(Locale.ROOT).startsWith("grpc-") || n.equalsIgnoreCase("Trailer")) {
                r.headers().remove(n);
            }
        }
        r.headers().set("Content-Type", "application/json");
        r.body(json.getBytes(StandardCharsets.UTF_8));
        return Outcome.proceed();
    }

    /** grpc-status → HTTP: the ones a client can act on, the rest 500. */
    static int httpStatus(int code) {
        return switch (code) {
            case 3 -> 400;    // INVALID_ARGUMENT
            case 4 -> 504;    // DEADLINE_EXCEEDED
            case 5 -> 404;    // NOT_FOUND
            case 7 -> 403;    // PERMISSION_DENIED
            case 14 -> 503;   // UNAVAILABLE
            case 16 -> 401;   // UNAUTHENTICATED
            default -> 500;
        };
    }

    private static String percentDecode(String s) {
        if (s.indexOf('%') < 0) {
            return s;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%' && i + 2 < s.length()
                    && Character.digit(s.charAt(i + 1), 16) >= 0 && Character.digit(s.charAt(i + 2), 16) >= 0) {
                out.write(Character.digit(s.charAt(i + 1), 16) * 16 + Character.digit(s.charAt(i + 2), 16));
                i += 2;
            } else {
                out.write((byte) c);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
