package io.sluice.builtin.cors;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The origins a {@code cors} entry allows: every origin ({@code *}), exact origins, and patterns whose leftmost
 * host labels are a wildcard ({@code https://*.example.com}). Entries are checked and lower-cased once, at config
 * time; browsers send origins lower-cased and without a default port, so a lookup is a hash probe and a few
 * suffix compares.
 */
final class Origins {
    private final boolean any;
    private final Set<String> exact;
    private final String[] prefixes;   // "https://" of https://*.example.com
    private final String[] suffixes;   // ".example.com" (with ":port" if any)

    private Origins(boolean any, Set<String> exact, List<String[]> patterns) {
        this.any = any;
        this.exact = exact;
        this.prefixes = patterns.stream().map(p -> p[0]).toArray(String[]::new);
        this.suffixes = patterns.stream().map(p -> p[1]).toArray(String[]::new);
    }

    /**
     * Parses {@code allow_origins}.
     *
     * @param entries the config list (strings)
     * @return the origins
     * @throws IllegalArgumentException naming the first bad entry and why
     */
    static Origins parse(List<Object> entries) {
        Set<String> exact = new HashSet<>();
        List<String[]> patterns = new ArrayList<>();
        for (int i = 0; i < entries.size(); i++) {
            String entry = (String) entries.get(i);
            String at = "allow_origins[" + i + "]: '" + entry + "'";
            if (entry.equals("*")) {
                if (entries.size() > 1) {
                    throw new IllegalArgumentException(at + " allows every origin and must be the only entry");
                }
                return new Origins(true, Set.of(), List.of());
            }
            String origin = entry.toLowerCase(Locale.ROOT);
            int sep = origin.indexOf("://");
            if (sep <= 0 || !scheme(origin.substring(0, sep))) {
                throw new IllegalArgumentException(at + " is not an origin: expected scheme://host[:port]");
            }
            String scheme = origin.substring(0, sep);
            String rest = origin.substring(sep + 3);
            int end = firstOf(rest, "/?#");
            if (end >= 0) {
                throw new IllegalArgumentException(at + " has a path; an origin is scheme://host[:port]"
                        + " (browsers send it without a trailing slash)");
            }
            int colon = rest.startsWith("[") ? rest.indexOf(':', Math.max(rest.indexOf(']'), 0)) : rest.indexOf(':');
            String host = colon < 0 ? rest : rest.substring(0, colon);
            String port = colon < 0 ? "" : rest.substring(colon + 1);
            if (!port.isEmpty() && !port(port) || colon >= 0 && port.isEmpty()) {
                throw new IllegalArgumentException(at + " has a bad port");
            }
            if (scheme.equals("https") && port.equals("443") || scheme.equals("http") && port.equals("80")) {
                port = "";   // the browser leaves the default port out
            }
            String tail = port.isEmpty() ? "" : ":" + port;
            if (host.startsWith("*.")) {
                String suffix = host.substring(1);
                if (!hostName(suffix.substring(1))) {
                    throw new IllegalArgumentException(at + " is not a pattern: '*' may only stand for the leftmost"
                            + " labels of a host name, as in https://*.example.com");
                }
                patterns.add(new String[]{scheme + "://", suffix + tail});
            } else if (host.indexOf('*') >= 0) {
                throw new IllegalArgumentException(at + " is not a pattern: '*' may only stand for the leftmost"
                        + " labels of a host name, as in https://*.example.com");
            } else if (hostName(host) || ipv6(host)) {
                exact.add(scheme + "://" + host + tail);
            } else {
                throw new IllegalArgumentException(at + " is not an origin: expected scheme://host[:port]");
            }
        }
        return new Origins(false, Set.copyOf(exact), patterns);
    }

    /** Whether every origin is allowed (the answer may then be a literal {@code *}). */
    boolean any() {
        return any;
    }

    /**
     * @param origin the request's {@code Origin} header
     * @return whether it is allowed
     */
    boolean allows(String origin) {
        if (any || exact.contains(origin) || matchesPattern(origin)) {
            return true;
        }
        for (int i = 0; i < origin.length(); i++) {   // only a hand-written client sends upper case
            char c = origin.charAt(i);
            if (c >= 'A' && c <= 'Z') {
                String lower = origin.toLowerCase(Locale.ROOT);
                return exact.contains(lower) || matchesPattern(lower);
            }
        }
        return false;
    }

    private boolean matchesPattern(String origin) {
        for (int p = 0; p < prefixes.length; p++) {
            String prefix = prefixes[p];
            String suffix = suffixes[p];
            int from = prefix.length();
            int to = origin.length() - suffix.length();
            if (to > from && origin.startsWith(prefix) && origin.endsWith(suffix) && labels(origin, from, to)) {
                return true;
            }
        }
        return false;
    }

    /** One or more host labels: letters, digits, '-' and '_', separated by single dots. */
    private static boolean labels(String s, int from, int to) {
        boolean dotAllowed = false;
        for (int i = from; i < to; i++) {
            char c = s.charAt(i);
            if (c == '.') {
                if (!dotAllowed) {
                    return false;
                }
                dotAllowed = false;
            } else if (c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
                dotAllowed = true;
            } else {
                return false;
            }
        }
        return dotAllowed;   // not empty, no trailing dot
    }

    private static boolean hostName(String host) {
        return !host.isEmpty() && labels(host, 0, host.length());
    }

    private static boolean ipv6(String host) {
        if (host.length() < 3 || host.charAt(0) != '[' || host.charAt(host.length() - 1) != ']') {
            return false;
        }
        for (int i = 1; i < host.length() - 1; i++) {
            char c = host.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c == ':' || c == '.')) {
                return false;
            }
        }
        return true;
    }

    private static boolean scheme(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean ok = c >= 'a' && c <= 'z' || i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.');
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    private static boolean port(String s) {
        if (s.length() > 5 || s.charAt(0) == '0') {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '9') {
                return false;
            }
        }
        return Integer.parseInt(s) <= 65535;
    }

    private static int firstOf(String s, String chars) {
        for (int i = 0; i < s.length(); i++) {
            if (chars.indexOf(s.charAt(i)) >= 0) {
                return i;
            }
        }
        return -1;
    }
}
