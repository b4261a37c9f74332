package io.sluice.plugin;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HeadersTest {

    @Test
    void lookupIsCaseInsensitiveAndKeepsOrder() {
        Headers h = Headers.of("Accept", "a", "X-Tag", "1", "accept", "b");
        assertEquals(Optional.of("a"), h.first("ACCEPT"));
        assertEquals(List.of("a", "b"), h.all("accept"));
        assertEquals(Set.of("Accept", "X-Tag"), h.names());
        assertEquals(3, h.size());
    }

    @Test
    void setReplacesAllValuesAndRemoveDropsThem() {
        Headers h = Headers.of("A", "1", "B", "2", "a", "3");
        h.set("a", "9");
        assertEquals(List.of("9"), h.all("A"));
        assertTrue(h.remove("b"));
        assertFalse(h.remove("b"));
        assertEquals(1, h.size());
        for (int i = 0; i < 40; i++) {
            h.add("N" + i, "v");
        }
        assertEquals(41, h.size());
        assertEquals("v", h.firstOrNull("n39"));
    }

    @Test
    void errorOutcomeIsTheGatewayJsonShape() {
        Outcome.Respond r = Outcome.error(401, "unauthorized", "missing \"key\"");
        assertEquals("{\"error\":\"unauthorized\",\"message\":\"missing \\\"key\\\"\"}", r.bodyText());
        assertEquals(Optional.of("application/json"), r.headers().first("content-type"));
        assertThrows(IllegalArgumentException.class, () -> Outcome.respond(42, new Headers(), new byte[0]));
    }

    @Test
    void descriptorRejectsBadNamesAndVersions() {
        assertThrows(IllegalArgumentException.class, () -> new FilterDescriptor("Bad_Name", "1.0.0", "{}", ""));
        assertThrows(IllegalArgumentException.class, () -> new FilterDescriptor("ok", "1.0", "{}", ""));
        assertEquals("ok-name", new FilterDescriptor("ok-name", "1.0.0-rc.1", "{}", "").name());
    }

    @Test
    void refusesLineBreaksNulAndControlCharactersInValues() {
        Headers h = new Headers();
        for (String bad : new String[] {"en\r\nSet-Cookie: session=attacker", "a\nb", "a\rb", "a\u0000b", "\u0007",
                "a\u007fb", "caf\u00e9\u2603", "x\r\n\r\n<html>"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> h.set("X-Lang", bad), bad);
            assertTrue(e.getMessage().contains("X-Lang"), e.getMessage());
        }
        assertEquals(0, h.size(), "nothing refused was added");
        h.set("X-Ok", "tab\there, latin-1 caf\u00e9");
        assertEquals("tab\there, latin-1 caf\u00e9", h.firstOrNull("x-ok"));
    }

    @Test
    void refusesNamesThatAreNotTokens() {
        Headers h = new Headers();
        for (String bad : new String[] {"", "X Lang", "X-Lang:", "X-\r\nInjected", "(x)", "X-\u00e9", "a/b", "a\u0000"}) {
            assertThrows(IllegalArgumentException.class, () -> h.add(bad, "v"), bad);
        }
        assertThrows(IllegalArgumentException.class, () -> Headers.of("X-A", null));
        assertEquals(0, h.size());
    }

    @Test
    void dropsSurroundingWhitespaceOfValues() {
        Headers h = Headers.of("A", "  v 1\t", "B", " ");
        assertEquals("v 1", h.firstOrNull("a"));
        assertEquals("", h.firstOrNull("b"));
    }
}
