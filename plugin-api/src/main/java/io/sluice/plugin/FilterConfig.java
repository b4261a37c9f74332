package io.sluice.plugin;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A filter's config: the JSON object from the route's plugin entry, already validated against the filter's
 * schema. Values are JSON-shaped Java values: {@code String}, {@code Number}, {@code Boolean},
 * {@code List<Object>}, {@code Map<String, Object>}.
 *
 * @param values the config object
 */
public record FilterConfig(Map<String, Object> values) {

    /**
     * Copies the top level.
     */
    public FilterConfig {
        // not Map.copyOf: JSON null is a legal config value
        values = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(values));
    }

    /**
     * A config from a map.
     *
     * @param values the config object
     * @return the config
     */
    public static FilterConfig of(Map<String, Object> values) {
        return new FilterConfig(values);
    }

    /**
     * An empty config.
     *
     * @return the config
     */
    public static FilterConfig empty() {
        return new FilterConfig(Map.of());
    }

    /**
     * A string value.
     *
     * @param key top-level key
     * @return the value, empty if absent
     * @throws IllegalArgumentException if present but not a string
     */
    public Optional<String> string(String key) {
        return typed(key, String.class);
    }

    /**
     * A number as {@code long}.
     *
     * @param key top-level key
     * @return the value, empty if absent
     */
    public Optional<Long> integer(String key) {
        return typed(key, Number.class).map(Number::longValue);
    }

    /**
     * A number as {@code double}.
     *
     * @param key top-level key
     * @return the value, empty if absent
     */
    public Optional<Double> number(String key) {
        return typed(key, Number.class).map(Number::doubleValue);
    }

    /**
     * A boolean.
     *
     * @param key top-level key
     * @return the value, empty if absent
     */
    public Optional<Boolean> bool(String key) {
        return typed(key, Boolean.class);
    }

    /**
     * A nested object.
     *
     * @param key top-level key
     * @return the object as a config, empty if absent
     */
    @SuppressWarnings("unchecked")
    public Optional<FilterConfig> object(String key) {
        return typed(key, Map.class).map(m -> new FilterConfig((Map<String, Object>) m));
    }

    /**
     * A list.
     *
     * @param key top-level key
     * @return the list, empty list if absent
     */
    @SuppressWarnings("unchecked")
    public List<Object> list(String key) {
        return typed(key, List.class).map(l -> (List<Object>) l).orElse(List.of());
    }

    private <T> Optional<T> typed(String key, Class<T> type) {
        Object v = values.get(key);
        if (v == null) {
            return Optional.empty();
        }
        if (!type.isInstance(v)) {
            throw new IllegalArgumentException("config '" + key + "' must be a " + type.getSimpleName().toLowerCase()
                    + ", is " + v.getClass().getSimpleName());
        }
        return Optional.of(type.cast(v));
    }
}
