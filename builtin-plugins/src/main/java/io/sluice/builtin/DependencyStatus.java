package io.sluice.builtin;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The external services built-in plugins connect to (rate-limit's Redis, kafka-logger's brokers) and whether each
 * answers, for the runtime's dependency report ({@code /ready}, {@code sluice_dependency_up}). A plugin registers
 * a probe when it first connects to a service, process-wide like the connection itself; the runtime calls
 * {@link #check()} every few seconds. Only services some config actually uses are ever registered.
 *
 * <p>A probe answers from what the plugin already knows (its connection, its last delivery) or with one short
 * bounded request; it never throws.
 */
public final class DependencyStatus {
    /** Rate-limit's Redis ({@code policy: redis}). */
    public static final String REDIS_RATE_LIMIT = "redis_rate_limit";
    /** Kafka-logger's brokers. */
    public static final String KAFKA = "kafka";

    private static final Map<Key, Supplier<State>> PROBES = new ConcurrentHashMap<>();

    private DependencyStatus() {
    }

    /**
     * Whether a service answers.
     *
     * @param up     whether it does
     * @param reason why not, empty when up
     */
    public record State(boolean up, Optional<String> reason) {
        /** The state of a service that answers. */
        public static final State UP = new State(true, Optional.empty());

        /**
         * @param reason why it does not answer
         * @return the state of a service that does not
         */
        public static State down(String reason) {
            return new State(false, Optional.of(reason));
        }

        /**
         * A failure's message and its causes', for a reason (Lettuce says "Unable to connect to host:port",
         * its cause says why).
         *
         * @param e the failure
         * @return its messages joined with ": "
         */
        public static String reason(Throwable e) {
            StringBuilder b = new StringBuilder();
            for (Throwable t = e; t != null && b.length() < 300; t = t.getCause()) {
                String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
                if (!b.toString().contains(m)) {
                    b.append(b.isEmpty() ? "" : ": ").append(m);
                }
            }
            return b.toString();
        }
    }

    private record Key(String dependency, String target) implements Comparable<Key> {
        @Override
        public int compareTo(Key o) {
            int c = dependency.compareTo(o.dependency);
            return c != 0 ? c : target.compareTo(o.target);
        }
    }

    /**
     * Registers (or replaces) the probe of one service.
     *
     * @param dependency {@link #REDIS_RATE_LIMIT} or {@link #KAFKA}
     * @param target     which service, as it may be logged (no password)
     * @param probe      its state now
     */
    public static void register(String dependency, String target, Supplier<State> probe) {
        PROBES.put(new Key(dependency, target), probe);
    }

    /**
     * Forgets a service no plugin uses any more.
     *
     * @param dependency its dependency
     * @param target     which service
     */
    public static void unregister(String dependency, String target) {
        PROBES.remove(new Key(dependency, target));
    }

    /**
     * Probes every registered service. A dependency is up when each of its services is; a reason names the
     * service it is about.
     *
     * @return state per dependency, for the dependencies some plugin uses
     */
    public static Map<String, State> check() {
        Map<String, List<String>> failures = new TreeMap<>();
        for (Map.Entry<Key, Supplier<State>> e : new TreeMap<>(PROBES).entrySet()) {
            List<String> reasons = failures.computeIfAbsent(e.getKey().dependency(), d -> new ArrayList<>());
            State s;
            try {
                s = e.getValue().get();
            } catch (RuntimeException ex) {
                s = State.down(State.reason(ex));
            }
            if (!s.up()) {
                reasons.add(e.getKey().target() + ": " + s.reason().orElse("down"));
            }
        }
        Map<String, State> states = new TreeMap<>();
        failures.forEach((d, r) -> states.put(d, r.isEmpty() ? State.UP : State.down(String.join("; ", r))));
        return states;
    }
}
