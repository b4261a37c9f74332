package io.sluice.plugin;

import java.util.Map;
import java.util.Objects;

/**
 * The route a request matched.
 *
 * @param id     route id
 * @param params values of the path's {@code {param}} segments, and {@code **} for the wildcard rest
 */
public record RouteInfo(String id, Map<String, String> params) {
    /**
     * Copies the params.
     */
    public RouteInfo {
        Objects.requireNonNull(id, "id");
        params = Map.copyOf(params);
    }
}
