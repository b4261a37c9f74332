package io.sluice.plugin;

import java.util.Optional;

/**
 * The request as it will be sent upstream.
 */
public interface Request {

    /**
     * The method.
     *
     * @return for example {@code GET}
     */
    String method();

    /**
     * Replaces the method sent upstream (a protocol-translating filter turns {@code GET /users/1} into a gRPC
     * {@code POST}). Routing, which already happened, is not redone. A 0.1.x addition (default method): the
     * default refuses, for implementations written before it.
     *
     * @param method an HTTP method token, for example {@code POST}
     * @throws IllegalArgumentException when it is not a method token
     */
    default void method(String method) {
        throw new UnsupportedOperationException("this exchange cannot change the method");
    }

    /**
     * The path sent upstream (after {@code strip_prefix}), without the query.
     *
     * @return the path, starting with {@code /}
     */
    String path();

    /**
     * Replaces the path sent upstream.
     *
     * @param path new path starting with {@code /}
     */
    void path(String path);

    /**
     * The raw query string without {@code ?}.
     *
     * @return the query, empty if none
     */
    String query();

    /**
     * Replaces the raw query string.
     *
     * @param query the query without {@code ?}, empty for none
     */
    void query(String query);

    /**
     * The headers sent upstream; filters may change them. Hop-by-hop headers are already removed.
     *
     * @return mutable headers
     */
    Headers headers();

    /**
     * The body, when a filter in the chain asked for it with {@link Filter#needsRequestBody()}.
     *
     * @return the body bytes, or empty when the body is streamed
     */
    Optional<byte[]> body();

    /**
     * Replaces the body (Content-Length is set accordingly).
     *
     * @param body new body
     */
    void body(byte[] body);

    /**
     * Caps the request body size; a larger body is answered 413 {@code payload_too_large}.
     *
     * @param maxBytes the limit in bytes
     */
    void limitBody(long maxBytes);
}
