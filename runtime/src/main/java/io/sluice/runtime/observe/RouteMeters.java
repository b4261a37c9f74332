package io.sluice.runtime.observe;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Timer;

/**
 * A route's meters, resolved once and kept with the compiled route so that a request records without looking
 * meters up by name: requests by status, upstream latency, and each filter's time and errors. Meters register on
 * first use (a config that is only validated registers nothing).
 *
 * <ul>
 *     <li>{@code sluice_requests_seconds{route, status}}: gateway latency, a histogram (count = requests)</li>
 *     <li>{@code sluice_upstream_seconds{route}}: time to the upstream's response head</li>
 *     <li>{@code sluice_filter_seconds{route, filter}}: time in each filter (both sides)</li>
 *     <li>{@code sluice_filter_errors_total{route, filter, phase}}: filter failures (on_error applied)</li>
 *     <li>{@code sluice_aggregate_calls_seconds{route, call, outcome}}: each call of an aggregate route</li>
 * </ul>
 */
public final class RouteMeters {
    private final String route;
    private final String[] filters;
    private final Timer[] byStatus = new Timer[600];
    private final Timer[] filterTimers;
    private volatile Timer upstream;
    private final java.util.concurrent.ConcurrentHashMap<String, Timer> calls = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * @param route   route id ({@link Telemetry#NO_ROUTE} for requests that matched none)
     * @param filters plugin names of the chain, in order
     */
    public RouteMeters(String route, String[] filters) {
        this.route = route;
        this.filters = filters.clone();
        this.filterTimers = new Timer[filters.length];
    }

    /**
     * Records a finished request.
     *
     * @param status status sent (0 when none)
     * @param nanos  gateway latency
     */
    public void request(int status, long nanos) {
        int s = status >= 0 && status < byStatus.length ? status : 0;
        Timer t = byStatus[s];
        if (t == null) {
            // racy by design: Micrometer returns the same timer for the same name and tags
            t = Timer.builder("sluice.requests").description("requests handled by the proxy")
                    .tags("route", route, "status", Integer.toString(s))
                    .serviceLevelObjectives(Telemetry.BUCKETS).register(Telemetry.registry());
            byStatus[s] = t;
        }
        t.record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    /**
     * @param nanos time to the upstream's response head
     */
    public void upstream(long nanos) {
        Timer t = upstream;
        if (t == null) {
            t = Timer.builder("sluice.upstream").description("time until the upstream's response head")
                    .tags("route", route).serviceLevelObjectives(Telemetry.BUCKETS).register(Telemetry.registry());
            upstream = t;
        }
        t.record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    /**
     * @param index position in the chain
     * @param nanos time the filter took for this request
     */
    public void filter(int index, long nanos) {
        Timer t = filterTimers[index];
        if (t == null) {
            t = Timer.builder("sluice.filter").description("time spent in a filter, request and response side")
                    .tags("route", route, "filter", filters[index])
                    .serviceLevelObjectives(Telemetry.BUCKETS).register(Telemetry.registry());
            filterTimers[index] = t;
        }
        t.record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    /**
     * @param index position in the chain
     * @param phase {@code onRequest}, {@code onResponse} or {@code onComplete}
     */
    public void filterError(int index, String phase) {
        Counter.builder("sluice.filter.errors").description("filter failures; the entry's on_error applied")
                .tags("route", route, "filter", filters[index], "phase", phase)
                .register(Telemetry.registry()).increment();
    }

    /**
     * Records one call of an aggregate route.
     *
     * @param call    the call's name
     * @param outcome {@code ok}, or why it failed ({@code gateway_timeout}, {@code cancelled}, ...)
     * @param nanos   from the fan-out's start (or the call's send) to its end, or to when it was given up
     */
    public void aggregateCall(String call, String outcome, long nanos) {
        String key = call + '|' + outcome;
        Timer t = calls.get(key);
        if (t == null) {
            t = calls.computeIfAbsent(key, k -> Timer.builder("sluice.aggregate.calls")
                    .description("calls of aggregate routes, by outcome")
                    .tags("route", route, "call", call, "outcome", outcome)
                    .serviceLevelObjectives(Telemetry.BUCKETS).register(Telemetry.registry()));
        }
        t.record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    }
}
