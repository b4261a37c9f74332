package io.sluice.plugin;

import java.util.Optional;

/**
 * The response on its way back to the client.
 */
public interface Response {

    /**
     * The status.
     *
     * @return the status code
     */
    int status();

    /**
     * Replaces the status.
     *
     * @param status 100..599
     */
    void status(int status);

    /**
     * The headers sent to the client; filters may change them.
     *
     * @return mutable headers
     */
    Headers headers();

    /**
     * The body, when a filter in the chain asked for it with {@link Filter#needsResponseBody()}.
     *
     * @return the body, or empty when streamed
     */
    Optional<byte[]> body();

    /**
     * Replaces the body.
     *
     * @param body new body
     */
    void body(byte[] body);

    /**
     * The trailer fields that followed the body: an HTTP/2 or gRPC upstream's ({@code grpc-status},
     * {@code grpc-message}, custom trailing metadata). Known when the body is, that is when a filter in the chain
     * asked for it with {@link Filter#needsResponseBody()}; empty otherwise and for HTTP/1.1 upstreams. Mutable:
     * what is left is sent after the body to an HTTP/2 client (a filter that turns the response into something
     * else, JSON say, clears them). A 0.1.x addition (default method): the default is an empty,
     * detached set.
     *
     * @return the trailers
     */
    default Headers trailers() {
        return new Headers();
    }
}
