package io.sluice.runtime.observe;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.sluice.builtin.DependencyStatus;
import io.sluice.builtin.DependencyStatus.State;
import io.sluice.registry.distribution.ConfigFollower;
import io.sluice.registry.store.Store;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The external services this node uses and whether each answers: the config store (PostgreSQL), Redis for config
 * notices, and what built-in plugins connect to ({@link DependencyStatus}: rate-limit's Redis, kafka-logger's
 * brokers). Only what is configured is listed; the embedded store is part of the process and is not.
 *
 * <p>Checked at start and then every {@link #INTERVAL} on one daemon thread, each check bounded (about 1–2 s).
 * A change of state is logged once: WARNING with the reason when a dependency goes down, INFO when it is back.
 * States are exported as {@code sluice_dependency_up{dependency}} (1 or 0) and in {@code /ready}. They inform;
 * readiness itself does not follow them (a data plane with a snapshot keeps serving with its store down).
 */
public final class Dependencies implements AutoCloseable {
    /** The config store (PostgreSQL). */
    public static final String STORE = "store";
    /** Redis for config notices: the publisher's (control plane, standalone) or the follower's subscription. */
    public static final String REDIS_CONFIG = "redis_config";
    /** Time between two checks. */
    public static final Duration INTERVAL = Duration.ofSeconds(2);
    private static final Logger LOG = Logger.getLogger(Dependencies.class.getName());
    private static final String METRIC = "sluice.dependency.up";

    private final Map<String, Check> checks;
    private final Supplier<Map<String, State>> plugins;
    private final List<AutoCloseable> resources;
    private final Map<String, Gauge> gauges = new HashMap<>();
    private volatile Map<String, State> current = Map.of();
    private final AtomicLong rounds = new AtomicLong();
    private volatile boolean closed;
    private Thread thread;

    /** One dependency's probe and what it is, for the log. */
    private record Check(String target, Supplier<State> probe) {
    }

    private Dependencies(Map<String, Check> checks, Supplier<Map<String, State>> plugins,
                         List<AutoCloseable> resources) {
        this.checks = checks;
        this.plugins = plugins;
        this.resources = resources;
    }

    /**
     * Checks a node's dependencies once and keeps checking them in the background.
     *
     * @param store    the store, if it is an external one (PostgreSQL)
     * @param redisUrl Redis for config notices, if used
     * @param follower a data plane's follower (its subscription is part of {@code redis_config}), if any
     * @return the running checker
     */
    public static Dependencies start(Optional<Store> store, Optional<String> redisUrl,
                                     Optional<ConfigFollower> follower) {
        Map<String, Check> checks = new LinkedHashMap<>();
        List<AutoCloseable> resources = new ArrayList<>();
        store.ifPresent(s -> checks.put(STORE, new Check(s.description(), () -> {
            try {
                s.ping();
                return State.UP;
            } catch (RuntimeException e) {
                return State.down(State.reason(e));
            }
        })));
        redisUrl.ifPresent(url -> {
            RedisPing ping = new RedisPing(url);
            resources.add(ping);
            checks.put(REDIS_CONFIG, new Check(RedisPing.loggable(url), () -> {
                State s = ping.check();
                if (s.up() && follower.isPresent() && !follower.get().subscribed()) {
                    return State.down("Redis answers but the subscription to config notices is not open yet");
                }
                return s;
            }));
        });
        return start(checks, DependencyStatus::check, resources);
    }

    private static Dependencies start(Map<String, Check> checks, Supplier<Map<String, State>> plugins,
                              List<AutoCloseable> resources) {
        Dependencies d = new Dependencies(checks, plugins, resources);
        d.checkAll();
        d.thread = Thread.ofPlatform().daemon().name("sluice-dependencies").start(d::run);
        return d;
    }

    /**
     * @return each listed dependency's state at the last check, in a stable order (store, redis_config, then
     * plugins' by name)
     */
    public Map<String, State> states() {
        return current;
    }

    /** @return checks completed so far (for tests that wait for the next one) */
    long rounds() {
        return rounds.get();
    }

    private void run() {
        while (!closed) {
            try {
                Thread.sleep(INTERVAL);
            } catch (InterruptedException e) {
                return;
            }
            if (closed) {
                return;
            }
            try {
                checkAll();
            } catch (RuntimeException e) {   // a probe that throws must not end the checks
                LOG.log(Level.WARNING, "dependency check failed", e);
            }
        }
    }

    private synchronized void checkAll() {
        Map<String, State> next = new LinkedHashMap<>();
        Map<String, String> targets = new HashMap<>();
        checks.forEach((name, c) -> {
            State s;
            try {
                s = c.probe().get();
            } catch (RuntimeException e) {
                s = State.down(State.reason(e));
            }
            next.put(name, s);
            targets.put(name, " (" + c.target() + ")");
        });
        plugins.get().forEach(next::putIfAbsent);
        if (closed) {
            return;
        }
        Map<String, State> previous = current;
        next.forEach((name, s) -> {
            State old = previous.get(name);
            String what = "dependency " + name + targets.getOrDefault(name, "");
            if (!s.up() && (old == null || old.up())) {
                LOG.warning(what + " is down: " + s.reason().orElse("no reason given"));
            } else if (s.up() && old != null && !old.up()) {
                LOG.info(what + " is up again");
            } else if (s.up() && old == null) {
                LOG.fine(what + " is up");
            }
        });
        current = java.util.Collections.unmodifiableMap(next);
        rounds.incrementAndGet();
        next.keySet().forEach(this::gauge);
        for (String gone : new ArrayList<>(gauges.keySet())) {
            if (!next.containsKey(gone)) {
                remove(gauges.remove(gone));
            }
        }
    }

    // the latest node to register a dependency's gauge wins, as with Telemetry.gauge
    private void gauge(String name) {
        if (gauges.containsKey(name)) {
            return;
        }
        Meter old = Telemetry.registry().find(METRIC).tag("dependency", name).gauge();
        if (old != null) {
            Telemetry.registry().remove(old);
        }
        gauges.put(name, Gauge.builder(METRIC, this, d -> {
                    State s = d.current.get(name);
                    return s != null && s.up() ? 1 : 0;
                })
                .description("1 while an external service this node uses answers, 0 while it does not"
                        + " (store, redis_config, redis_rate_limit, kafka; only those configured)")
                .tag("dependency", name)
                .strongReference(true)
                .register(Telemetry.registry()));
    }

    private static void remove(Gauge g) {
        if (Telemetry.registry().find(METRIC).tags(g.getId().getTags()).gauge() == g) {
            Telemetry.registry().remove(g);
        }
    }

    @Override
    public void close() {
        closed = true;
        if (thread != null) {
            thread.interrupt();
            try {
                thread.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        synchronized (this) {
            gauges.values().forEach(Dependencies::remove);
            gauges.clear();
        }
        for (AutoCloseable r : resources) {
            try {
                r.close();
            } catch (Exception e) {
                LOG.log(Level.FINE, "closing " + r, e);
            }
        }
    }
}
