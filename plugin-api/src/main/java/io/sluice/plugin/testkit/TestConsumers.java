package io.sluice.plugin.testkit;

import io.sluice.plugin.Consumer;
import io.sluice.plugin.Consumers;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A consumer directory for filter tests: consumers and their API keys, held in memory.
 */
public final class TestConsumers implements Consumers {
    private final Map<String, Consumer> byKey = new HashMap<>();
    private final Map<String, Consumer> byId = new HashMap<>();

    /**
     * Adds a consumer with one API key.
     *
     * @param id    consumer id
     * @param key   the API key in clear
     * @param tags  consumer tags
     * @return this
     */
    public TestConsumers add(String id, String key, String... tags) {
        String joined = String.join(",", List.of(tags));
        byId.put(id, new Consumer(id, Map.of("tags", joined)));
        byKey.put(key, new Consumer(id, Map.of("tags", joined, "credential", "key-" + byKey.size())));
        return this;
    }

    @Override
    public Optional<Consumer> byApiKey(String key) {
        return Optional.ofNullable(byKey.get(key));
    }

    @Override
    public Optional<Consumer> byId(String id) {
        return Optional.ofNullable(byId.get(id));
    }
}
