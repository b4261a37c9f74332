package io.sluice.runtime.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Optional;

/** A small client for the admin API, as a script or an operator would use it. */
public final class AdminClient {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    private final String base;
    private final Optional<String> token;

    /**
     * @param adminPort admin port on 127.0.0.1
     * @param token     bearer token, or null for none
     */
    public AdminClient(int adminPort, String token) {
        this.base = "http://127.0.0.1:" + adminPort;
        this.token = Optional.ofNullable(token);
    }

    /** @return a client with another token */
    public AdminClient as(String otherToken) {
        return new AdminClient(Integer.parseInt(base.substring(base.lastIndexOf(':') + 1)), otherToken);
    }

    /** A response. */
    public record Resp(int status, HttpResponse<String> raw) {
        public JsonNode json() {
            try {
                return MAPPER.readTree(raw.body());
            } catch (IOException e) {
                throw new AssertionError("not JSON (" + status + "): " + raw.body(), e);
            }
        }

        public String body() {
            return raw.body();
        }

        public Optional<String> header(String name) {
            return raw.headers().firstValue(name);
        }

        public String error() {
            return json().path("error").asText();
        }

        @Override
        public String toString() {
            return status + " " + raw.body();
        }
    }

    public Resp get(String path) {
        return send("GET", path, null, "application/json");
    }

    public Resp get(String path, String accept) {
        return send("GET", path, null, accept);
    }

    public Resp put(String path, String body) {
        return send("PUT", path, body, "application/json");
    }

    public Resp post(String path, String body) {
        return send("POST", path, body, "application/json");
    }

    public Resp delete(String path) {
        return send("DELETE", path, null, "application/json");
    }

    public Resp send(String method, String path, String body, String accept) {
        return send(method, path, body, accept, body == null ? null
                : body.trim().startsWith("{") || body.trim().startsWith("[") ? "application/json" : "application/yaml");
    }

    public Resp send(String method, String path, String body, String accept, String contentType) {
        return send(method, path, body == null ? null : body.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                accept, contentType);
    }

    public Resp send(String method, String path, byte[] body, String accept, String contentType) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofByteArray(body))
                .header("Accept", accept);
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        token.ifPresent(t -> b.header("Authorization", "Bearer " + t));
        try {
            HttpResponse<String> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
            return new Resp(r.statusCode(), r);
        } catch (IOException e) {
            throw new AssertionError(method + " " + path + " failed: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
