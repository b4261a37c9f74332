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

/** The line formats' timestamps (formatted once per second and reused) and the writer's timer-driven drain. */
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
    void queuedLinesAreWrittenWithoutAnyWakeUpAndAllOfThemOnClose() {
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
}
