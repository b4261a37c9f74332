package io.sluice.registry.admin;

import io.sluice.registry.store.AuditEntry;
import io.sluice.registry.store.Store;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Refusals of unauthenticated callers: counted in memory, one row per source and minute, bounded. */
class AuditFoldingTest {
    @TempDir
    Path dir;
    Store store;
    MutableClock clock = new MutableClock(Instant.parse("2030-01-01T10:00:05Z"));

    static final class MutableClock extends Clock {
        Instant now;

        MutableClock(Instant now) {
            this.now = now;
        }

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    @BeforeEach
    void open() {
        store = Store.embedded(dir);
    }

    @AfterEach
    void close() {
        store.close();
    }

    static Optional<InetAddress> ip(String s) throws Exception {
        return Optional.of(InetAddress.getByName(s));
    }

    @Test
    void oneRowPerSourceAndMinuteWrittenOnlyWhenTheMinuteIsOver() throws Exception {
        AuditLog log = new AuditLog(store, clock, 10, AuditLog.Retention.DEFAULT);
        for (int i = 0; i < 1000; i++) {
            log.refused(ip("10.0.0.1"), i % 4 == 0, "GET /v1/routes", "unauthorized: no token");
        }
        log.refused(ip("10.0.0.2"), false, "GET /v1/audit", "unauthorized: no token");
        assertEquals(0, log.flush(false), "the minute is not over");
        assertEquals(0, store.auditRows());
        assertEquals(2, log.pending().size());
        clock.now = clock.now.plusSeconds(60);
        log.refused(ip("10.0.0.1"), false, "GET /v1/x", "unauthorized: no token");
        assertEquals(2, log.flush(false));
        List<AuditEntry> rows = store.audit(10, Long.MAX_VALUE);
        AuditEntry big = rows.stream().filter(r -> r.source().equals(Optional.of("10.0.0.1"))).findFirst().orElseThrow();
        assertEquals(1000, big.count());
        assertEquals(401, big.status());
        assertEquals("unauthenticated", big.actor());
        assertTrue(big.message().contains("750 without a token, 250 with an unknown one"), big.message());
        assertEquals(Instant.parse("2030-01-01T10:00:05Z"), big.at());
        AuditEntry small = rows.stream().filter(r -> r.source().equals(Optional.of("10.0.0.2"))).findFirst()
                .orElseThrow();
        assertEquals(1, small.count());
        assertEquals("anonymous", small.actor());
        log.close();   // shutdown writes the current minute too
        assertEquals(3, store.auditRows());
        assertEquals(1, store.audit(1, Long.MAX_VALUE).getFirst().count());
    }

    @Test
    void distinctSourcesPastTheCapShareOneBucket() throws Exception {
        AuditLog log = new AuditLog(store, clock, 3, AuditLog.Retention.DEFAULT);
        for (int i = 1; i <= 200; i++) {
            log.refused(ip("10.1.0." + i), false, "GET /v1/routes", "unauthorized");
        }
        assertEquals(4, log.pending().size());
        log.close();
        assertEquals(4, store.auditRows());
        AuditEntry other = store.audit(10, Long.MAX_VALUE).stream()
                .filter(r -> r.source().equals(Optional.of(AuditLog.OTHER))).findFirst().orElseThrow();
        assertEquals(197, other.count());
    }

    @Test
    void ipv6CallersAreKeyedByTheirSlash64() throws Exception {
        AuditLog log = new AuditLog(store, clock, 10, AuditLog.Retention.DEFAULT);
        log.refused(ip("2001:db8:1:2::1"), false, "GET /v1/routes", "unauthorized");
        log.refused(ip("2001:db8:1:2:ffff::9"), true, "GET /v1/routes", "unauthorized");
        log.refused(ip("2001:db8:1:3::1"), false, "GET /v1/routes", "unauthorized");
        log.close();
        assertEquals(List.of("2001:db8:1:2::/64 x2", "2001:db8:1:3::/64 x1"), store.audit(10, Long.MAX_VALUE).stream()
                .map(r -> r.source().orElseThrow() + " x" + r.count()).sorted().toList());
    }

    @Test
    void retentionDeletesOldRowsAndRowsBeyondTheMaximum() {
        Instant now = clock.instant();
        for (int i = 0; i < 5; i++) {
            store.audit(new AuditEntry(0, now.minus(Duration.ofDays(100)), "old", Optional.empty(), "PUT /v1/x",
                    200, Optional.empty(), "ok"));
        }
        for (int i = 0; i < 10; i++) {
            store.audit(new AuditEntry(0, now.minus(Duration.ofMinutes(10 - i)), "new" + i, Optional.empty(),
                    "PUT /v1/x", 200, Optional.empty(), "ok"));
        }
        AuditLog log = new AuditLog(store, clock, 10, new AuditLog.Retention(90, 4));
        assertEquals(11, log.prune());
        assertEquals(List.of("new9", "new8", "new7", "new6"),
                store.audit(10, Long.MAX_VALUE).stream().map(AuditEntry::actor).toList());
        assertEquals(0, new AuditLog(store, clock, 10, new AuditLog.Retention(0, 0)).prune(), "0: no limits");
    }
}
