package io.sluice.builtin.kafka_logger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.builtin.DependencyStatus;
import io.sluice.runtime.SluiceServer;
import io.sluice.runtime.testing.EchoUpstream;
import io.sluice.runtime.testing.Gateways;
import io.sluice.runtime.testing.KafkaBroker;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * kafka-logger through a real node, a real upstream and a real single-node KRaft broker that the tests stop and
 * start again: records arrive and parse, every record is delivered or counted as dropped across a broker restart,
 * the request path does not slow down while the broker is down, and the spill file keeps to its bound.
 */
class KafkaLoggerIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    private static KafkaBroker broker;
    private static EchoUpstream up;

    @TempDir
    Path spillDir;
    private SluiceServer gw;
    private String topic;

    @BeforeAll
    static void startBroker() throws Exception {
        broker = KafkaBroker.start();
        up = EchoUpstream.start("up");
    }

    @AfterAll
    static void stopBroker() throws IOException {
        up.close();
        broker.close();
    }

    @AfterEach
    void stopGateway() throws Exception {
        if (gw != null) {
            gw.close();
        }
        broker.startAgain();   // for the next test, whatever this one did
        if (topic != null) {
            TopicSenders.close(broker.bootstrapServers(), topic);   // no producer left retrying
        }
    }

    /** A gateway with one route {@code /kl/**} logging to {@code topic}. */
    private void gateway(String topic, long spillMaxBytes) throws Exception {
        this.topic = topic;
        broker.createTopic(topic);
        gw = Gateways.start("""
                routes:
                  - id: logged
                    paths: ["/kl/**"]
                    upstream: {targets: [{url: "%s"}]}
                    plugins:
                      - {name: test-trace, config: {tag: a}}
                      - name: kafka-logger
                        config:
                          bootstrap_servers: "%s"
                          topic: %s
                          spill_dir: "%s"
                          spill_max_bytes: %d
                          producer: {linger.ms: 5}
                """.formatted(up.url(), broker.bootstrapServers(), topic, spillDir, spillMaxBytes));
    }

    private HttpResponse<String> get(String path) {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gw.proxyPort() + path))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static JsonNode parse(ConsumerRecord<String, String> r) {
        try {
            return JSON.readTree(r.value());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Distinct {@code seq}s consumed from the topic, waiting until there are {@code expected} (or 30 s passed). */
    private Set<Long> consumedSeqs(long expected) {
        Set<Long> seqs = new HashSet<>();
        broker.consume(topic, all -> {
            seqs.clear();
            all.forEach(r -> seqs.add(parse(r).get("seq").asLong()));
            return seqs.size() >= expected;
        }, Duration.ofSeconds(30));
        return seqs;
    }

    /** A {@code sluice_kafka_records_total} sample of this test's topic, from the node's /metrics. */
    private long records(String outcome) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + gw.adminPort() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
        String labels = "bootstrap=\"" + broker.bootstrapServers() + "\",outcome=\"" + outcome + "\",topic=\"" + topic + "\"";
        Matcher m = Pattern.compile("^sluice_kafka_records_total\\{" + Pattern.quote(labels) + "} (\\S+)$",
                Pattern.MULTILINE).matcher(r.body());
        assertTrue(m.find(), "no " + labels + " in\n" + r.body());
        return (long) Double.parseDouble(m.group(1));
    }

    private Path spillFile() throws IOException {
        try (Stream<Path> files = Files.list(spillDir)) {
            return files.filter(f -> f.getFileName().toString().startsWith(topic + "-")).findFirst().orElseThrow();
        }
    }

    @Test
    void aRequestsRecordArrivesWithItsFields() throws Exception {
        gateway("kl-fields", 1 << 20);
        HttpResponse<String> res = get("/kl/hello");
        assertEquals(200, res.statusCode());
        String id = res.headers().firstValue("X-Request-Id").orElseThrow();
        List<ConsumerRecord<String, String>> got = broker.consume(topic, all -> !all.isEmpty(), Duration.ofSeconds(20));
        assertEquals(1, got.size(), "one record per request");
        ConsumerRecord<String, String> rec = got.getFirst();
        assertEquals(id, rec.key());
        JsonNode r = parse(rec);
        assertEquals(id, r.get("request_id").asText());
        assertEquals("logged", r.get("route").asText());
        assertEquals(200, r.get("status").asInt());
        assertEquals("GET", r.get("method").asText());
        assertEquals("/kl/hello", r.get("path").asText());
        assertEquals(up.url(), r.get("upstream").asText());
        assertTrue(r.get("consumer").isNull());
        assertTrue(r.get("error").isNull());
        JsonNode latency = r.get("latency_ms");
        assertTrue(latency.get("gateway").asDouble() > 0 && latency.get("upstream").asDouble() > 0, latency.toString());
        assertTrue(latency.get("gateway").asDouble() >= latency.get("upstream").asDouble(), latency.toString());
        assertEquals(List.of("test-trace", "kafka-logger"), List.copyOf(fieldNames(latency.get("filters"))));
        assertEquals(res.body().length(), r.get("bytes").get("response").asLong());
        assertEquals(TopicSenders.NODE, r.get("node").asText());
        assertEquals(1, r.get("seq").asLong());
        assertTrue(java.time.Instant.parse(r.get("time").asText()).isAfter(java.time.Instant.now().minusSeconds(60)));
        assertEquals(1, records("sent"));
        assertEquals(0, records("dropped"));
    }

    private static List<String> fieldNames(JsonNode n) {
        List<String> out = new ArrayList<>();
        n.fieldNames().forEachRemaining(out::add);
        return out;
    }

    /**
     * A client sends {@code n} requests at a steady pace on its own thread.
     *
     * @return the thread; {@code done} counts finished requests, {@code failure} keeps the first problem
     */
    private Thread client(int n, long pauseMillis, AtomicInteger done, AtomicReference<String> failure) {
        return Thread.ofPlatform().start(() -> {
            for (int i = 0; i < n; i++) {
                try {
                    int status = get("/kl/" + i).statusCode();
                    if (status != 200) {
                        failure.compareAndSet(null, "request " + i + ": status " + status);
                    }
                    Thread.sleep(pauseMillis);
                } catch (Exception e) {
                    failure.compareAndSet(null, "request " + i + ": " + e);
                }
                done.incrementAndGet();
            }
        });
    }

    private static void awaitCount(AtomicInteger count, int atLeast) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (count.get() < atLeast && System.nanoTime() < end) {
            Thread.sleep(5);
        }
    }

    @Test
    void everyRecordIsDeliveredOrCountedAcrossABrokerRestart() throws Exception {
        int n = 800;
        gateway("kl-restart", 64L << 20);
        AtomicInteger done = new AtomicInteger();
        AtomicReference<String> failure = new AtomicReference<>();
        Thread c = client(n, 4, done, failure);
        awaitCount(done, 150);
        broker.stop();
        int stoppedAt = done.get();
        Thread.sleep(3000);   // longer than the sender's stall detection: records go to the spill file
        int restartedAt = done.get();
        broker.startAgain();
        c.join(60_000);
        assertNull(failure.get(), "the gateway answered every request while the broker was away");
        assertEquals(n, done.get());

        long dropped = records("dropped");
        Set<Long> seqs = consumedSeqs(n - dropped);
        List<Long> stray = seqs.stream().filter(s -> s < 1 || s > n).toList();
        assertEquals(List.of(), stray, "only this test's records");
        List<Long> missing = new ArrayList<>();
        for (long s = 1; s <= n; s++) {
            if (!seqs.contains(s)) {
                missing.add(s);
            }
        }
        System.out.printf("KafkaLoggerIT restart: broker stopped after request %d, restarted after %d of %d;"
                        + " consumed %d distinct, sent %d (incl. duplicates), spilled %d, dropped %d%n",
                stoppedAt, restartedAt, n, seqs.size(), records("sent"), records("spilled"), dropped);
        assertEquals(n, seqs.size() + dropped, "not consumed and not counted as dropped: " + missing);
        assertEquals(0, dropped, "a roomy spill file drops nothing");
        assertTrue(records("spilled") > 0, "the outage outlasted the stall detection: records went through the spill file");
    }

    @Test
    void theBrokerGoingAndComingBackIsReportedAsADependency() throws Exception {
        gateway("kl-health", 64L << 20);
        awaitKafka(true, "/kl/health/up");
        broker.stop();
        DependencyStatus.State down = awaitKafka(false, "/kl/health/down");
        assertTrue(down.reason().orElseThrow().startsWith(broker.bootstrapServers() + "/kl-health: "), down.toString());
        broker.startAgain();
        awaitKafka(true, "/kl/health/back");
    }

    /** Sends requests (each one a record) until the {@code kafka} dependency is up or down, within 30 s. */
    private DependencyStatus.State awaitKafka(boolean up, String path) throws Exception {
        long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        for (int i = 0; ; i++) {
            assertEquals(200, get(path + "/" + i).statusCode());
            DependencyStatus.State s = DependencyStatus.check().get(DependencyStatus.KAFKA);
            if (s != null && s.up() == up) {
                return s;
            }
            if (System.nanoTime() > end) {
                throw new AssertionError("kafka not " + (up ? "up" : "down") + " within 30 s: " + s);
            }
            Thread.sleep(50);
        }
    }

    /** Latency of {@code n} sequential requests {@code pauseMillis} apart, in ms, sorted. */
    private double[] latencies(int n, long pauseMillis) throws InterruptedException {
        double[] ms = new double[n];
        for (int i = 0; i < n; i++) {
            long t = System.nanoTime();
            assertEquals(200, get("/kl/lat/" + i).statusCode());
            ms[i] = (System.nanoTime() - t) / 1e6;
            Thread.sleep(pauseMillis);
        }
        Arrays.sort(ms);
        return ms;
    }

    /** Waits until the sender has accounted for at least {@code n} records as spilled or dropped. */
    private void awaitSpilledOrDropped(long n) throws Exception {
        long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (records("spilled") + records("dropped") < n && System.nanoTime() < end) {
            Thread.sleep(20);
        }
    }

    private static double p(double[] sorted, double q) {
        return sorted[(int) Math.ceil(q * sorted.length) - 1];
    }

    @Test
    void requestLatencyDoesNotSufferWhileTheBrokerIsDown() throws Exception {
        gateway("kl-latency", 64L << 20);
        latencies(300, 0);   // warm-up
        double[] upMs = latencies(800, 3);
        broker.stop();
        double[] downMs = latencies(800, 3);   // ~3 s from the moment the broker went: detection, then spilling
        awaitSpilledOrDropped(1);
        System.out.printf("KafkaLoggerIT latency over 800 sequential requests 3 ms apart: broker up p50 %.2f p99 %.2f max %.2f ms;"
                        + " broker down p50 %.2f p99 %.2f max %.2f ms; spilled %d%n",
                p(upMs, 0.5), p(upMs, 0.99), upMs[upMs.length - 1], p(downMs, 0.5), p(downMs, 0.99),
                downMs[downMs.length - 1], records("spilled"));
        assertTrue(p(downMs, 0.99) < p(upMs, 0.99) + 50, "p99 broker down " + p(downMs, 0.99)
                + " ms vs up " + p(upMs, 0.99) + " ms");
        assertTrue(records("spilled") > 0, "the outage was seen");
    }

    @Test
    void aTinySpillFileKeepsToItsBoundAndCountsWhatItDrops() throws Exception {
        long bound = 4096;   // about ten records
        gateway("kl-tiny", bound);
        for (int i = 0; i < 5; i++) {
            assertEquals(200, get("/kl/before/" + i).statusCode());
        }
        assertEquals(5, consumedSeqs(5).size());
        broker.stop();
        Path file = spillFile();
        AtomicLong largest = new AtomicLong();
        AtomicInteger watching = new AtomicInteger(1);
        Thread watcher = Thread.ofPlatform().start(() -> {
            while (watching.get() == 1) {
                try {
                    largest.accumulateAndGet(Files.size(file), Math::max);
                    Thread.sleep(1);
                } catch (Exception e) {
                    return;
                }
            }
        });
        int n = 5;
        assertEquals(200, get("/kl/during/first").statusCode());   // in flight, never acknowledged
        n++;
        Thread.sleep(TopicSender.STALL_MILLIS + 500);               // the sender gives up on the broker
        for (int i = 0; i < 200; i++, n++) {
            assertEquals(200, get("/kl/during/" + i).statusCode());
        }
        awaitSpilledOrDropped(200);
        watching.set(0);
        watcher.join();
        long dropped = records("dropped");
        System.out.printf("KafkaLoggerIT tiny spill: bound %d bytes, largest seen %d, spilled %d, dropped %d of %d%n",
                bound, largest.get(), records("spilled"), dropped, n);
        assertTrue(dropped > 0, "a 4 KiB spill cannot hold 200 records");
        assertTrue(largest.get() <= bound, "spill file reached " + largest.get() + " bytes");
        assertTrue(Files.size(file) <= bound);

        broker.startAgain();
        Set<Long> seqs = consumedSeqs(n - dropped);
        assertEquals(n, seqs.size() + dropped, "every record consumed or counted as dropped");
    }

    @Test
    void oneProducerPerBrokersAndTopicAcrossConfigReloads() throws Exception {
        gateway("kl-shared", 1 << 20);
        TopicSender first = TopicSenders.find(broker.bootstrapServers(), topic).orElseThrow();
        long threads = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("sluice-kafka-logger-") || t.getName().startsWith("kafka-producer-network-thread"))
                .count();
        for (int i = 0; i < 5; i++) {
            gw.gateway().apply(Gateways.parse(Gateways.route("other" + i, "/o" + i, up.url()) + """
                    plugins:
                      - {name: kafka-logger, config: {bootstrap_servers: "%s", topic: %s, spill_dir: "%s", spill_max_bytes: 1048576, producer: {linger.ms: 5}}}
                    """.formatted(broker.bootstrapServers(), topic, spillDir).indent(4)));
        }
        assertEquals(first, TopicSenders.find(broker.bootstrapServers(), topic).orElseThrow());
        assertEquals(threads, Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("sluice-kafka-logger-") || t.getName().startsWith("kafka-producer-network-thread"))
                .count(), "no new threads");
        assertEquals(200, get("/o4").statusCode());
        assertNotNull(consumedSeqs(1));
    }
}
