package io.sluice.registry.admin;

import io.sluice.registry.config.Problem;

import java.util.List;

/**
 * An admin request that cannot be served, answered as
 * {@code {"error": code, "message": ..., "details": [{"path", "message"}]}}.
 */
public final class ApiError extends RuntimeException {
    private final int status;
    private final String code;
    private final transient List<Problem> details;

    /**
     * @param status  HTTP status
     * @param code    snake_case error code
     * @param message human text
     * @param details offending fields (may be empty)
     */
    public ApiError(int status, String code, String message, List<Problem> details) {
        super(message);
        this.status = status;
        this.code = code;
        this.details = List.copyOf(details);
    }

    /**
     * @param status  HTTP status
     * @param code    snake_case error code
     * @param message human text
     */
    public ApiError(int status, String code, String message) {
        this(status, code, message, List.of());
    }

    /**
     * @return HTTP status
     */
    public int status() {
        return status;
    }

    /**
     * @return snake_case error code
     */
    public String code() {
        return code;
    }

    /**
     * @return offending fields
     */
    public List<Problem> details() {
        return details;
    }
}
