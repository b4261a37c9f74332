package io.sluice.builtin.kafka_logger;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.sluice.plugin.Completion;
import io.sluice.plugin.Consumer;
import io.sluice.plugin.Exchange;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.Map;

/** Writes the JSON access record of one exchange (the format is documented in plugins.md). */
final class AccessRecord {
    private static final JsonFactory JSON = new JsonFactory();

    private AccessRecord() {
    }

    /**
     * @param ex   the finished exchange
     * @param c    how it ended
     * @param now  when it ended (the arrival time is {@code now} minus its duration)
     * @param node the producing process's id
     * @param seq  the record's sequence number in that process
     * @return one JSON object, UTF-8, on one line
     */
    /** The trace id of the W3C {@code traceparent} the gateway sent upstream ({@code 00-<trace>-<span>-<flags>}). */
    static String traceId(String traceparent) {
        return traceparent != null && traceparent.length() >= 55 && traceparent.charAt(2) == '-'
                ? traceparent.substring(3, 35) : null;
    }

    static byte[] json(Exchange ex, Completion c, Instant now, String node, long seq) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(512);
        try (JsonGenerator g = JSON.createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("request_id", ex.requestId());
            g.writeStringField("trace_id", traceId(ex.request().headers().firstOrNull("traceparent")));
            g.writeStringField("time", DateTimeFormatter.ISO_INSTANT.format(
                    now.minusNanos(c.durationNanos()).truncatedTo(ChronoUnit.MILLIS)));
            g.writeStringField("route", ex.route().id());
            g.writeStringField("consumer", ex.consumer().map(Consumer::id).orElse(null));
            g.writeStringField("method", ex.request().method());
            g.writeStringField("path", ex.request().path());
            g.writeNumberField("status", c.status());
            g.writeStringField("upstream", c.upstreamTarget());
            g.writeObjectFieldStart("latency_ms");
            g.writeNumberField("gateway", millis(c.durationNanos()));
            if (c.upstreamNanos() < 0) {
                g.writeNullField("upstream");
            } else {
                g.writeNumberField("upstream", millis(c.upstreamNanos()));
            }
            g.writeObjectFieldStart("filters");
            Map<String, Long> filters = new LinkedHashMap<>();
            for (Completion.FilterTime t : c.filters()) {
                filters.merge(t.name(), t.nanos(), Long::sum);
            }
            for (Map.Entry<String, Long> e : filters.entrySet()) {
                g.writeNumberField(e.getKey(), millis(e.getValue()));
            }
            g.writeEndObject();
            g.writeEndObject();
            g.writeObjectFieldStart("bytes");
            size(g, "request", c.requestBytes());
            size(g, "response", c.responseBytes());
            g.writeEndObject();
            g.writeStringField("error", c.error());
            g.writeStringField("node", node);
            g.writeNumberField("seq", seq);
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);   // not with a byte array
        }
        return out.toByteArray();
    }

    /** Milliseconds with microsecond precision. */
    private static double millis(long nanos) {
        return Math.round(nanos / 1_000.0) / 1_000.0;
    }

    private static void size(JsonGenerator g, String name, long bytes) throws IOException {
        if (bytes < 0) {
            g.writeNullField(name);
        } else {
            g.writeNumberField(name, bytes);
        }
    }
}
