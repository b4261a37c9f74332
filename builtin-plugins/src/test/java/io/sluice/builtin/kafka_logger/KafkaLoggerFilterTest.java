package io.sluice.builtin.kafka_logger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.plugin.Completion;
import io.sluice.plugin.Consumer;
import io.sluice.plugin.Outcome;
import io.sluice.plugin.testkit.TestExchange;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The record a finished exchange produces, through the filter and a sender on a {@link MockProducer}. */
class KafkaLoggerFilterTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path dir;
    private final MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null, new ByteArraySerializer(),
            new ByteArraySerializer());
    private TopicSender sender;

    private KafkaLoggerFilter filter() {
        sender = new TopicSender(new KafkaLoggerConfig("127.0.0.1:1", "filter-test", 100, dir, 1 << 20, Map.of()),
                "node-1", props -> producer);
        return new KafkaLoggerFilter(sender);
    }

    @AfterEach
    void stop() {
        sender.close(Duration.ofMillis(100));
    }

    private JsonNode next(int index) throws Exception {
        long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (producer.history().size() <= index) {
            assertTrue(System.nanoTime() < end, "no record sent");
            Thread.sleep(5);
        }
        return JSON.readTree(producer.history().get(index).value());
    }

    @Test
    void writesOneRecordWithEveryFieldKeyedByRequestId() throws Exception {
        KafkaLoggerFilter f = filter();
        TestExchange ex = TestExchange.request("POST", "/users/7?token=secret").requestId("req-1")
                .route("users", Map.of());
        ex.request().headers().set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        assertEquals(Outcome.proceed(), f.onRequest(ex));
        ex.consumer(Consumer.of("alice"));
        Instant before = Instant.now();
        f.onComplete(ex, new Completion(201, 12_345_678, 9_876_543, "http://127.0.0.1:9001", 17, 42,
                List.of(new Completion.FilterTime("key-auth", 250_000), new Completion.FilterTime("kafka-logger", 1_500),
                        new Completion.FilterTime("key-auth", 100_000)), null));
        Instant after = Instant.now();
        JsonNode r = next(0);
        assertEquals("req-1", new String(producer.history().getFirst().key(), StandardCharsets.UTF_8));
        assertEquals("filter-test", producer.history().getFirst().topic());
        assertEquals(List.of("request_id", "trace_id", "time", "route", "consumer", "method", "path", "status", "upstream",
                "latency_ms", "bytes", "error", "node", "seq"), List.copyOf(iterable(r.fieldNames())));
        assertEquals("req-1", r.get("request_id").asText());
        assertEquals("4bf92f3577b34da6a3ce929d0e0e4736", r.get("trace_id").asText(), "links the record to its trace");
        Instant time = Instant.parse(r.get("time").asText());
        assertTrue(!time.isBefore(before.minusMillis(14)) && !time.isAfter(after.minusMillis(12)),
                "arrival = end - 12.3 ms, to the millisecond: " + time + " not in " + before + " .. " + after);
        assertTrue(r.get("time").asText().endsWith("Z"));
        assertEquals("users", r.get("route").asText());
        assertEquals("alice", r.get("consumer").asText());
        assertEquals("POST", r.get("method").asText());
        assertEquals("/users/7", r.get("path").asText(), "no query string: it may hold credentials");
        assertEquals(201, r.get("status").asInt());
        assertEquals("http://127.0.0.1:9001", r.get("upstream").asText());
        assertEquals(12.346, r.get("latency_ms").get("gateway").asDouble());
        assertEquals(9.877, r.get("latency_ms").get("upstream").asDouble());
        assertEquals(JSON.readTree("{\"key-auth\": 0.35, \"kafka-logger\": 0.002}"), r.get("latency_ms").get("filters"),
                "a plugin twice in the chain: its times summed");
        assertEquals(JSON.readTree("{\"request\": 17, \"response\": 42}"), r.get("bytes"));
        assertTrue(r.get("error").isNull());
        assertEquals("node-1", r.get("node").asText());
        assertEquals(1, r.get("seq").asLong());
        assertFalse(new String(producer.history().getFirst().value(), StandardCharsets.UTF_8).contains("\n"));
    }

    @Test
    void unknownsAreNullAndSequenceNumbersIncrease() throws Exception {
        KafkaLoggerFilter f = filter();
        TestExchange ex = TestExchange.request("GET", "/x").requestId("req-2");
        f.onComplete(ex, new Completion(502, 1_000_000, -1, null, -1, -1, List.of(), "upstream_error"));
        f.onComplete(TestExchange.request("GET", "/y").requestId("req-3"),
                new Completion(0, 1_000, -1, null, 0, -1, List.of(), "client_aborted"));
        JsonNode r = next(0);
        assertTrue(r.get("consumer").isNull());
        assertTrue(r.get("upstream").isNull());
        assertTrue(r.get("latency_ms").get("upstream").isNull());
        assertTrue(r.get("bytes").get("request").isNull());
        assertTrue(r.get("bytes").get("response").isNull());
        assertEquals("upstream_error", r.get("error").asText());
        assertEquals(0, r.get("latency_ms").get("filters").size());
        assertEquals(1, r.get("seq").asLong());
        JsonNode second = next(1);
        assertEquals(2, second.get("seq").asLong());
        assertEquals(0, second.get("status").asInt());
        assertEquals(0, second.get("bytes").get("request").asLong());
    }

    private static <T> List<T> iterable(java.util.Iterator<T> it) {
        List<T> out = new java.util.ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }
}
