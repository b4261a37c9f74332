package io.sluice.runtime.edge;

/**
 * The one canonical form of a request path, computed once per request before routing: the router, every filter,
 * {@code strip_prefix}, transform templates and the upstream see this string and nothing else, so a path cannot
 * mean one route to the gateway and another to the service behind it.
 *
 * <p>Steps, in order (anchors: RFC 3986 §2.3 and §5.2.4; Envoy's {@code normalize_path}, {@code merge_slashes},
 * {@code path_with_escaped_slashes_action}; nginx's URI normalisation):
 * <ol>
 *   <li>percent-encoded unreserved characters are decoded ({@code %61} is {@code a}, {@code %2e} is {@code .});
 *       every other escape is kept, with upper-case hex digits ({@code %3f} becomes {@code %3F});</li>
 *   <li>dot segments are removed ({@code .} and {@code ..}, also when written {@code %2e});</li>
 *   <li>repeated slashes are merged; a trailing slash is kept.</li>
 * </ol>
 * Decoding happens once: {@code %252e} is the three characters {@code %2e}, kept as {@code %252E}, never a dot.
 *
 * <p>Refused ({@link BadPath}, answered 400 {@code bad_path}): a path that is not origin-form, NUL and control
 * characters (raw or encoded), raw bytes outside ASCII, characters that are not allowed in a path, bad
 * percent-encoding, escaped bytes that are not valid shortest-form UTF-8, a raw or encoded backslash, dot
 * segments that climb above the root, a dot segment carrying parameters ({@code ..;x}: servlet containers read it
 * as {@code ..}), raw semicolons unless allowed, and an encoded slash unless {@link EscapedSlashes#KEEP}.
 */
public final class CanonicalPath {
    /** What an encoded slash ({@code %2F}) in a path does. */
    public enum EscapedSlashes {
        /** 400 {@code bad_path} (the default: upstreams disagree on whether it separates segments). */
        REJECT,
        /** Kept encoded: a character of its segment for matching, forwarded as {@code %2F}. */
        KEEP
    }

    /** The options a gateway runs with; both default to the strict choice. */
    public record Options(EscapedSlashes escapedSlashes, boolean allowSemicolons) {
        /** Strict: encoded slashes and raw semicolons refused. */
        public static final Options STRICT = new Options(EscapedSlashes.REJECT, false);
    }

    /** Why a path was refused; the message names the rule, never echoes parser internals. */
    public static final class BadPath extends Exception {
        BadPath(String message) {
            super(message, null, false, false);
        }
    }

    // character classes of RFC 3986, for ASCII 0..127
    private static final byte UNRESERVED = 1;
    private static final byte PATH_OK = 2;      // allowed raw in a path segment (pchar minus '%')
    private static final byte[] CLASS = new byte[128];

    static {
        for (char c = 'a'; c <= 'z'; c++) {
            CLASS[c] = UNRESERVED | PATH_OK;
        }
        for (char c = 'A'; c <= 'Z'; c++) {
            CLASS[c] = UNRESERVED | PATH_OK;
        }
        for (char c = '0'; c <= '9'; c++) {
            CLASS[c] = UNRESERVED | PATH_OK;
        }
        for (char c : "-._~".toCharArray()) {
            CLASS[c] = UNRESERVED | PATH_OK;
        }
        for (char c : "!$&'()*+,;=:@".toCharArray()) {
            CLASS[c] = PATH_OK;
        }
    }

    private CanonicalPath() {
    }

    /**
     * The canonical form of an origin-form path (no query).
     *
     * @param raw     the path as received
     * @param options encoded-slash and semicolon handling
     * @return the canonical path; the same instance when {@code raw} is already canonical
     * @throws BadPath when the path is refused
     */
    public static String of(String raw, Options options) throws BadPath {
        int n = raw.length();
        if (n == 0 || raw.charAt(0) != '/') {
            throw new BadPath("the path must start with '/'");
        }
        // fast path: plain characters, no escape, no dot segment, no empty segment
        boolean plain = true;
        char prev = 0;
        for (int i = 0; i < n; i++) {
            char c = raw.charAt(i);
            if (c >= 128 || c == '%' || c == ';' || (c != '/' && (CLASS[c] & PATH_OK) == 0)
                    || (c == '/' && prev == '/') || (c == '.' && prev == '/')) {
                plain = false;
                break;
            }
            prev = c;
        }
        if (plain) {
            return raw;
        }
        return slow(raw, options);
    }

    private static String slow(String raw, Options options) throws BadPath {
        int n = raw.length();
        // 1. decode unreserved escapes, normalise the others, refuse what is never allowed
        StringBuilder decoded = new StringBuilder(n);
        for (int i = 0; i < n; i++) {
            char c = raw.charAt(i);
            if (c >= 128) {
                throw new BadPath("raw non-ASCII characters are not allowed in a path; percent-encode them as UTF-8");
            }
            if (c < 0x20 || c == 0x7f) {
                throw new BadPath("control characters are not allowed in a path");
            }
            if (c == '\\') {
                throw new BadPath("backslashes are not allowed in a path");
            }
            if (c == ';' && !options.allowSemicolons()) {
                throw new BadPath("semicolons (path parameters) are not allowed in a path");
            }
            if (c == '/') {
                decoded.append('/');
                continue;
            }
            if (c != '%') {
                if ((CLASS[c] & PATH_OK) == 0) {
                    throw new BadPath("character '" + c + "' is not allowed in a path; percent-encode it");
                }
                decoded.append(c);
                continue;
            }
            int b = escape(raw, i);
            if ((b & 0x80) != 0) {
                i = utf8(raw, i, decoded);
                continue;
            }
            if (b < 0x20 || b == 0x7f) {
                throw new BadPath("encoded control characters are not allowed in a path");
            }
            if (b == '\\') {
                throw new BadPath("encoded backslashes are not allowed in a path");
            }
            if (b == '/') {
                if (options.escapedSlashes() == EscapedSlashes.REJECT) {
                    throw new BadPath("encoded slashes (%2F) are not allowed in a path");
                }
                decoded.append("%2F");
            } else if ((CLASS[b] & UNRESERVED) != 0) {
                decoded.append((char) b);
            } else {
                appendEscape(decoded, b);
            }
            i += 2;
        }
        // 2. dot segments and repeated slashes, segment by segment
        StringBuilder out = new StringBuilder(decoded.length());
        int len = decoded.length();
        int start = 1;
        boolean trailingSlash = false;
        while (start <= len) {
            int end = indexOf(decoded, '/', start);
            if (end < 0) {
                end = len;
            }
            int segLen = end - start;
            trailingSlash = end < len || segLen == 0;
            if (segLen == 0) {
                // empty segment: a repeated slash, or the trailing slash
            } else if (segLen == 1 && decoded.charAt(start) == '.') {
                trailingSlash = true;   // "/a/." is "/a/"
            } else if (segLen == 2 && decoded.charAt(start) == '.' && decoded.charAt(start + 1) == '.') {
                int cut = out.lastIndexOf("/");
                if (cut < 0) {
                    throw new BadPath("dot segments climb above the root");
                }
                out.setLength(cut);
                trailingSlash = true;
            } else {
                if (decoded.charAt(start) == '.' && isDotWithParameters(decoded, start, end)) {
                    throw new BadPath("dot segments with parameters ('..;') are not allowed in a path");
                }
                out.append('/').append(decoded, start, end);
            }
            start = end + 1;
        }
        if (out.isEmpty() || trailingSlash) {
            out.append('/');
        }
        return out.toString();
    }

    /** {@code .;x} or {@code ..;x}: a servlet container drops the parameter and takes the dot segment. */
    private static boolean isDotWithParameters(CharSequence s, int start, int end) {
        int dots = 0;
        int i = start;
        while (i < end && s.charAt(i) == '.') {
            dots++;
            i++;
        }
        return dots <= 2 && i < end && s.charAt(i) == ';';
    }

    private static int indexOf(CharSequence s, char c, int from) {
        for (int i = from, n = s.length(); i < n; i++) {
            if (s.charAt(i) == c) {
                return i;
            }
        }
        return -1;
    }

    /** The byte a well-formed escape at {@code i} stands for. */
    private static int escape(String raw, int i) throws BadPath {
        if (i + 2 >= raw.length()) {
            throw new BadPath("bad percent-encoding: '%' must be followed by two hex digits");
        }
        int hi = Character.digit(raw.charAt(i + 1), 16);
        int lo = Character.digit(raw.charAt(i + 2), 16);
        if (hi < 0 || lo < 0 || raw.charAt(i + 1) >= 128 || raw.charAt(i + 2) >= 128) {
            throw new BadPath("bad percent-encoding: '%' must be followed by two hex digits");
        }
        return hi << 4 | lo;
    }

    /**
     * Checks one UTF-8 sequence written as escapes starting at {@code i} and appends it, still encoded.
     *
     * @return the index of the sequence's last character
     */
    private static int utf8(String raw, int i, StringBuilder out) throws BadPath {
        int b0 = escape(raw, i);
        int need;
        int cp;
        if (b0 >= 0xC2 && b0 <= 0xDF) {
            need = 1;
            cp = b0 & 0x1F;
        } else if (b0 >= 0xE0 && b0 <= 0xEF) {
            need = 2;
            cp = b0 & 0x0F;
        } else if (b0 >= 0xF0 && b0 <= 0xF4) {
            need = 3;
            cp = b0 & 0x07;
        } else {
            throw new BadPath("encoded bytes are not valid UTF-8");   // continuation byte first, C0/C1 overlong, F5+
        }
        appendEscape(out, b0);
        int at = i + 3;
        for (int k = 0; k < need; k++) {
            if (at >= raw.length() || raw.charAt(at) != '%') {
                throw new BadPath("encoded bytes are not valid UTF-8");
            }
            int b = escape(raw, at);
            if ((b & 0xC0) != 0x80) {
                throw new BadPath("encoded bytes are not valid UTF-8");
            }
            cp = cp << 6 | (b & 0x3F);
            appendEscape(out, b);
            at += 3;
        }
        if (need == 2 && (cp < 0x800 || cp >= 0xD800 && cp <= 0xDFFF) || need == 3 && (cp < 0x10000 || cp > 0x10FFFF)) {
            throw new BadPath("encoded bytes are not valid UTF-8 (overlong form or surrogate)");
        }
        return at - 1;
    }

    private static final char[] HEX = "0123456789ABCDEF".toCharArray();

    private static void appendEscape(StringBuilder out, int b) {
        out.append('%').append(HEX[b >> 4]).append(HEX[b & 0xF]);
    }
}
