package io.sluice.runtime.observe;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.sluice.runtime.upstream.Upstream;
import io.sluice.runtime.upstream.Upstreams;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * Upstream health as the admin API and the metrics show it: per target, its state ({@code healthy},
 * {@code unhealthy}, {@code ejected}) and why. Health is this data plane's own judgement.
 */
public final class UpstreamHealthView {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final MultiGauge STATE = MultiGauge.builder("sluice.upstream.target.healthy")
            .description("1 when the target is in rotation on this data plane (not unhealthy by active checks, not"
                    + " ejected by passive outlier detection), else 0; tagged with its state")
            .register(Telemetry.registry());
    private static final MultiGauge INFLIGHT = MultiGauge.builder("sluice.upstream.target.inflight")
            .description("requests in flight to the target from this data plane")
            .register(Telemetry.registry());

    private UpstreamHealthView() {
    }

    /**
     * @param u       the upstream
     * @param version the config version this data plane serves
     * @return {@code {"id", "version", "targets": [{"url", "weight", "state", "reason", "since", ...}]}}
     */
    public static ObjectNode json(Upstream u, long version) {
        ObjectNode out = JSON.createObjectNode();
        out.put("id", u.key().substring(u.key().indexOf(':') + 1));
        out.put("version", version);
        out.put("balancer", u.spec().balancer());
        u.discoveryError().ifPresent(e -> out.put("discovery_error", e + " (the last good answer is kept)"));
        ArrayNode targets = out.putArray("targets");
        for (Upstream.TargetStatus t : u.health()) {
            ObjectNode n = targets.addObject();
            n.put("url", t.url());
            n.put("weight", t.weight());
            n.put("state", t.state().wire());
            n.put("reason", t.reason());
            n.put("since", Instant.ofEpochMilli(t.sinceMillis()).toString());
            n.put("ejections", t.ejections());
            n.put("inflight", t.inflight());
            n.put("latency_ms", Math.round(t.latencyNanos() / 10_000.0) / 100.0);
        }
        return out;
    }

    /**
     * Refreshes the per-target gauges (before a scrape).
     *
     * @param upstreams the data plane's upstreams
     */
    public static void refresh(Upstreams upstreams) {
        List<MultiGauge.Row<?>> state = new ArrayList<>();
        List<MultiGauge.Row<?>> inflight = new ArrayList<>();
        for (Upstream u : upstreams.all()) {
            for (Upstream.TargetStatus t : u.health()) {
                Tags tags = Tags.of("upstream", u.key(), "target", t.url());
                state.add(MultiGauge.Row.of(tags.and("state", t.state().wire()),
                        t.state() == io.sluice.runtime.upstream.TargetHealth.State.HEALTHY ? 1 : 0));
                inflight.add(MultiGauge.Row.of(tags, t.inflight()));
            }
        }
        STATE.register(state, true);
        INFLIGHT.register(inflight, true);
    }
}
