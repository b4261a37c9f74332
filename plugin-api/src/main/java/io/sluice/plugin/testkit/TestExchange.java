package io.sluice.plugin.testkit;

import io.sluice.plugin.Consumer;
import io.sluice.plugin.Consumers;
import io.sluice.plugin.Exchange;
import io.sluice.plugin.Headers;
import io.sluice.plugin.Request;
import io.sluice.plugin.Response;
import io.sluice.plugin.RouteInfo;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/**
 * An {@link Exchange} for unit tests of filters. Build one with {@link #request(String, String)}, hand it to the
 * filter, then inspect it.
 *
 * <pre>{@code
 * TestExchange ex = TestExchange.request("GET", "/users/7").header("Authorization", "Bearer x");
 * Outcome out = filter.onRequest(ex);
 * ex.respond(200, Headers.of("Content-Type", "text/plain"), "ok");
 * filter.onResponse(ex);
 * }</pre>
 */
public final class TestExchange implements Exchange {
    private final TestRequest request;
    private TestResponse response;
    private Consumer consumer;
    private RouteInfo route = new RouteInfo("test-route", Map.of());
    private Consumers consumers = Consumers.NONE;
    private Set<String> groups = Set.of("default");
    private String upstream = "default";
    private final Map<String, Object> vars = new HashMap<>();
    private String clientAddress = "127.0.0.1";
    private String requestId = "test-request-id";

    private TestExchange(String method, String pathAndQuery) {
        int q = pathAndQuery.indexOf('?');
        request = new TestRequest(method, q < 0 ? pathAndQuery : pathAndQuery.substring(0, q),
                q < 0 ? "" : pathAndQuery.substring(q + 1));
    }

    /**
     * A request with no headers and no body.
     *
     * @param method       HTTP method
     * @param pathAndQuery path, optionally with {@code ?query}
     * @return the exchange
     */
    public static TestExchange request(String method, String pathAndQuery) {
        return new TestExchange(method, pathAndQuery);
    }

    /**
     * Adds a request header.
     *
     * @param name  name
     * @param value value
     * @return this
     */
    public TestExchange header(String name, String value) {
        request.headers.add(name, value);
        return this;
    }

    /**
     * Sets a buffered request body.
     *
     * @param body UTF-8 text
     * @return this
     */
    public TestExchange body(String body) {
        request.body(body.getBytes(StandardCharsets.UTF_8));
        return this;
    }

    /**
     * Sets the matched route.
     *
     * @param id     route id
     * @param params path parameters
     * @return this
     */
    public TestExchange route(String id, Map<String, String> params) {
        route = new RouteInfo(id, params);
        return this;
    }

    /**
     * Sets the client address.
     *
     * @param address IP address
     * @return this
     */
    public TestExchange clientAddress(String address) {
        clientAddress = address;
        return this;
    }

    /**
     * Sets the request id.
     *
     * @param id the id
     * @return this
     */
    public TestExchange requestId(String id) {
        requestId = id;
        return this;
    }

    /**
     * Sets the consumer directory auth filters see.
     *
     * @param consumers for example a {@link TestConsumers}
     * @return this
     */
    public TestExchange consumers(Consumers consumers) {
        this.consumers = consumers;
        return this;
    }

    /**
     * Declares the route's named upstream groups ({@code default} always exists).
     *
     * @param names group names
     * @return this
     */
    public TestExchange upstreams(String... names) {
        Set<String> all = new java.util.HashSet<>(Set.of(names));
        all.add("default");
        groups = Set.copyOf(all);
        return this;
    }

    /**
     * Puts the exchange on the response side, as if the upstream answered.
     *
     * @param status  status
     * @param headers response headers
     * @param body    UTF-8 body
     * @return this
     */
    public TestExchange respond(int status, Headers headers, String body) {
        response = new TestResponse(status, headers, body.getBytes(StandardCharsets.UTF_8));
        return this;
    }

    /**
     * The body limit a filter set with {@link Request#limitBody(long)}.
     *
     * @return the limit, or empty
     */
    public OptionalLong bodyLimit() {
        return request.limit < 0 ? OptionalLong.empty() : OptionalLong.of(request.limit);
    }

    @Override
    public Request request() {
        return request;
    }

    @Override
    public Optional<Response> response() {
        return Optional.ofNullable(response);
    }

    @Override
    public Optional<Consumer> consumer() {
        return Optional.ofNullable(consumer);
    }

    @Override
    public void consumer(Consumer consumer) {
        this.consumer = consumer;
    }

    @Override
    public Consumers consumers() {
        return consumers;
    }

    @Override
    public String upstream() {
        return upstream;
    }

    @Override
    public void upstream(String group) {
        if (!groups.contains(group)) {
            throw new IllegalArgumentException("route has no upstream group '" + group + "' (declare it with upstreams())");
        }
        upstream = group;
    }

    @Override
    public RouteInfo route() {
        return route;
    }

    @Override
    public Map<String, Object> vars() {
        return vars;
    }

    @Override
    public String clientAddress() {
        return clientAddress;
    }

    @Override
    public String requestId() {
        return requestId;
    }

    private static final class TestRequest implements Request {
        private String method;
        private String path;
        private String query;
        private final Headers headers = new Headers();
        private byte[] body;
        private long limit = -1;

        TestRequest(String method, String path, String query) {
            this.method = method;
            this.path = path;
            this.query = query;
        }

        @Override
        public String method() {
            return method;
        }

        @Override
        public void method(String method) {
            this.method = method;
        }

        @Override
        public String path() {
            return path;
        }

        @Override
        public void path(String path) {
            this.path = path;
        }

        @Override
        public String query() {
            return query;
        }

        @Override
        public void query(String query) {
            this.query = query;
        }

        @Override
        public Headers headers() {
            return headers;
        }

        @Override
        public Optional<byte[]> body() {
            return Optional.ofNullable(body);
        }

        @Override
        public void body(byte[] body) {
            this.body = body;
        }

        @Override
        public void limitBody(long maxBytes) {
            limit = maxBytes;
        }
    }

    private static final class TestResponse implements Response {
        private int status;
        private final Headers headers;
        private final Headers trailers = new Headers();
        private byte[] body;

        TestResponse(int status, Headers headers, byte[] body) {
            this.status = status;
            this.headers = headers;
            this.body = body;
        }

        @Override
        public int status() {
            return status;
        }

        @Override
        public void status(int status) {
            this.status = status;
        }

        @Override
        public Headers headers() {
            return headers;
        }

        @Override
        public Optional<byte[]> body() {
            return Optional.of(body);
        }

        @Override
        public void body(byte[] body) {
            this.body = body;
        }

        @Override
        public Headers trailers() {
            return trailers;
        }
    }
}
