package io.sluice.plugin;

import java.util.List;

/**
 * How a request ended, given to {@link Filter#onComplete} after the response was written (or the exchange broke
 * off). Times are nanoseconds; sizes are body bytes.
 *
 * @param status         status sent to the client; 0 when none could be sent (the client went away)
 * @param durationNanos  from the request's arrival at the gateway to the end of the response
 * @param upstreamNanos  from sending to the upstream until its response head arrived; -1 when not called
 * @param upstreamTarget the upstream target called ({@code http://host:port}), or null
 * @param requestBytes   request body bytes as declared or read; -1 when unknown (a streamed chunked body)
 * @param responseBytes  response body bytes as declared or sent; -1 when unknown
 * @param filters        time spent in each filter of the chain that ran (request and response side together)
 * @param error          null, or why the exchange did not complete normally ({@code upstream_timeout},
 *                       {@code upstream_error}, {@code client_aborted}, {@code filter_error})
 */
public record Completion(int status, long durationNanos, long upstreamNanos, String upstreamTarget,
                         long requestBytes, long responseBytes, List<FilterTime> filters, String error) {

    /**
     * Time one filter of the chain took.
     *
     * @param name  plugin name
     * @param nanos request-side plus response-side time
     */
    public record FilterTime(String name, long nanos) {
    }
}
