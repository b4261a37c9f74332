package io.sluice.runtime.upstream;

import java.io.IOException;

/**
 * A failed upstream exchange, classified so the proxy can answer 502 or 504.
 */
public final class UpstreamException extends IOException {
    /** What went wrong. */
    public enum Kind {
        /** Connection refused, reset, or closed before a response. Answered 502. */
        UNAVAILABLE,
        /** Connect or response timeout. Answered 504. */
        TIMEOUT,
        /** The upstream broke HTTP/1.1 framing or syntax. Answered 502. */
        PROTOCOL,
        /** The pool for this target is at its limit. Answered 502. */
        POOL_EXHAUSTED
    }

    private final Kind kind;

    /**
     * @param kind    classification
     * @param message what happened
     */
    public UpstreamException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    /**
     * @param kind    classification
     * @param message what happened
     * @param cause   underlying error
     */
    public UpstreamException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    /**
     * @return the classification
     */
    public Kind kind() {
        return kind;
    }
}
