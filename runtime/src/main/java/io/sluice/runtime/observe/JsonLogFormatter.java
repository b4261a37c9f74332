package io.sluice.runtime.observe;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * One JSON object per log line (java.util.logging, which Helidon and Sluice log through):
 * {@code {"time":"2026-11-22T10:15:30.123Z","level":"WARN","logger":"…","thread":"…","message":"…",
 * "trace_id":"…","span_id":"…","error":{"type":"…","message":"…","stack":"…"}}}. {@code trace_id}/{@code span_id}
 * are those of the span current on the logging thread (a request being proxied, when tracing is on);
 * {@code error} is present when the record carries an exception.
 *
 * <p>Selected with {@code sluice start --log-format json} or {@code SLUICE_LOG_FORMAT=json}; a custom
 * {@code java.util.logging.config.file} may name it as a handler's {@code formatter}.
 */
public final class JsonLogFormatter extends Formatter {
    private static final JsonFactory JSON = new JsonFactory();

    @Override
    public String format(LogRecord r) {
        StringWriter out = new StringWriter(160);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("time", Instant.ofEpochMilli(r.getMillis()).toString());
            g.writeStringField("level", level(r.getLevel()));
            g.writeStringField("logger", r.getLoggerName());
            String thread = Thread.currentThread().getName();   // handlers format on the logging thread
            g.writeStringField("thread", thread.isEmpty() ? "#" + r.getLongThreadID() : thread);   // virtual: no name
            g.writeStringField("message", formatMessage(r));
            SpanContext span = Span.current().getSpanContext();
            if (span.isValid()) {
                g.writeStringField("trace_id", span.getTraceId());
                g.writeStringField("span_id", span.getSpanId());
            }
            Throwable t = r.getThrown();
            if (t != null) {
                g.writeObjectFieldStart("error");
                g.writeStringField("type", t.getClass().getName());
                g.writeStringField("message", t.getMessage());
                StringWriter stack = new StringWriter();
                t.printStackTrace(new PrintWriter(stack));
                g.writeStringField("stack", stack.toString());
                g.writeEndObject();
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);   // a StringWriter does not fail
        }
        return out.append('\n').toString();
    }

    /** Level names as log pipelines expect them. */
    static String level(Level l) {
        int v = l.intValue();
        if (v >= Level.SEVERE.intValue()) {
            return "ERROR";
        }
        if (v >= Level.WARNING.intValue()) {
            return "WARN";
        }
        if (v >= Level.INFO.intValue()) {
            return "INFO";
        }
        if (v >= Level.FINE.intValue()) {
            return "DEBUG";
        }
        return "TRACE";
    }

    /** Switches every handler of the root logger (the console, by default) to JSON lines. */
    public static void install() {
        for (Handler h : Logger.getLogger("").getHandlers()) {
            h.setFormatter(new JsonLogFormatter());
        }
    }
}
