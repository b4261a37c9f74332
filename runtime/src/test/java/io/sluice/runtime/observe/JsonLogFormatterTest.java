package io.sluice.runtime.observe;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.context.Scope;
import org.junit.jupiter.api.Test;

import java.util.logging.Level;
import java.util.logging.LogRecord;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JsonLogFormatterTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final JsonLogFormatter formatter = new JsonLogFormatter();

    private static LogRecord record(Level level, String message, Object... params) {
        LogRecord r = new LogRecord(level, message);
        r.setLoggerName("io.sluice.test");
        r.setParameters(params);
        r.setInstant(java.time.Instant.parse("2026-11-22T10:15:30.123Z"));
        return r;
    }

    @Test
    void oneJsonObjectPerLineWithEscapingAndParameters() throws Exception {
        String line = formatter.format(record(Level.WARNING, "route {0} said \"no\"\nsecond line", "users"));
        assertTrue(line.endsWith("\n"));
        assertEquals(1, line.split("\n").length, "the message's newline is escaped, not a second line");
        JsonNode j = JSON.readTree(line);
        assertEquals("2026-11-22T10:15:30.123Z", j.get("time").asText());
        assertEquals("WARN", j.get("level").asText());
        assertEquals("io.sluice.test", j.get("logger").asText());
        assertEquals("route users said \"no\"\nsecond line", j.get("message").asText());
        assertEquals(Thread.currentThread().getName(), j.get("thread").asText());
        assertFalse(j.has("trace_id"), "no span: no trace id");
        assertFalse(j.has("error"));
    }

    @Test
    void carriesTheExceptionAndTheCurrentSpan() throws Exception {
        LogRecord r = record(Level.SEVERE, "failed");
        r.setThrown(new IllegalStateException("broken"));
        SpanContext sc = SpanContext.create("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7",
                TraceFlags.getSampled(), TraceState.getDefault());
        JsonNode j;
        try (Scope ignored = Span.wrap(sc).makeCurrent()) {
            j = JSON.readTree(formatter.format(r));
        }
        assertEquals("ERROR", j.get("level").asText());
        assertEquals("4bf92f3577b34da6a3ce929d0e0e4736", j.get("trace_id").asText());
        assertEquals("00f067aa0ba902b7", j.get("span_id").asText());
        assertEquals("java.lang.IllegalStateException", j.at("/error/type").asText());
        assertEquals("broken", j.at("/error/message").asText());
        assertTrue(j.at("/error/stack").asText().contains("JsonLogFormatterTest"), j.toString());
    }

    @Test
    void anUnnamedVirtualThreadIsNamedByItsId() throws Exception {
        // request threads are unnamed virtual threads: a record logged on one names it by its id
        String[] line = new String[1];
        Thread t = Thread.ofVirtual().unstarted(() -> line[0] = formatter.format(record(Level.INFO, "request")));
        t.start();
        t.join();
        assertEquals("#" + t.threadId(), JSON.readTree(line[0]).get("thread").asText());
    }

    @Test
    void levelsAreNamedAsLogPipelinesExpect() {
        assertEquals("ERROR", JsonLogFormatter.level(Level.SEVERE));
        assertEquals("WARN", JsonLogFormatter.level(Level.WARNING));
        assertEquals("INFO", JsonLogFormatter.level(Level.INFO));
        assertEquals("DEBUG", JsonLogFormatter.level(Level.CONFIG));
        assertEquals("DEBUG", JsonLogFormatter.level(Level.FINE));
        assertEquals("TRACE", JsonLogFormatter.level(Level.FINEST));
    }
}
