package io.sluice.runtime.upstream;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Canonical strings for header names read from upstreams: the same few names arrive on every response, so
 * reuse one {@code String} per spelling instead of allocating it per response (and its hash stays cached for
 * later lookups). Direct-mapped and lock-free; a collision just replaces the slot.
 */
final class HeaderNameCache {
    private static final int SIZE = 1024;
    private static final Entry[] SLOTS = new Entry[SIZE];

    private record Entry(byte[] bytes, String name) {
    }

    private HeaderNameCache() {
    }

    static String name(byte[] buf, int off, int len) {
        if (len > 64) {
            return new String(buf, off, len, StandardCharsets.ISO_8859_1);
        }
        int h = 0;
        for (int i = off; i < off + len; i++) {
            h = 31 * h + buf[i];
        }
        int slot = (h ^ (h >>> 16)) & (SIZE - 1);
        Entry e = SLOTS[slot];
        if (e != null && Arrays.equals(e.bytes, 0, e.bytes.length, buf, off, off + len)) {
            return e.name;
        }
        String name = new String(buf, off, len, StandardCharsets.ISO_8859_1);
        SLOTS[slot] = new Entry(Arrays.copyOfRange(buf, off, off + len), name);
        return name;
    }
}
