package io.sluice.plugin;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.Optional;

/**
 * Reads and edits a raw query string ({@code a=1&b=x%20y}) without re-encoding the pairs it keeps.
 */
public final class Query {
    private Query() {
    }

    /**
     * The first value of a parameter, decoded.
     *
     * @param rawQuery the query, without {@code ?}
     * @param name     parameter name (decoded form)
     * @return the decoded value ({@code ""} for {@code name} or {@code name=}), or empty if absent
     */
    public static Optional<String> first(String rawQuery, String name) {
        if (rawQuery == null || rawQuery.isEmpty()) {
            return Optional.empty();
        }
        for (String pair : rawQuery.split("&")) {
            int eq = pair.indexOf('=');
            if (!pair.isEmpty() && decode(eq < 0 ? pair : pair.substring(0, eq)).equals(name)) {
                return Optional.of(eq < 0 ? "" : decode(pair.substring(eq + 1)));
            }
        }
        return Optional.empty();
    }

    /**
     * The query without every occurrence of the named parameters (and without empty pairs).
     *
     * @param rawQuery the query, without {@code ?}
     * @param names    decoded parameter names
     * @return the remaining raw query, possibly empty
     */
    public static String remove(String rawQuery, Collection<String> names) {
        if (rawQuery == null || rawQuery.isEmpty()) {
            return "";
        }
        StringBuilder q = new StringBuilder(rawQuery.length());
        for (String pair : rawQuery.split("&")) {
            int eq = pair.indexOf('=');
            if (!pair.isEmpty() && !names.contains(decode(eq < 0 ? pair : pair.substring(0, eq)))) {
                q.append(q.isEmpty() ? "" : "&").append(pair);
            }
        }
        return q.toString();
    }

    private static String decode(String s) {
        try {
            return URLDecoder.decode(s, StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return s;   // a malformed escape is kept as written
        }
    }
}
