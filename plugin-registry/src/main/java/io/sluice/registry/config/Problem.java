package io.sluice.registry.config;

/**
 * One thing wrong with a config, pointing at the offending field.
 *
 * @param path    field path such as {@code routes[0].plugins[1].config.max_bytes} (empty for the whole document)
 * @param line    1-based line in the source text, or 0 when unknown
 * @param message  what is wrong
 * @param conflict whether it clashes with something else in the config (duplicate id, overlapping route)
 *                 rather than being malformed; the admin API answers 409 for those
 */
public record Problem(String path, int line, String message, boolean conflict) {

    /**
     * A malformed-value problem.
     *
     * @param path    field path
     * @param line    line or 0
     * @param message what is wrong
     */
    public Problem(String path, int line, String message) {
        this(path, line, message, false);
    }

    /**
     * @return this problem marked as a conflict
     */
    public Problem asConflict() {
        return new Problem(path, line, message, true);
    }

    /**
     * As the CLI prints it.
     *
     * @param file file name
     * @return {@code file:line: path: message}
     */
    public String format(String file) {
        return file + ":" + Math.max(line, 1) + ": " + (path.isEmpty() ? "" : path + ": ") + message;
    }
}
