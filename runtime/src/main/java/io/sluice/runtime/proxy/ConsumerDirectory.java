package io.sluice.runtime.proxy;

import io.sluice.plugin.Consumer;
import io.sluice.plugin.Consumers;
import io.sluice.registry.admin.Secrets;
import io.sluice.registry.config.GatewayConfig.ApiKeySpec;
import io.sluice.registry.config.GatewayConfig.ConsumerSpec;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The consumers of one config snapshot, indexed by id and by API-key hash. A presented key is hashed
 * (SHA-256, as stored) and looked up; keys in clear exist nowhere in the gateway.
 *
 * <p>Immutable and updated copy-on-write ({@link #with}): the indexes are split into {@value #SHARDS} shards, and
 * a change copies only the shards it touches, so issuing one key among 50,000 copies a few hundred entries, not
 * 50,000, while requests in flight keep the directory they started with.
 */
public final class ConsumerDirectory implements Consumers {
    static final int SHARDS = 256;
    static final ConsumerDirectory EMPTY = new ConsumerDirectory(new Sharded<>(), new Sharded<>(), 0);

    private record Entry(Consumer consumer, ConsumerSpec spec) {
    }

    private final Sharded<Entry> byId;
    private final Sharded<Consumer> byHash;
    private final int size;

    private ConsumerDirectory(Sharded<Entry> byId, Sharded<Consumer> byHash, int size) {
        this.byId = byId;
        this.byHash = byHash;
        this.size = size;
    }

    static ConsumerDirectory of(List<ConsumerSpec> consumers) {
        Map<String, Optional<ConsumerSpec>> all = new HashMap<>();
        consumers.forEach(c -> all.put(c.id(), Optional.of(c)));
        return EMPTY.with(all);
    }

    /**
     * A directory with some consumers replaced, added or removed; this one is unchanged.
     *
     * @param changed consumers by id: the new spec with all its keys, or empty to remove
     * @return the new directory
     */
    ConsumerDirectory with(Map<String, Optional<ConsumerSpec>> changed) {
        Map<String, Entry> ids = new HashMap<>();
        Map<String, Consumer> hashes = new HashMap<>();
        Set<String> goneIds = new HashSet<>();
        Set<String> goneHashes = new HashSet<>();
        int n = size;
        for (Map.Entry<String, Optional<ConsumerSpec>> e : changed.entrySet()) {
            Entry old = byId.get(e.getKey());
            if (old != null) {
                old.spec().apiKeys().forEach(k -> goneHashes.add(k.hash()));
                goneIds.add(e.getKey());
                n--;
            }
            if (e.getValue().isPresent()) {
                ConsumerSpec c = e.getValue().get();
                String tags = String.join(",", c.tags());
                ids.put(c.id(), new Entry(new Consumer(c.id(), Map.of("tags", tags)), c));
                goneIds.remove(c.id());
                for (ApiKeySpec k : c.apiKeys()) {
                    hashes.put(k.hash(), new Consumer(c.id(), Map.of("tags", tags, "credential", k.id())));
                    goneHashes.remove(k.hash());
                }
                n++;
            }
        }
        return new ConsumerDirectory(byId.with(ids, goneIds), byHash.with(hashes, goneHashes), n);
    }

    /**
     * @return how many consumers it holds
     */
    public int size() {
        return size;
    }

    /**
     * @return the consumers' ids
     */
    public Set<String> ids() {
        Set<String> out = new HashSet<>();
        for (Map<String, Entry> shard : byId.shards) {
            out.addAll(shard.keySet());
        }
        return out;
    }

    @Override
    public Optional<Consumer> byApiKey(String key) {
        if (key == null || key.isEmpty() || key.length() > 512) {
            return Optional.empty();
        }
        return Optional.ofNullable(byHash.get(Secrets.hash(key)));
    }

    @Override
    public Optional<Consumer> byId(String id) {
        Entry e = byId.get(id);
        return e == null ? Optional.empty() : Optional.of(e.consumer());
    }

    /** A string-keyed map split into shards; {@link #with} copies only the shards a change touches. */
    private static final class Sharded<V> {
        final Map<String, V>[] shards;

        @SuppressWarnings("unchecked")
        Sharded() {
            shards = new Map[SHARDS];
            java.util.Arrays.fill(shards, Map.of());
        }

        private Sharded(Map<String, V>[] shards) {
            this.shards = shards;
        }

        private static int shard(String key) {
            int h = key.hashCode();
            return (h ^ (h >>> 16)) & (SHARDS - 1);
        }

        V get(String key) {
            return shards[shard(key)].get(key);
        }

        Sharded<V> with(Map<String, V> puts, Set<String> removes) {
            if (puts.isEmpty() && removes.isEmpty()) {
                return this;
            }
            Map<String, V>[] next = shards.clone();
            Map<Integer, Map<String, V>> copies = new HashMap<>();
            for (String k : removes) {
                copies.computeIfAbsent(shard(k), s -> new HashMap<>(shards[s])).remove(k);
            }
            puts.forEach((k, v) -> copies.computeIfAbsent(shard(k), s -> new HashMap<>(shards[s])).put(k, v));
            copies.forEach((s, m) -> next[s] = m);
            return new Sharded<>(next);
        }
    }
}
