package io.sluice.runtime.proxy;

import io.sluice.plugin.Consumer;
import io.sluice.plugin.Consumers;
import io.sluice.registry.admin.Secrets;
import io.sluice.registry.config.GatewayConfig.ApiKeySpec;
import io.sluice.registry.config.GatewayConfig.ConsumerSpec;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The consumers of one config snapshot, indexed by id and by API-key hash. A presented key is hashed
 * (SHA-256, as stored) and looked up; keys in clear exist nowhere in the gateway.
 */
final class ConsumerDirectory implements Consumers {
    private final Map<String, Consumer> byHash;
    private final Map<String, Consumer> byId;

    private ConsumerDirectory(Map<String, Consumer> byHash, Map<String, Consumer> byId) {
        this.byHash = byHash;
        this.byId = byId;
    }

    static Consumers of(List<ConsumerSpec> consumers) {
        if (consumers.isEmpty()) {
            return Consumers.NONE;
        }
        Map<String, Consumer> byHash = new HashMap<>();
        Map<String, Consumer> byId = new HashMap<>();
        for (ConsumerSpec c : consumers) {
            String tags = String.join(",", c.tags());
            byId.put(c.id(), new Consumer(c.id(), Map.of("tags", tags)));
            for (ApiKeySpec k : c.apiKeys()) {
                byHash.put(k.hash(), new Consumer(c.id(), Map.of("tags", tags, "credential", k.id())));
            }
        }
        return new ConsumerDirectory(Map.copyOf(byHash), Map.copyOf(byId));
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
        return Optional.ofNullable(byId.get(id));
    }
}
