package io.sluice.runtime.upstream;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * One target of an upstream as the balancer and the health checks see it: where it is, its weight, its
 * transport, and its live state (requests in flight, latency estimate, health). One instance per target per
 * upstream per data plane; it survives config changes that keep the target, so its state does too.
 */
public final class Endpoint {
    /** Decay time of the latency estimate (peak EWMA, as Finagle and Linkerd use). */
    static final long DECAY_NANOS = 10_000_000_000L;
    /** A target nobody has measured yet is assumed this slow, so that it is tried but not flooded. */
    static final double INITIAL_COST_NANOS = 1_000_000;

    private final String url;
    private final String basePath;
    private final Transport transport;
    private final AtomicInteger inflight = new AtomicInteger();
    private volatile int weight;
    // latency estimate (nanos) and when it was last updated: racy by design (a lost update of an estimate is
    // harmless, a lock or CAS per request is not)
    private volatile double ewmaNanos = INITIAL_COST_NANOS;
    private volatile long stampNanos = System.nanoTime();
    /** Health as the checks and passive ejection decide it; written by {@link TargetHealth}. */
    final TargetHealth health;

    /**
     * @param url       the target as configured or discovered ({@code http://10.0.0.5:8080/base})
     * @param basePath  path prefix of the URL ("" for none)
     * @param weight    relative weight, ≥ 1
     * @param transport how requests reach it
     */
    public Endpoint(String url, String basePath, int weight, Transport transport) {
        this.url = url;
        this.basePath = basePath;
        this.weight = weight;
        this.transport = transport;
        this.health = new TargetHealth(url);
    }

    /**
     * @return the target as configured or discovered
     */
    public String url() {
        return url;
    }

    /**
     * @return path prefix the request path is appended to ("" for none)
     */
    public String basePath() {
        return basePath;
    }

    /**
     * @return relative weight
     */
    public int weight() {
        return weight;
    }

    void weight(int w) {
        this.weight = w;
    }

    /**
     * @return how requests reach it
     */
    public Transport transport() {
        return transport;
    }

    /**
     * @return whether the balancer may send it requests: not marked unhealthy by the active checks and not
     * ejected by passive outlier detection
     */
    public boolean available() {
        return health.available();
    }

    /**
     * @return requests in flight through this data plane
     */
    public int inflight() {
        return inflight.get();
    }

    /** A request to it starts. */
    public void begin() {
        inflight.incrementAndGet();
    }

    /**
     * A request to it ended.
     *
     * @param nanos time from sending to the response head (or the failure)
     */
    public void end(long nanos) {
        inflight.decrementAndGet();
        observe(nanos, System.nanoTime());
    }

    /**
     * Peak EWMA: a sample above the estimate replaces it at once (a target turning slow is noticed on its first
     * slow answer), a lower one is blended in with weight {@code Δt / (Δt + τ)} (close to {@code 1 - e^(-Δt/τ)}
     * for the small Δt between requests, without the exponential).
     */
    void observe(long nanos, long now) {
        double rtt = Math.max(nanos, 1);
        double current = ewmaNanos;
        if (rtt >= current) {
            ewmaNanos = rtt;
        } else {
            double dt = Math.max(now - stampNanos, 0);
            double w = dt / (dt + DECAY_NANOS);
            ewmaNanos = current + (rtt - current) * w;
        }
        stampNanos = now;
    }

    /**
     * The latency-aware balancer's cost of sending one more request here: estimated latency times the requests
     * it would then have in flight.
     *
     * @return the cost (lower is better)
     */
    public double cost() {
        return ewmaNanos * (inflight.get() + 1);
    }

    /**
     * @return the latency estimate in nanoseconds
     */
    public double latencyNanos() {
        return ewmaNanos;
    }

    @Override
    public String toString() {
        return url;
    }
}
