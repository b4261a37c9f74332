package io.sluice.registry.config;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A route path pattern: {@code /literal/{param}/**}. Literal segments, {@code {name}} segments matching one
 * segment, and a trailing {@code **} matching any rest (including nothing).
 *
 * @param text     the pattern as written
 * @param segments parsed segments
 */
public record PathPattern(String text, List<Segment> segments) {

    private static final Pattern PARAM_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    private static final Pattern LITERAL = Pattern.compile("[A-Za-z0-9\\-._~!$&'()*+,;=:@%]+");

    /** One segment of a pattern. */
    public sealed interface Segment permits Literal, Param, Rest {
    }

    /** @param value the exact segment text */
    public record Literal(String value) implements Segment {
    }

    /** @param name parameter name */
    public record Param(String name) implements Segment {
    }

    /** The trailing {@code **}. */
    public record Rest() implements Segment {
    }

    /**
     * Parses a pattern.
     *
     * @param text pattern text
     * @return the pattern
     * @throws IllegalArgumentException with a message fit for a user
     */
    public static PathPattern parse(String text) {
        if (text == null || !text.startsWith("/")) {
            throw new IllegalArgumentException("path pattern must start with '/': " + text);
        }
        List<Segment> segments = new ArrayList<>();
        if (text.equals("/")) {
            return new PathPattern(text, List.of());
        }
        String[] parts = text.substring(1).split("/", -1);
        List<String> paramNames = new ArrayList<>();
        for (int i = 0; i < parts.length; i++) {
            String p = parts[i];
            boolean last = i == parts.length - 1;
            if (p.equals("**")) {
                if (!last) {
                    throw new IllegalArgumentException("'**' is only allowed as the last segment: " + text);
                }
                segments.add(new Rest());
            } else if (p.startsWith("{") && p.endsWith("}")) {
                String name = p.substring(1, p.length() - 1);
                if (!PARAM_NAME.matcher(name).matches()) {
                    throw new IllegalArgumentException("bad parameter name '" + name + "' in " + text);
                }
                if (paramNames.contains(name)) {
                    throw new IllegalArgumentException("parameter '" + name + "' appears twice in " + text);
                }
                paramNames.add(name);
                segments.add(new Param(name));
            } else if (p.isEmpty()) {
                if (!last) {
                    throw new IllegalArgumentException("empty segment in " + text);
                }
                segments.add(new Literal(""));   // trailing slash is significant: /a/ differs from /a
            } else if (!LITERAL.matcher(p).matches() || p.contains("{") || p.contains("}")) {
                throw new IllegalArgumentException("bad segment '" + p + "' in " + text
                        + " (use {name} for a parameter, ** only at the end)");
            } else {
                segments.add(new Literal(p));
            }
        }
        return new PathPattern(text, List.copyOf(segments));
    }

    /**
     * The pattern with parameter names erased, for conflict checks: {@code /a/{x}} and {@code /a/{y}} collide.
     *
     * @return a canonical form
     */
    public String shape() {
        StringBuilder b = new StringBuilder();
        for (Segment s : segments) {
            b.append('/').append(switch (s) {
                case Literal l -> l.value();
                case Param p -> "{}";
                case Rest r -> "**";
            });
        }
        return b.isEmpty() ? "/" : b.toString();
    }
}
