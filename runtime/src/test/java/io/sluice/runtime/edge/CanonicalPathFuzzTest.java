package io.sluice.runtime.edge;

import com.code_intelligence.jazzer.junit.FuzzTest;

import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fuzzes the path canonicaliser. The input's first byte picks the options, the rest is the raw path (ISO-8859-1,
 * so every byte value reaches it). Invariants: it either returns a path or throws {@link CanonicalPath.BadPath},
 * nothing else; a returned path starts with '/', is idempotent, has no empty, {@code .} or {@code ..} segment,
 * no control character, backslash, raw non-ASCII, lower-case escape or encoded unreserved character, and no
 * {@code %2F} unless the options keep it.
 * Regression inputs: {@code src/test/resources/io/sluice/runtime/edge/CanonicalPathFuzzTestInputs/canonicalise/}.
 */
class CanonicalPathFuzzTest {

    @FuzzTest
    void canonicalise(byte[] input) throws Exception {
        if (input.length == 0) {
            return;
        }
        CanonicalPath.Options options = new CanonicalPath.Options((input[0] & 1) == 0
                ? CanonicalPath.EscapedSlashes.REJECT : CanonicalPath.EscapedSlashes.KEEP, (input[0] & 2) != 0);
        String raw = new String(input, 1, input.length - 1, StandardCharsets.ISO_8859_1);
        String once;
        try {
            once = CanonicalPath.of(raw, options);
        } catch (CanonicalPath.BadPath e) {
            return;
        }
        assertEquals(once, CanonicalPath.of(once, options), "idempotent");
        assertTrue(once.startsWith("/"), once);
        assertFalse(once.contains("//"), once);
        for (String segment : once.substring(1).split("/", -1)) {
            assertFalse(segment.equals(".") || segment.equals(".."), once);
        }
        for (int i = 0; i < once.length(); i++) {
            char c = once.charAt(i);
            assertTrue(c > 0x20 && c < 0x7f && c != '\\', "character " + (int) c + " in " + once);
            if (c == '%') {
                String hex = once.substring(i + 1, i + 3);
                assertEquals(hex.toUpperCase(java.util.Locale.ROOT), hex, once);
                int b = Integer.parseInt(hex, 16);
                boolean unreserved = Character.isLetterOrDigit(b) || "-._~".indexOf(b) >= 0;
                assertFalse(b < 0x80 && unreserved, "encoded unreserved character in " + once);
                assertFalse(b == '/' && options.escapedSlashes() == CanonicalPath.EscapedSlashes.REJECT, once);
                assertFalse(b == '\\' || b < 0x20 || b == 0x7f, once);
            }
        }
        if (!options.allowSemicolons()) {
            assertFalse(once.contains(";"), once);
        }
    }
}
