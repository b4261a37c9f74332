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
    private final boolean sent;

    /**
     * @param kind    classification
     * @param message what happened
     */
    public UpstreamException(Kind kind, String message) {
        super(message);
        this.kind = kind;
        this.sent = true;
    }

    /**
     * @param kind    classification
     * @param message what happened
     * @param cause   underlying error
     */
    public UpstreamException(Kind kind, String message, Throwable cause) {
        this(kind, message, cause, true);
    }

    private UpstreamException(Kind kind, String message, Throwable cause, boolean sent) {
        super(message, cause);
        this.kind = kind;
        this.sent = sent;
    }

    /**
     * A failure before any byte of the request left: connect refused or timed out, TLS handshake failed, pool at
     * its limit. Any request, idempotent or not, may be retried on another target.
     *
     * @param kind    classification
     * @param message what happened
     * @param cause   underlying error, or null
     * @return the exception
     */
    public static UpstreamException notSent(Kind kind, String message, Throwable cause) {
        return new UpstreamException(kind, message, cause, false);
    }

    /**
     * @return false when the request certainly never reached the target (safe to send elsewhere)
     */
    public boolean sent() {
        return sent;
    }

    /**
     * @return the classification
     */
    public Kind kind() {
        return kind;
    }
}
