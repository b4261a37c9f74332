package io.sluice.plugin.js;

import io.sluice.plugin.Consumer;
import io.sluice.plugin.Exchange;
import io.sluice.plugin.Json;
import io.sluice.plugin.Response;
import org.graalvm.polyglot.HostAccess.Export;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The only host object a script can reach: the exchange of one invocation, through methods that take and return
 * strings (and a few ints and booleans). The prelude wraps it into the documented {@code ctx}. Only members marked
 * {@link Export} are visible to the guest ({@code HostAccess.CONSTRAINED}); nothing here returns a host object.
 */
public final class JsHost {
    private static final System.Logger LOG = System.getLogger("sluice.js");
    private final Exchange ex;
    private final String filter;

    /**
     * @param ex     the exchange the script works on
     * @param filter the filter's name@version, for its log lines
     */
    public JsHost(Exchange ex, String filter) {
        this.ex = ex;
        this.filter = filter;
    }

    @Export
    public String method() {
        return ex.request().method();
    }

    @Export
    public String path() {
        return ex.request().path();
    }

    @Export
    public void setPath(String path) {
        if (!path.startsWith("/")) {
            throw new IllegalArgumentException("path must start with /");
        }
        ex.request().path(path);
    }

    @Export
    public String query() {
        return ex.request().query();
    }

    @Export
    public void setQuery(String query) {
        ex.request().query(query);
    }

    @Export
    public String requestHeader(String name) {
        return ex.request().headers().firstOrNull(name);
    }

    @Export
    public String requestHeaders(String name) {
        return json(ex.request().headers().all(name));
    }

    @Export
    public void setRequestHeader(String name, String value) {
        ex.request().headers().set(name, value);
    }

    @Export
    public void addRequestHeader(String name, String value) {
        ex.request().headers().add(name, value);
    }

    @Export
    public void removeRequestHeader(String name) {
        ex.request().headers().remove(name);
    }

    @Export
    public String requestBody() {
        return ex.request().body().map(b -> new String(b, StandardCharsets.UTF_8)).orElse(null);
    }

    @Export
    public void setRequestBody(String body) {
        ex.request().body(body.getBytes(StandardCharsets.UTF_8));
    }

    @Export
    public boolean hasResponse() {
        return ex.response().isPresent();
    }

    @Export
    public int status() {
        return response().status();
    }

    @Export
    public String responseHeader(String name) {
        return response().headers().firstOrNull(name);
    }

    @Export
    public String responseHeaders(String name) {
        return json(response().headers().all(name));
    }

    @Export
    public void setResponseHeader(String name, String value) {
        response().headers().set(name, value);
    }

    @Export
    public void addResponseHeader(String name, String value) {
        response().headers().add(name, value);
    }

    @Export
    public void removeResponseHeader(String name) {
        response().headers().remove(name);
    }

    @Export
    public String responseBody() {
        return response().body().map(b -> new String(b, StandardCharsets.UTF_8)).orElse(null);
    }

    @Export
    public void setResponseBody(String body) {
        response().body(body.getBytes(StandardCharsets.UTF_8));
    }

    @Export
    public String consumerId() {
        return ex.consumer().map(Consumer::id).orElse(null);
    }

    @Export
    public String routeId() {
        return ex.route().id();
    }

    @Export
    public String routeParams() {
        StringBuilder b = new StringBuilder("{");
        ex.route().params().forEach((k, v) -> {
            b.append(b.length() > 1 ? "," : "").append(Json.quote(k)).append(':').append(Json.quote(v));
        });
        return b.append('}').toString();
    }

    @Export
    public String getVar(String key) {
        Object v = ex.vars().get(key);
        return v == null ? null : v.toString();
    }

    @Export
    public void setVar(String key, String value) {
        if (value == null) {
            ex.vars().remove(key);
        } else {
            ex.vars().put(key, value);
        }
    }

    @Export
    public String requestId() {
        return ex.requestId();
    }

    @Export
    public String clientAddress() {
        return ex.clientAddress();
    }

    @Export
    public void log(String message) {
        String m = message.length() > 2000 ? message.substring(0, 2000) + "…" : message;
        LOG.log(System.Logger.Level.INFO, () -> "[" + filter + "] " + ex.requestId() + " " + m);
    }

    private Response response() {
        return ex.response().orElseThrow(() -> new IllegalStateException("no response yet (request side)"));
    }

    private static String json(List<String> values) {
        StringBuilder b = new StringBuilder("[");
        for (String v : values) {
            b.append(b.length() > 1 ? "," : "").append(Json.quote(v));
        }
        return b.append(']').toString();
    }
}
