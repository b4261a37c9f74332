package io.sluice.runtime.admin;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.registry.store.AuditEntry;
import io.sluice.registry.store.Store;
import io.sluice.runtime.Node;
import io.sluice.runtime.SluiceServer.Listeners;
import io.sluice.runtime.testing.AdminClient;
import io.sluice.runtime.testing.AdminClient.Resp;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An anonymous flood against a real admin listener grows the audit log by about one row per minute, not one
 * per request; the rows say how many requests they stand for.
 */
class AuditAbuseIT {
    static final int REQUESTS = 2_000;

    @TempDir
    Path dir;

    @Test
    void twoThousandAnonymousRequestsWriteARowPerMinute() throws Exception {
        Path data = dir.resolve("data");
        Node node = Node.start(new Node.Options("standalone", data,
                new Listeners("127.0.0.1", 0, "127.0.0.1", 0, true), Optional.empty(), Optional.empty(),
                Optional.of("platform-secret"), Duration.ofSeconds(5)));
        AdminClient anonymous = new AdminClient(node.server().adminPort(), null);
        AdminClient guesser = anonymous.as("slt_guessed");
        long rowsBefore = node.registry().orElseThrow().store().auditRows();
        long firstMinute = Instant.now().getEpochSecond() / 60;
        String[][] calls = {{"GET", "/v1/routes"}, {"PUT", "/v1/routes/x"}, {"POST", "/v1/tokens"},
                {"DELETE", "/v1/consumers/c"}, {"GET", "/v1/audit"}, {"POST", "/v1/anything"}};
        for (int i = 0; i < REQUESTS; i++) {
            String[] c = calls[i % calls.length];
            Resp r = (i % 10 == 0 ? guesser : anonymous).send(c[0], c[1], c[0].equals("GET") ? null : "{}",
                    "application/json");
            assertEquals(401, r.status());
            assertEquals("unauthorized", r.error());
        }
        long lastMinute = Instant.now().getEpochSecond() / 60;
        // while the minute lasts the flood is visible, unwritten, with its count
        JsonNode pending = new AdminClient(node.server().adminPort(), "platform-secret").get("/v1/audit?limit=5")
                .json().path("entries").get(0);
        assertTrue(pending.path("pending").asBoolean(), pending.toString());
        assertEquals("127.0.0.1", pending.path("source").asText());
        assertTrue(pending.path("count").asLong() >= 1, pending.toString());
        node.close();   // writes the current minute's folded row

        try (Store store = Store.embedded(data)) {
            List<AuditEntry> folded = store.audit(1000, Long.MAX_VALUE).stream().filter(e -> e.status() == 401)
                    .toList();
            long rows = store.auditRows() - rowsBefore;
            long minutes = lastMinute - firstMinute + 1;
            System.out.println("AuditAbuseIT: " + REQUESTS + " unauthenticated requests over " + minutes
                    + " minute(s) wrote " + rows + " audit row(s): " + folded.stream().map(e -> e.source().orElse("?")
                    + " x" + e.count()).toList());
            assertEquals(REQUESTS, folded.stream().mapToLong(AuditEntry::count).sum(), "every request counted");
            assertTrue(rows <= minutes, rows + " rows for " + minutes + " minute(s)");
            assertEquals(rows, folded.size(), "nothing but the folded rows");
            AuditEntry row = folded.getFirst();
            assertEquals(Optional.of("127.0.0.1"), row.source());
            assertEquals("unauthenticated", row.actor(), "anonymous and guessed tokens both");
            assertTrue(row.message().contains("without a token") && row.message().contains("with an unknown one"),
                    row.message());
        }
    }
}
