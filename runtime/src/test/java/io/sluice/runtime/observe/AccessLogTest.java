package io.sluice.runtime.observe;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The line formats' timestamps (formatted once per second and reused), the writer's drain, and failing writes. */
class AccessLogTest {
    private static AccessLog.Entry at(long epochMillis) {
        return new AccessLog.Entry(epochMillis, "10.0.0.1", "GET", "/a", "HTTP/1.1", 200, 10, null, null, 1_000_000,
                "r", "id", null, null, null);
    }

    @Test
    void jsonTimeHasMillisecondsAcrossSecondsAndTheSameSecondAgain() throws Exception {
        AccessLog log = AccessLog.create(AccessLog.Format.JSON, new ByteArrayOutputStream(), false, "test", 16);
        try {
            ObjectMapper json = new ObjectMapper();
            long t = Instant.parse("2026-12-01T05:50:14Z").toEpochMilli();
            for (long ms : new long[] {t, t + 7, t + 120, t + 999, t + 1000, t + 7, -1}) {
                String expected = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'", Locale.ROOT)
                        .withZone(ZoneId.of("UTC")).format(Instant.ofEpochMilli(ms));
                assertEquals(expected, json.readTree(log.line(at(ms))).path("time").asText(), "at " + ms);
            }
        } finally {
            log.close();
        }
    }

    @Test
    void combinedTimeIsTheSecond() {
        AccessLog log = AccessLog.create(AccessLog.Format.COMBINED, new ByteArrayOutputStream(), false, "test", 16);
        try {
            long t = Instant.parse("2026-12-01T05:50:14.500Z").toEpochMilli();
            String expected = DateTimeFormatter.ofPattern("dd/MMM/yyyy:HH:mm:ss Z", Locale.ROOT)
                    .withZone(ZoneId.systemDefault()).format(Instant.ofEpochMilli(t));
            assertTrue(log.line(at(t)).contains(" [" + expected + "] \"GET /a HTTP/1.1\" 200 10 "), log.line(at(t)));
            assertTrue(log.line(at(t + 2000)).contains(DateTimeFormatter.ofPattern("dd/MMM/yyyy:HH:mm:ss Z",
                    Locale.ROOT).withZone(ZoneId.systemDefault()).format(Instant.ofEpochMilli(t + 2000))));
        } finally {
            log.close();
        }
    }

    @Test
    void queuedLinesAreAllWrittenByCloseAndNoneDropped() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        AccessLog log = AccessLog.create(AccessLog.Format.COMBINED, out, false, "test", 10_000);
        for (int i = 0; i < 5_000; i++) {
            log.log(at(1_000L * i));
        }
        log.close();
        assertEquals(5_000, log.written());
        assertEquals(0, log.dropped());
        assertEquals(5_000, out.toString().lines().count());
    }

    @Test
    void aFailingOutputDropsAndCountsLinesAndNeverReachesTheRequestPath() {
        java.io.OutputStream broken = new java.io.OutputStream() {
            @Override
            public void write(int b) throws java.io.IOException {
                throw new java.io.IOException("disk full");
            }

            @Override
            public void write(byte[] b, int off, int len) throws java.io.IOException {
                throw new java.io.IOException("disk full");
            }
        };
        AccessLog log = AccessLog.create(AccessLog.Format.JSON, broken, false, "broken", 10_000);
        for (int i = 0; i < 100_000; i++) {   // more than the 64 KB buffer: the writes reach the broken stream
            log.log(at(1_000L * i));   // never throws, whatever the output does
        }
        log.close();
        // at most one 64 KB buffer of lines (each over 100 bytes) was accepted before the first write failed
        assertTrue(log.written() <= 64 * 1024 / 100, "written " + log.written());
        assertTrue(log.dropped() >= 100_000 - 64 * 1024 / 100, "dropped " + log.dropped());
        log.log(at(0));   // closed: dropped and counted, not thrown
        assertTrue(log.dropped() >= 1);
    }
}
