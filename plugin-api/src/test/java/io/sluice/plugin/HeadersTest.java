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
}
