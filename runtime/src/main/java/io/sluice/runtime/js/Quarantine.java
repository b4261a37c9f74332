package io.sluice.runtime.js;

import java.util.ArrayDeque;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Counts budget breaches per filter version ({@code name@version}) in a sliding window; at {@code threshold}
 * breaches within the window the filter is quarantined: its invocations are refused (the entry's
 * {@code on_error} applies) without running, until an operator re-enables it. A new version is a new key, so
 * attaching one takes effect at once. Reads on the request path are one map lookup.
 */
public final class Quarantine {
    private final int threshold;
    private final long windowNanos;
    private final Map<String, ArrayDeque<Long>> recent = new ConcurrentHashMap<>();
    private final Set<String> quarantined = ConcurrentHashMap.newKeySet();

    /**
     * @param threshold breaches that quarantine a filter
     * @param windowMs  the window they must fall in
     */
    public Quarantine(int threshold, long windowMs) {
        this.threshold = threshold;
        this.windowNanos = TimeUnit.MILLISECONDS.toNanos(windowMs);
    }

    /** Defaults: 5 breaches within 60 s. */
    public static Quarantine defaults() {
        return new Quarantine(5, 60_000);
    }

    /**
     * Records a breach.
     *
     * @return true if this breach quarantined the filter
     */
    boolean breach(String key) {
        long now = System.nanoTime();
        ArrayDeque<Long> q = recent.computeIfAbsent(key, k -> new ArrayDeque<>());
        synchronized (q) {   // breaches only: never on the path of a healthy request
            q.addLast(now);
            while (!q.isEmpty() && now - q.peekFirst() > windowNanos) {
                q.removeFirst();
            }
            if (q.size() >= threshold && quarantined.add(key)) {
                q.clear();
                return true;
            }
            return false;
        }
    }

    /**
     * @param key {@code name@version}
     * @return whether invocations are refused
     */
    public boolean isQuarantined(String key) {
        return !quarantined.isEmpty() && quarantined.contains(key);
    }

    /**
     * Re-enables a filter.
     *
     * @param key {@code name@version}
     * @return whether it was quarantined
     */
    public boolean release(String key) {
        recent.remove(key);
        return quarantined.remove(key);
    }

    /** @return quarantined keys, sorted */
    public Set<String> quarantined() {
        return new TreeSet<>(quarantined);
    }
}
