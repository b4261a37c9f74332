package io.sluice.runtime.observe;

import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.time.Duration;

/**
 * The process's metrics: one Prometheus registry, also added to Micrometer's global registry so that built-in
 * plugins record into it through {@link Metrics} without depending on the runtime. Served as Prometheus text at
 * {@code GET /metrics} on the admin port. Metrics are per process (several nodes in one JVM share them).
 */
public final class Telemetry {
    /** Latency buckets of every Sluice timer (Prometheus histograms with fixed, comparable buckets). */
    public static final Duration[] BUCKETS = {
            Duration.ofMillis(1), Duration.ofMillis(2), Duration.ofMillis(5), Duration.ofMillis(10),
            Duration.ofMillis(25), Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250),
            Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofMillis(2500), Duration.ofSeconds(5),
            Duration.ofSeconds(10)};
    /** Tag value for requests that matched no route. */
    public static final String NO_ROUTE = "";

    private static final PrometheusMeterRegistry REGISTRY = create();

    private Telemetry() {
    }

    private static PrometheusMeterRegistry create() {
        PrometheusMeterRegistry r = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new JvmMemoryMetrics().bindTo(r);
        new JvmGcMetrics().bindTo(r);
        new JvmThreadMetrics().bindTo(r);
        new ProcessorMetrics().bindTo(r);
        new UptimeMetrics().bindTo(r);
        Metrics.addRegistry(r);
        return r;
    }

    /**
     * @return the registry (also reachable as Micrometer's global registry)
     */
    public static PrometheusMeterRegistry registry() {
        return REGISTRY;
    }

    /**
     * Registers a gauge read from {@code owner} (held weakly: a closed gateway's gauge goes away with it). The
     * latest registration of a name wins, so the gauge follows the newest node in a process that starts several.
     *
     * @param name        metric name
     * @param description what it measures
     * @param owner       the object read
     * @param value       how to read it
     * @param <T>         owner type
     */
    public static <T> void gauge(String name, String description, T owner, java.util.function.ToDoubleFunction<T> value) {
        io.micrometer.core.instrument.Meter old = REGISTRY.find(name).gauge();
        if (old != null) {
            REGISTRY.remove(old);
        }
        io.micrometer.core.instrument.Gauge.builder(name, owner, value).description(description).register(REGISTRY);
    }

    /**
     * @return every metric in the Prometheus text format
     */
    public static String scrape() {
        return REGISTRY.scrape();
    }
}
