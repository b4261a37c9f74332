package io.sluice.plugin;

import java.util.Optional;

/**
 * The registry's API consumers, as of the config snapshot the request runs on. Auth filters use it to turn a
 * presented credential into a {@link Consumer}; the gateway only ever holds hashes of API keys.
 */
public interface Consumers {

    /** A directory with no consumers. */
    Consumers NONE = new Consumers() {
        @Override
        public Optional<Consumer> byApiKey(String key) {
            return Optional.empty();
        }

        @Override
        public Optional<Consumer> byId(String id) {
            return Optional.empty();
        }
    };

    /**
     * The consumer owning an API key.
     *
     * @param key the key as the client presented it
     * @return the consumer, with attributes {@code tags} (comma-separated) and {@code credential} (the key's
     *         id), or empty when no consumer has this key
     */
    Optional<Consumer> byApiKey(String key);

    /**
     * A consumer by id.
     *
     * @param id consumer id
     * @return the consumer, with attribute {@code tags}, or empty
     */
    Optional<Consumer> byId(String id);
}
