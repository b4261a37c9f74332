package io.sluice.runtime.js;

/**
 * A script invocation was cancelled: it ran past a budget, or it could not run (quarantined, sandbox saturated).
 * The gateway answers with the plugin entry's {@code on_error}.
 */
public final class BudgetExceeded extends RuntimeException {
    /** What was exceeded. */
    public enum Kind {
        /** too many statements */
        STATEMENTS,
        /** wall-clock deadline */
        DEADLINE,
        /** allocation budget */
        MEMORY,
        /** the filter is quarantined after repeated breaches */
        QUARANTINED,
        /** no worker free within the deadline */
        SATURATED
    }

    private final Kind kind;

    BudgetExceeded(Kind kind, String message) {
        super(message, null, false, false);
        this.kind = kind;
    }

    /** @return what was exceeded */
    public Kind kind() {
        return kind;
    }
}
