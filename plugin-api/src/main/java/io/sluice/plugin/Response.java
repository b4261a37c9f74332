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
}
