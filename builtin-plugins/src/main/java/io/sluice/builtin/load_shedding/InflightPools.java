package io.sluice.builtin.load_shedding;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Metrics;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Counts of requests in flight by pool name, for the whole process. They outlive config snapshots: requests that
 * started under the previous config finish (and give back their place) in the same count as new ones.
 */
final class InflightPools {
    private static final ConcurrentHashMap<String, AtomicInteger> POOLS = new ConcurrentHashMap<>();

    private InflightPools() {
    }

    static AtomicInteger of(String pool) {
        return POOLS.computeIfAbsent(pool, p -> {
            AtomicInteger n = new AtomicInteger();
            Gauge.builder("sluice.inflight", n, AtomicInteger::get)
                    .description("requests in flight through a load-shedding pool").tag("pool", p)
                    .register(Metrics.globalRegistry);
            return n;
        });
    }
}
