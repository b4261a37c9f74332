package io.sluice.registry.config;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The URL of an aggregate call: {@code http://host:port/path?query} whose path and query may hold {@code {param}}
 * placeholders, filled from the route's path parameters. The origin (host and port) is fixed, so a call always
 * goes to one connection pool and a request cannot steer it elsewhere.
 *
 * @param text     the URL as written
 * @param host     host name or address
 * @param port     port (80 when absent)
 * @param literals the request target split around the placeholders; one more than {@code params}
 * @param params   placeholder names, in order
 */
public record UrlTemplate(String text, String host, int port, List<String> literals, List<String> params) {
    private static final Pattern PLACEHOLDER = Pattern.compile("\\{([^{}]*)}");
    private static final Pattern PARAM_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    /**
     * Parses a call URL.
     *
     * @param text {@code http://host[:port][/path][?query]}
     * @return the template
     * @throws IllegalArgumentException with a message fit for a user
     */
    public static UrlTemplate parse(String text) {
        if (!text.startsWith("http://")) {
            throw new IllegalArgumentException("must start with http://");
        }
        int pathStart = indexOfAny(text, "/?", 7);
        String authority = text.substring(7, pathStart < 0 ? text.length() : pathStart);
        if (authority.contains("{") || authority.contains("}")) {
            throw new IllegalArgumentException("placeholders are only allowed in the path and query, not the host");
        }
        String target = pathStart < 0 ? "/" : text.substring(pathStart);
        if (target.startsWith("?")) {
            target = "/" + target;
        }
        if (target.contains("#")) {
            throw new IllegalArgumentException("a fragment (#) is not sent to an upstream");
        }
        List<String> literals = new ArrayList<>();
        List<String> params = new ArrayList<>();
        Matcher m = PLACEHOLDER.matcher(target);
        int last = 0;
        StringBuilder probe = new StringBuilder("http://").append(authority);
        while (m.find()) {
            String name = m.group(1);
            if (!PARAM_NAME.matcher(name).matches()) {
                throw new IllegalArgumentException("bad placeholder '{" + name + "}' (a path parameter name)");
            }
            literals.add(target.substring(last, m.start()));
            params.add(name);
            probe.append(target, last, m.start()).append('x');
            last = m.end();
        }
        literals.add(target.substring(last));
        probe.append(target.substring(last));
        if (probe.indexOf("{") >= 0 || probe.indexOf("}") >= 0) {
            throw new IllegalArgumentException("unbalanced '{' or '}'");
        }
        URI uri;
        try {
            uri = URI.create(probe.toString());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage());
        }
        if (uri.getHost() == null) {
            throw new IllegalArgumentException("no host");
        }
        if (uri.getRawUserInfo() != null) {
            throw new IllegalArgumentException("user info (user@) is not allowed");
        }
        if (uri.getPort() == 0 || uri.getPort() > 65535) {
            throw new IllegalArgumentException("port " + uri.getPort() + " is not in 1-65535");
        }
        return new UrlTemplate(text, uri.getHost(), uri.getPort() < 0 ? 80 : uri.getPort(), List.copyOf(literals),
                List.copyOf(params));
    }

    /**
     * The origin-form request target with every placeholder replaced by its value, percent-encoded so that a value
     * stays one path segment (or one query value) whatever it contains.
     *
     * @param rawValues parameter values as they appeared in the client's request path (percent-encoded)
     * @return the request target, such as {@code /users/42?full=1}
     */
    public String expand(Map<String, String> rawValues) {
        if (params.isEmpty()) {
            return literals.getFirst();
        }
        StringBuilder b = new StringBuilder(literals.getFirst());
        for (int i = 0; i < params.size(); i++) {
            b.append(encode(decode(rawValues.getOrDefault(params.get(i), "")))).append(literals.get(i + 1));
        }
        return b.toString();
    }

    /** Decodes %XX escapes as UTF-8; a malformed escape is kept as written ('+' is a plus in a path). */
    static String decode(String raw) {
        if (raw.indexOf('%') < 0) {
            return raw;
        }
        byte[] out = new byte[raw.length() * 3];   // a non-ASCII char is at most 3 UTF-8 bytes per UTF-16 unit
        int n = 0;
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            int hi;
            int lo;
            if (c == '%' && i + 2 < raw.length()
                    && (hi = Character.digit(raw.charAt(i + 1), 16)) >= 0
                    && (lo = Character.digit(raw.charAt(i + 2), 16)) >= 0) {
                out[n++] = (byte) (hi << 4 | lo);
                i += 2;
            } else if (c < 0x80) {
                out[n++] = (byte) c;
            } else {
                byte[] utf8 = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
                System.arraycopy(utf8, 0, out, n, utf8.length);
                n += utf8.length;
            }
        }
        return new String(out, 0, n, StandardCharsets.UTF_8);
    }

    /** Percent-encodes everything but RFC 3986 unreserved characters; "." and ".." are encoded too (no traversal). */
    static String encode(String value) {
        boolean dots = !value.isEmpty() && value.chars().allMatch(c -> c == '.');
        StringBuilder b = new StringBuilder(value.length() + 8);
        for (byte x : value.getBytes(StandardCharsets.UTF_8)) {
            int c = x & 0xff;
            boolean unreserved = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
                    || c == '-' || c == '_' || c == '~' || (c == '.' && !dots);
            if (unreserved) {
                b.append((char) c);
            } else {
                b.append('%').append(HEX[c >> 4]).append(HEX[c & 0xf]);
            }
        }
        return b.toString();
    }

    private static int indexOfAny(String s, String chars, int from) {
        for (int i = from; i < s.length(); i++) {
            if (chars.indexOf(s.charAt(i)) >= 0) {
                return i;
            }
        }
        return -1;
    }
}
