package io.sluice.plugin;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * A mutable, ordered, case-insensitive HTTP header multimap. One instance belongs to one request or response;
 * it is not thread-safe. Names keep the spelling they were added with.
 *
 * <p>Every name is an HTTP token and every value is free of CR, LF, NUL and other control characters (HTAB
 * aside) and of characters above U+00FF (RFC 9110 §5.1, §5.5), checked when added: a filter cannot split a
 * request or a response by putting a line break into a header. Leading and trailing spaces and tabs of a value
 * are dropped, as RFC 9110 §5.5 says they are not part of it.
 */
public final class Headers {
    // flat [name0, value0, name1, value1, ...]: headers are few, a scan beats hashing and allocates nothing
    private String[] kv;
    private int size;

    /** An empty header set. */
    public Headers() {
        kv = new String[32];
    }

    /**
     * A copy of another header set.
     *
     * @param other headers to copy
     */
    public Headers(Headers other) {
        kv = Arrays.copyOf(other.kv, Math.max(other.kv.length, 8));
        size = other.size;
    }

    /**
     * Headers from name/value pairs.
     *
     * @param namesAndValues name, value, name, value…
     * @return the headers
     */
    public static Headers of(String... namesAndValues) {
        if (namesAndValues.length % 2 != 0) {
            throw new IllegalArgumentException("names and values must come in pairs");
        }
        Headers h = new Headers();
        for (int i = 0; i < namesAndValues.length; i += 2) {
            h.add(namesAndValues[i], namesAndValues[i + 1]);
        }
        return h;
    }

    /**
     * The first value of a header.
     *
     * @param name header name, any case
     * @return the first value, or empty
     */
    public Optional<String> first(String name) {
        return Optional.ofNullable(firstOrNull(name));
    }

    /**
     * The first value of a header, for the gateway's hot path. Prefer {@link #first(String)}.
     *
     * @param name header name, any case
     * @return the value or {@code null}
     */
    public String firstOrNull(String name) {
        for (int i = 0; i < size; i += 2) {
            if (kv[i].equalsIgnoreCase(name)) {
                return kv[i + 1];
            }
        }
        return null;
    }

    /**
     * All values of a header, in order.
     *
     * @param name header name, any case
     * @return the values, empty if none
     */
    public List<String> all(String name) {
        List<String> out = new ArrayList<>(2);
        for (int i = 0; i < size; i += 2) {
            if (kv[i].equalsIgnoreCase(name)) {
                out.add(kv[i + 1]);
            }
        }
        return out;
    }

    /**
     * Whether a header is present.
     *
     * @param name header name, any case
     * @return true if at least one value exists
     */
    public boolean contains(String name) {
        return firstOrNull(name) != null;
    }

    /**
     * Adds a value, keeping existing ones.
     *
     * @param name  header name
     * @param value header value
     * @return this
     * @throws IllegalArgumentException when the name is not a token or the value carries a forbidden character
     */
    public Headers add(String name, String value) {
        checkName(name);
        value = checkValue(name, value);
        if (size == kv.length) {
            kv = Arrays.copyOf(kv, kv.length * 2);
        }
        kv[size++] = name;
        kv[size++] = value;
        return this;
    }

    /**
     * Replaces all values of a header with one value.
     *
     * @param name  header name
     * @param value header value
     * @return this
     */
    public Headers set(String name, String value) {
        remove(name);
        return add(name, value);
    }

    /**
     * Removes every value of a header.
     *
     * @param name header name, any case
     * @return true if something was removed
     */
    public boolean remove(String name) {
        int w = 0;
        for (int r = 0; r < size; r += 2) {
            if (!kv[r].equalsIgnoreCase(name)) {
                kv[w++] = kv[r];
                kv[w++] = kv[r + 1];
            }
        }
        boolean removed = w != size;
        Arrays.fill(kv, w, size, null);
        size = w;
        return removed;
    }

    /**
     * The distinct header names, in first-seen order, as spelled first.
     *
     * @return the names
     */
    public Set<String> names() {
        Set<String> seenLower = new LinkedHashSet<>();
        Set<String> out = new LinkedHashSet<>();
        for (int i = 0; i < size; i += 2) {
            if (seenLower.add(kv[i].toLowerCase(java.util.Locale.ROOT))) {
                out.add(kv[i]);
            }
        }
        return out;
    }

    /**
     * Visits every name/value pair in order.
     *
     * @param action called once per value
     */
    public void forEach(BiConsumer<String, String> action) {
        for (int i = 0; i < size; i += 2) {
            action.accept(kv[i], kv[i + 1]);
        }
    }

    /**
     * Number of name/value pairs.
     *
     * @return the count
     */
    public int size() {
        return size / 2;
    }

    /**
     * The name of the pair at an index, for allocation-free iteration.
     *
     * @param index 0..size()-1
     * @return the name
     */
    public String name(int index) {
        return kv[index * 2];
    }

    /**
     * The value of the pair at an index.
     *
     * @param index 0..size()-1
     * @return the value
     */
    public String value(int index) {
        return kv[index * 2 + 1];
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("{");
        forEach((n, v) -> b.append(b.length() > 1 ? ", " : "").append(n).append('=').append(v));
        return b.append('}').toString();
    }

    private static final boolean[] TOKEN = new boolean[128];

    static {
        for (int c = '0'; c <= '9'; c++) {
            TOKEN[c] = true;
        }
        for (int c = 'a'; c <= 'z'; c++) {
            TOKEN[c] = true;
            TOKEN[c - 32] = true;
        }
        for (char c : "!#$%&'*+-.^_`|~".toCharArray()) {
            TOKEN[c] = true;
        }
    }

    private static void checkName(String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("a header name must not be empty");
        }
        for (int i = 0, n = name.length(); i < n; i++) {
            char c = name.charAt(i);
            if (c >= 128 || !TOKEN[c]) {
                throw new IllegalArgumentException("header name '" + printable(name)
                        + "' is not a token (RFC 9110 §5.1)");
            }
        }
    }

    private static String checkValue(String name, String value) {
        if (value == null) {
            throw new IllegalArgumentException("header '" + name + "' must have a value");
        }
        int n = value.length();
        for (int i = 0; i < n; i++) {
            char c = value.charAt(i);
            if (c < 0x20 && c != '\t' || c == 0x7f || c > 0xff) {
                throw new IllegalArgumentException("the value of header '" + name + "' carries a forbidden character"
                        + " (U+" + String.format("%04X", (int) c) + "): no CR, LF, NUL or other control characters");
            }
        }
        if (n > 0 && (isBlank(value.charAt(0)) || isBlank(value.charAt(n - 1)))) {
            int s = 0;
            int e = n;
            while (s < e && isBlank(value.charAt(s))) {
                s++;
            }
            while (e > s && isBlank(value.charAt(e - 1))) {
                e--;
            }
            return value.substring(s, e);
        }
        return value;
    }

    private static boolean isBlank(char c) {
        return c == ' ' || c == '\t';
    }

    private static String printable(String s) {
        StringBuilder b = new StringBuilder(Math.min(s.length(), 64));
        for (int i = 0; i < s.length() && i < 64; i++) {
            char c = s.charAt(i);
            b.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return b.toString();
    }
}
