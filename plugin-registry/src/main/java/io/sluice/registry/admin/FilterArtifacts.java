package io.sluice.registry.admin;

import io.sluice.registry.config.Problem;

import java.util.List;

/**
 * What the registry needs from the runtime to accept an uploaded filter: inspection of the artifact itself (the
 * runtime owns the JavaScript engine and the plugin loader), so that name, version and config schema come from the
 * artifact, never from the request.
 */
public interface FilterArtifacts {

    /**
     * An artifact that loaded.
     *
     * @param kind        {@code js} or {@code jar}
     * @param name        filter name
     * @param version     semantic version
     * @param schema      JSON Schema of its config
     * @param description one line
     */
    record Inspected(String kind, String name, String version, String schema, String description) {
    }

    /** An artifact that did not load; problems carry the script's line where known. */
    final class Invalid extends Exception {
        private final List<Problem> problems;

        /**
         * @param problems what is wrong
         */
        public Invalid(List<Problem> problems) {
            super(problems.getFirst().message(), null, false, false);
            this.problems = List.copyOf(problems);
        }

        /** @return what is wrong */
        public List<Problem> problems() {
            return problems;
        }
    }

    /**
     * An inspection that could not finish: the artifact's code ran past the inspection deadline, or too many
     * inspections are running. Says nothing about whether the artifact is usable.
     */
    final class InspectionFailed extends Exception {
        private final int status;
        private final String code;

        /**
         * @param status  HTTP status to answer
         * @param code    snake_case error code
         * @param message human text
         */
        public InspectionFailed(int status, String code, String message) {
            super(message, null, false, false);
            this.status = status;
            this.code = code;
        }

        /** @return HTTP status to answer */
        public int status() {
            return status;
        }

        /** @return snake_case error code */
        public String code() {
            return code;
        }
    }

    /**
     * Inspects an upload. The artifact's code never runs on the calling thread: a jar is inspected in a
     * short-lived child process, a script on a bounded sandbox thread, both under a deadline.
     *
     * @param contentType the request's media type (without parameters), lower case
     * @param content     the bytes
     * @return what it is
     * @throws Invalid          when it cannot be used
     * @throws InspectionFailed when the inspection did not finish (deadline) or could not start (busy)
     */
    Inspected inspect(String contentType, byte[] content) throws Invalid, InspectionFailed;

    /**
     * Whether a filter version is quarantined on this node after repeated budget breaches.
     *
     * @param name    filter name
     * @param version version
     * @return quarantined
     */
    boolean quarantined(String name, String version);

    /**
     * Lifts a quarantine on this node.
     *
     * @param name    filter name
     * @param version version
     * @return whether it was quarantined
     */
    boolean release(String name, String version);
}
