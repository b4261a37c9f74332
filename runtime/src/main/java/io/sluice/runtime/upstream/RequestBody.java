package io.sluice.runtime.upstream;

import java.io.InputStream;

/**
 * The body of a request going upstream.
 */
public sealed interface RequestBody {

    /** No body at all (no Content-Length, no Transfer-Encoding). */
    RequestBody NONE = new None();

    /**
     * Whether the body can be sent again on a retry.
     *
     * @return true for no body and for fully buffered bodies
     */
    default boolean replayable() {
        return !(this instanceof Streamed);
    }

    /** No body. */
    record None() implements RequestBody {
    }

    /**
     * A fully buffered body, sent with {@code Content-Length}.
     *
     * @param bytes  buffer
     * @param length bytes used
     */
    record Buffered(byte[] bytes, int length) implements RequestBody {
    }

    /**
     * A body that is still arriving: {@code head} was read already, {@code rest} follows.
     *
     * @param head          bytes already read
     * @param headLength    bytes of head used
     * @param rest          the remainder
     * @param contentLength declared total length, or -1 to send it chunked
     */
    record Streamed(byte[] head, int headLength, InputStream rest, long contentLength) implements RequestBody {
    }
}
