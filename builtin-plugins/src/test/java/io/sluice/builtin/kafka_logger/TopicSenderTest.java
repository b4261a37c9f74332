package io.sluice.builtin.kafka_logger;

import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The sender's state machine against a {@link MockProducer} whose sends complete only when the test says so:
 * live sends, failures into the spill file, probing, ordered replay, drops when the spill is full or off, and a
 * stalled broker detected without any failure.
 */
class TopicSenderTest {
    @TempDir
    Path dir;
    private final MockProducer<byte[], byte[]> producer = new MockProducer<>(false, null, new ByteArraySerializer(),
            new ByteArraySerializer());
    private TopicSender sender;

    private TopicSender start(long spillMaxBytes) {
        KafkaLoggerConfig c = new KafkaLoggerConfig("127.0.0.1:1", "sender-test", 100, dir, spillMaxBytes, Map.of());
        sender = new TopicSender(c, "node-1", props -> {
            assertEquals("all", props.get("acks"));
            assertEquals(true, props.get("enable.idempotence"));
            return producer;
        });
        return sender;
    }

    @AfterEach
    void stop() {
        if (sender != null) {
            sender.close(Duration.ofMillis(100));
        }
    }

    private static void offer(TopicSender s, int... seqs) {
        for (int seq : seqs) {
            s.offer(("id-" + seq).getBytes(StandardCharsets.UTF_8),
                    ("{\"seq\":" + seq + "}").getBytes(StandardCharsets.UTF_8));
        }
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(5);
        }
    }

    private int sends() {
        return producer.history().size();
    }

    /** The seq of each send since the {@code from}-th, in order. */
    private List<Integer> sentSeqs(int from) {
        return producer.history().subList(from, sends()).stream().map(ProducerRecord::value)
                .map(v -> new String(v, StandardCharsets.UTF_8).replaceAll("\\D", "")).map(Integer::parseInt).toList();
    }

    private static List<Integer> range(int from, int to) {
        return IntStream.rangeClosed(from, to).boxed().toList();
    }

    @Test
    void recordsGoStraightToTheProducerWhileItAcknowledges() throws Exception {
        TopicSender s = start(1 << 20);
        offer(s, 1, 2, 3);
        await("3 sends", () -> sends() == 3);
        assertEquals(List.of("id-1", "id-2", "id-3"),
                producer.history().stream().map(r -> new String(r.key(), StandardCharsets.UTF_8)).toList());
        assertEquals("sender-test", producer.history().getFirst().topic());
        for (int i = 0; i < 3; i++) {
            producer.completeNext();
        }
        assertEquals(3, s.sent());
        assertEquals(0, s.spilled());
        assertEquals(0, s.dropped());
    }

    @Test
    void failuresAreSpilledThenReplayedInOrderOnceAProbeIsAcknowledged() throws Exception {
        TopicSender s = start(1 << 20);
        offer(s, 1, 2, 3, 4, 5);
        await("5 sends", () -> sends() == 5);
        for (int i = 0; i < 5; i++) {
            producer.errorNext(new TimeoutException("broker down"));
        }
        assertEquals(5, s.spilled());
        offer(s, 6, 7, 8);   // while down: straight to the spill file
        await("3 more spilled", () -> s.spilled() == 8);

        await("a probe", () -> sends() == 6);
        assertEquals(List.of(1), sentSeqs(5), "the probe is the oldest spilled record, alone");
        producer.errorNext(new TimeoutException("still down"));
        await("a second probe after the back-off", () -> sends() == 7);
        assertEquals(List.of(1), sentSeqs(6));
        producer.completeNext();

        await("the rest of the spill in one batch", () -> sends() == 14);
        assertEquals(range(2, 8), sentSeqs(7));
        for (int i = 0; i < 7; i++) {
            producer.completeNext();
        }
        await("the spill file emptied", () -> s.spillBytes() == 0);
        assertEquals(8, s.sent());
        assertEquals(0, s.dropped());

        offer(s, 9);
        await("a live send", () -> sends() == 15);
        assertEquals(List.of(9), sentSeqs(14));
    }

    @Test
    void aReplayBatchThatFailsPartWayResumesAtItsFirstUnacknowledgedRecord() throws Exception {
        TopicSender s = start(1 << 20);
        offer(s, 1, 2, 3, 4);
        await("4 sends", () -> sends() == 4);
        for (int i = 0; i < 4; i++) {
            producer.errorNext(new TimeoutException("down"));
        }
        await("a probe", () -> sends() == 5);
        producer.completeNext();   // seq 1 delivered: back up
        await("a batch", () -> sends() == 8);
        assertEquals(List.of(2, 3, 4), sentSeqs(5));
        producer.completeNext();   // 2
        producer.errorNext(new TimeoutException("down again"));   // 3
        producer.completeNext();   // 4, but after a failure: sent again
        await("a probe from seq 3", () -> sends() == 9);
        assertEquals(List.of(3), sentSeqs(8));
        producer.completeNext();
        await("the rest", () -> sends() == 10);
        assertEquals(List.of(4), sentSeqs(9), "at least once: 4 is sent twice, nothing is skipped");
        producer.completeNext();
        await("the spill file emptied", () -> s.spillBytes() == 0);
        assertEquals(0, s.dropped());
    }

    @Test
    void withoutASpillFileFailuresAreDroppedAndCounted() throws Exception {
        TopicSender s = start(0);
        offer(s, 1, 2);
        await("2 sends", () -> sends() == 2);
        producer.errorNext(new TimeoutException("down"));
        producer.errorNext(new TimeoutException("down"));
        assertEquals(2, s.dropped());
        assertEquals(0, s.spilled());
        assertTrue(Files.list(dir).findAny().isEmpty(), "no spill file");
    }

    @Test
    void aFullSpillFileDropsWhatDoesNotFitAndStaysWithinItsBound() throws Exception {
        TopicSender s = start(40);   // "id-N\t{"seq":N}\n" is 15 bytes: two fit
        offer(s, 1, 2, 3, 4, 5);
        await("5 sends", () -> sends() == 5);
        for (int i = 0; i < 5; i++) {
            producer.errorNext(new TimeoutException("down"));
        }
        assertEquals(2, s.spilled());
        assertEquals(3, s.dropped());
        assertEquals(30, s.spillBytes());
        assertTrue(Files.size(dir.resolve("sender-test-" + Integer.toHexString("127.0.0.1:1".hashCode()) + ".spill")) <= 40);
    }

    @Test
    void onceTheBrokerIsBackAFullSpillFileStillReplayingSendsNewRecordsInsteadOfDroppingThem() throws Exception {
        TopicSender s = start(40);
        offer(s, 1, 2, 3, 4);
        await("4 sends", () -> sends() == 4);
        for (int i = 0; i < 4; i++) {
            producer.errorNext(new TimeoutException("down"));
        }
        assertEquals(2, s.dropped());   // 3 and 4 did not fit
        await("a probe", () -> sends() == 5);
        producer.completeNext();        // 1: the broker is back
        await("the replay of 2", () -> sends() == 6);
        offer(s, 5, 6, 7);              // the file is still full
        await("3 live sends", () -> sends() == 9);
        assertEquals(List.of(1, 2, 5, 6, 7), sentSeqs(4));
        for (int i = 0; i < 4; i++) {
            producer.completeNext();
        }
        await("the spill file emptied", () -> s.spillBytes() == 0);
        assertEquals(2, s.dropped());
        assertEquals(5, s.sent());
    }

    @Test
    void aBrokerThatStopsAcknowledgingIsTreatedAsDownWithoutWaitingForTheDeliveryTimeout() throws Exception {
        TopicSender s = start(1 << 20);
        offer(s, 1);
        await("1 send", () -> sends() == 1);
        Thread.sleep(TopicSender.STALL_MILLIS + 200);   // no acknowledgement
        offer(s, 2);
        await("2 spilled", () -> s.spilled() == 1);
        await("a probe", () -> sends() == 2);
        assertEquals(List.of(2), sentSeqs(1));
        producer.completeNext();   // 1, late
        producer.completeNext();   // the probe
        await("the spill file emptied", () -> s.spillBytes() == 0);
        assertEquals(2, s.sent());
    }
}
