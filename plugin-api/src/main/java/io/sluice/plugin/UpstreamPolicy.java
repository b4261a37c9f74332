package io.sluice.plugin;

/**
 * Implemented by a {@link Filter} that also governs the calls its route makes to upstream targets (circuit
 * breaking, bulkheads, retries). For each attempt the gateway asks every policy of the chain, in chain order,
 * before calling the chosen target, and reports the attempt's result to each after it.
 *
 * <p>A retry is made only when a policy asks for one and the request can be sent again (its body, if any, was
 * buffered); a retry may go to another target of the group (one not tried yet is preferred).
 *
 * <p>Policies take part in choosing the target: when one refuses an attempt ({@link Attempt#refused()}, an open
 * circuit for example), the gateway picks another target of the upstream that this request has not tried, and
 * sends the refusal only when none is left. So {@code begin} may be called several times for one request, with
 * different targets, before anything is sent; {@code attempt} counts the attempts actually sent plus one.
 */
public interface UpstreamPolicy {

    /**
     * Before an attempt.
     *
     * @param exchange the request
     * @param target   the target chosen for this attempt ({@code http://host:port} as configured)
     * @param attempt  1 until a first attempt was sent, 2 for the first retry, ...
     * @return the attempt's ticket; {@link Attempt#refused()} non-null to answer without calling
     */
    Attempt begin(Exchange exchange, String target, int attempt);

    /** One attempt at a target, as a policy sees it. */
    interface Attempt {
        /**
         * @return null to go ahead, or the response to send instead of calling (for example 503 circuit open);
         * the policies asked before this one are told the attempt ended with {@link #abandoned()}
         */
        Outcome.Respond refused();

        /**
         * The attempt got a response head.
         *
         * @param status the upstream's status
         * @param nanos  time from sending to the response head
         * @return true to ask for a retry (the response is discarded if some policy retries and a retry is possible)
         */
        boolean completed(int status, long nanos);

        /**
         * The attempt failed without a response (connection refused or reset, timeout).
         *
         * @param timedOut whether the response timeout passed
         * @param nanos    time from sending to the failure
         * @return true to ask for a retry
         */
        boolean failed(boolean timedOut, long nanos);

        /** The attempt was not made (another policy refused it): release whatever {@code begin} took. */
        void abandoned();
    }
}
