package io.sluice.plugin;

import java.util.Map;
import java.util.Objects;

/**
 * An authenticated API consumer.
 *
 * @param id         the consumer id (from the registry, or a token subject)
 * @param attributes extra facts an auth filter established (scopes, claims)
 */
public record Consumer(String id, Map<String, String> attributes) {
    /**
     * Copies the attributes.
     */
    public Consumer {
        Objects.requireNonNull(id, "id");
        attributes = Map.copyOf(attributes);
    }

    /**
     * A consumer with no attributes.
     *
     * @param id the id
     * @return the consumer
     */
    public static Consumer of(String id) {
        return new Consumer(id, Map.of());
    }
}
