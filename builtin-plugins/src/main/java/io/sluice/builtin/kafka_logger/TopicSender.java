package io.sluice.builtin.kafka_logger;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.Tags;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * Delivers the access records of one (brokers, topic) pair for the whole process: a bounded queue the request
 * path offers to without blocking, one sender thread, one idempotent {@code acks=all} producer, one spill file.
 *
 * <p>While the broker takes records, the sender drains the queue into {@code KafkaProducer.send}. A record the
 * producer fails (its callback reports an error, or {@code send} gave up after {@code max.block.ms}), and a
 * record that finds the queue full, is appended to the spill file. The first failure, or no acknowledgement for
 * {@value #STALL_MILLIS} ms while records are in flight, switches the sender to spilling: from then on queued
 * records go to the file, and the sender probes the broker with one record from the head of the file every
 * {@value #PROBE_BACKOFF_MILLIS} ms (sent from a virtual thread, so a probe blocked in {@code send} for
 * {@code max.block.ms} does not hold up the queue). Once a probe is acknowledged the file is replayed in order, in batches of
 * {@value #BATCH}, new records still appended behind; when everything in it was acknowledged the file is
 * truncated and records go straight to the producer again. A record is dropped only when the spill cannot take
 * it (full, off, or unwritable); drops are counted and logged at most every {@value #WARN_EVERY_SECONDS} s.
 *
 * <p>Delivery is at least once: a replay batch that fails part-way is sent again from its first unacknowledged
 * record, so some records can arrive twice (same key and {@code seq}).
 */
final class TopicSender {
    private static final System.Logger LOG = System.getLogger(TopicSender.class.getName());
    static final int BATCH = 500;
    /** How often the sender takes what the request path queued, when it found nothing the last time. */
    static final long DRAIN_EVERY_MS = 5;
    static final long STALL_MILLIS = 2000;
    static final long PROBE_BACKOFF_MILLIS = 500;
    static final long WARN_EVERY_SECONDS = 10;
    private static final long SYNC_NANOS = TimeUnit.SECONDS.toNanos(1);

    /** One record waiting for the sender. */
    record Pending(byte[] key, byte[] value) {
    }

    private final KafkaLoggerConfig config;
    private final String node;
    private final Producer<byte[], byte[]> producer;
    private final SpillFile spill;
    private final ArrayBlockingQueue<Pending> queue;
    private final AtomicLong seq = new AtomicLong();
    private final AtomicLong sent = new AtomicLong();
    private final AtomicLong spilled = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong droppedUnreported = new AtomicLong();
    private final AtomicLong lastDropWarning = new AtomicLong(System.nanoTime() - TimeUnit.SECONDS.toNanos(WARN_EVERY_SECONDS));
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicBoolean outage = new AtomicBoolean();
    private final Set<Map<String, Object>> otherSettings = ConcurrentHashMap.newKeySet();
    private final List<Meter> meters = new ArrayList<>();
    private final Thread thread;
    private volatile long lastProgress = System.nanoTime();
    private volatile boolean degraded;
    private volatile String failure;   // why the last delivery attempt failed; null once one succeeds
    private volatile boolean running = true;
    // sender thread only
    private Replay replay;
    private long nextProbe;
    private long lastSync = System.nanoTime();

    /**
     * Builds the producer, opens the spill file (if any) and starts the sender thread.
     *
     * @param config    the first config naming this brokers and topic
     * @param node      the process's id, written into every record
     * @param producers makes the producer from its properties ({@code KafkaProducer::new}; a mock in tests)
     * @throws org.apache.kafka.common.config.ConfigException if the producer properties are unusable
     */
    TopicSender(KafkaLoggerConfig config, String node, Function<Map<String, Object>, Producer<byte[], byte[]>> producers) {
        this.config = config;
        this.node = node;
        this.queue = new ArrayBlockingQueue<>(config.queueSize());
        this.producer = producers.apply(producerProperties(config));
        this.spill = openSpill(config);
        this.degraded = spill != null && spill.size() > 0;   // left over from an earlier process: replay first
        Tags tags = Tags.of("topic", config.topic(), "bootstrap", config.bootstrapServers());
        String what = "Access records by outcome: sent (acknowledged by the broker), spilled (written to the spill"
                + " file; replayed later), dropped (lost: the spill file was full, off or unwritable)";
        meters.add(FunctionCounter.builder("sluice.kafka.records", sent, AtomicLong::get).tags(tags)
                .tag("outcome", "sent").description(what).register(Metrics.globalRegistry));
        meters.add(FunctionCounter.builder("sluice.kafka.records", spilled, AtomicLong::get).tags(tags)
                .tag("outcome", "spilled").description(what).register(Metrics.globalRegistry));
        meters.add(FunctionCounter.builder("sluice.kafka.records", dropped, AtomicLong::get).tags(tags)
                .tag("outcome", "dropped").description(what).register(Metrics.globalRegistry));
        meters.add(Gauge.builder("sluice.kafka.queue.depth", queue, ArrayBlockingQueue::size).tags(tags)
                .description("Access records waiting in memory for the Kafka sender thread").strongReference(true)
                .register(Metrics.globalRegistry));
        meters.add(Gauge.builder("sluice.kafka.spill.bytes", this, s -> s.spill == null ? 0 : s.spill.unread())
                .tags(tags).description("Bytes in the spill file not yet delivered").strongReference(true)
                .register(Metrics.globalRegistry));
        this.thread = Thread.ofPlatform().daemon().name("sluice-kafka-logger-" + config.topic()).start(this::run);
    }

    /**
     * The producer's properties: safe defaults, then the config's {@code producer} map, then the properties that
     * make delivery safe and the record format work, which nothing overrides.
     */
    static Map<String, Object> producerProperties(KafkaLoggerConfig c) {
        Map<String, Object> p = new HashMap<>();
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "sluice-kafka-logger-" + c.topic());
        p.put(ProducerConfig.LINGER_MS_CONFIG, 20);
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, 64 * 1024);
        p.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 1000);
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30_000);
        p.put(ProducerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 1000);
        p.putAll(c.producer());
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, c.bootstrapServers());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.remove(ProducerConfig.TRANSACTIONAL_ID_CONFIG);
        return p;
    }

    private static SpillFile openSpill(KafkaLoggerConfig c) {
        if (c.spillMaxBytes() == 0) {
            return null;
        }
        Path file = c.spillDir().resolve(c.topic() + "-"
                + Integer.toHexString(c.bootstrapServers().hashCode()) + ".spill");
        try {
            return SpillFile.open(file, c.spillMaxBytes());
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "kafka-logger: cannot use spill file " + file + " (" + e
                    + "); records for topic '" + c.topic() + "' the broker cannot take will be dropped");
            return null;
        }
    }

    /** @return the config this sender was built from */
    KafkaLoggerConfig config() {
        return config;
    }

    /**
     * Notes that another config names the same brokers and topic with different settings; they cannot take effect
     * while the process runs (the producer is shared), which is said once per distinct settings.
     */
    void sharedBy(KafkaLoggerConfig other) {
        if (!other.settings().equals(config.settings()) && otherSettings.add(other.settings())) {
            LOG.log(System.Logger.Level.WARNING, "kafka-logger: topic '" + config.topic() + "' at "
                    + config.bootstrapServers() + " already has a producer with " + config.settings()
                    + "; the new settings " + other.settings() + " take effect after a restart");
        }
    }

    /** @return the process's id, written into every record */
    String node() {
        return node;
    }

    /** @return the next record sequence number, from 1 */
    long nextSeq() {
        return seq.incrementAndGet();
    }

    /**
     * Hands a record to the sender without blocking: into the queue, or, if it is full, into the spill file.
     *
     * @param key   Kafka key
     * @param value Kafka value (one JSON object)
     */
    void offer(byte[] key, byte[] value) {
        Pending p = new Pending(key, value);
        if (!queue.offer(p)) {
            keep(p, "queue full");
        }
    }

    /** Appends behind the records already waiting in the spill file, so they stay in order. */
    private boolean spillAppend(Pending p) {
        if (spill.append(p.key(), p.value())) {
            spilled.incrementAndGet();
            return true;
        }
        return false;
    }

    /** The record could not be sent now: into the spill file, or dropped if it does not fit. */
    private void keep(Pending p, String why) {
        if (spill == null || !spillAppend(p)) {
            drop(1, spill == null ? why + ", no spill file" : why + ", spill file full ("
                    + config.spillMaxBytes() + " bytes)");
        }
    }

    private void drop(long n, String why) {
        dropped.addAndGet(n);
        droppedUnreported.addAndGet(n);
        long now = System.nanoTime();
        long last = lastDropWarning.get();
        if (now - last >= TimeUnit.SECONDS.toNanos(WARN_EVERY_SECONDS) && lastDropWarning.compareAndSet(last, now)) {
            LOG.log(System.Logger.Level.WARNING, "kafka-logger: dropped " + droppedUnreported.getAndSet(0)
                    + " access records for topic '" + config.topic() + "' (" + why + "); " + dropped.get()
                    + " since start");
        }
    }

    /** Failures that resending cannot fix: the record itself is refused. */
    private static boolean poison(Exception e) {
        return e instanceof RecordTooLargeException || e instanceof SerializationException;
    }

    private void degrade(String why) {
        failure = why;
        if (spill == null) {
            return;   // nothing to switch to: records keep going to the producer, failures are dropped
        }
        degraded = true;
        if (outage.compareAndSet(false, true)) {
            LOG.log(System.Logger.Level.WARNING, "kafka-logger: cannot deliver to topic '" + config.topic() + "' at "
                    + config.bootstrapServers() + " (" + why + "); spilling to " + spill.path() + " until it is back");
        }
    }

    private void begin() {
        if (inFlight.getAndIncrement() == 0) {
            lastProgress = System.nanoTime();
        }
    }

    private void end() {
        inFlight.decrementAndGet();
        lastProgress = System.nanoTime();
    }

    private ProducerRecord<byte[], byte[]> record(byte[] key, byte[] value) {
        return new ProducerRecord<>(config.topic(), key, value);
    }

    private void run() {
        List<Pending> batch = new ArrayList<>(BATCH);
        while (running) {
            try {
                batch.clear();
                queue.drainTo(batch, BATCH);
                if (batch.isEmpty()) {
                    // a timer, not a wait on the queue: a waiting thread is woken by every offer (a futex call and a
                    // context switch per access record, on the request path); the producer lingers longer anyway
                    Thread.sleep(DRAIN_EVERY_MS);
                }
                long now = System.nanoTime();
                if (!degraded && inFlight.get() > 0 && now - lastProgress > TimeUnit.MILLISECONDS.toNanos(STALL_MILLIS)) {
                    degrade("no acknowledgement for " + STALL_MILLIS + " ms");
                }
                for (Pending p : batch) {
                    if (degraded && spill != null) {
                        keep(p, "broker unavailable");
                    } else if (!spilling() || !spillAppend(p)) {
                        sendLive(p);   // the broker is up: a full spill file still replaying is no reason to drop
                    }
                }
                if (spill != null) {
                    replayStep(now);
                    if (now - lastSync > SYNC_NANOS) {
                        lastSync = now;
                        spill.sync();
                    }
                }
            } catch (InterruptedException e) {
                return;
            } catch (IOException | RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "kafka-logger: sender for topic '" + config.topic() + "': " + e, e);
                sleepQuietly();
            }
        }
    }

    private static void sleepQuietly() {
        try {
            Thread.sleep(PROBE_BACKOFF_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Whether new records go to the spill file: the broker is down, or older records wait there. */
    private boolean spilling() {
        return spill != null && (degraded || spill.size() > 0);
    }

    private void sendLive(Pending p) {
        begin();
        Callback done = (md, e) -> {
            end();
            if (e == null) {
                sent.incrementAndGet();
                failure = null;
            } else if (poison(e)) {
                drop(1, e.toString());
            } else {
                degrade(e.toString());
                keep(p, e.toString());
            }
        };
        try {
            producer.send(record(p.key(), p.value()), done);
        } catch (RuntimeException e) {
            end();
            degrade(e.toString());
            keep(p, e.toString());
        }
    }

    /** Replays the spill file: collects the last batch's outcome, then sends the next one (or one probe). */
    private void replayStep(long now) throws IOException {
        if (replay != null) {
            if (!replay.done()) {
                return;
            }
            long end = replay.ackedEnd();
            if (end >= 0) {
                spill.commit(end);
            }
            boolean failed = replay.failed.get() != null;
            if (failed) {
                degrade(replay.failed.get());
                nextProbe = now + TimeUnit.MILLISECONDS.toNanos(PROBE_BACKOFF_MILLIS);
            } else {
                degraded = false;   // the broker took a whole batch: it is back
            }
            replay = null;
            if (failed) {
                return;
            }
        }
        long lost = spill.takeLost();
        if (lost > 0) {
            drop(lost, "damaged lines in " + spill.path());
        }
        if (now - nextProbe < 0) {
            return;
        }
        List<SpillFile.Line> lines = spill.size() == 0 ? List.of() : spill.read(degraded ? 1 : BATCH);
        if (lines.isEmpty()) {
            if (spill.size() > 0) {
                spill.clearIfDrained();   // everything in it was delivered
            }
            if (degraded && inFlight.get() == 0) {
                degraded = false;   // nothing left to learn from: the next record tries the broker again
            }
            if (!degraded && outage.compareAndSet(true, false)) {
                LOG.log(System.Logger.Level.INFO, "kafka-logger: topic '" + config.topic() + "' at "
                        + config.bootstrapServers() + " takes records again; the spill file was replayed");
            }
            return;
        }
        replay = new Replay(lines);
        // its own thread: with the broker's metadata gone each send blocks up to max.block.ms, and meanwhile
        // this thread keeps moving queued records into the spill file
        Thread.ofVirtual().name("sluice-kafka-logger-replay-" + config.topic()).start(replay::start);
    }

    /** One batch of spilled records in flight; callbacks fill in each record's outcome. */
    private final class Replay {
        private static final int PENDING = 0;
        private static final int OK = 1;
        private static final int FAILED = 2;
        private final List<SpillFile.Line> lines;
        private final AtomicIntegerArray state;
        private final AtomicInteger remaining;
        private final java.util.concurrent.atomic.AtomicReference<String> failed = new java.util.concurrent.atomic.AtomicReference<>();

        Replay(List<SpillFile.Line> lines) {
            this.lines = lines;
            this.state = new AtomicIntegerArray(lines.size());
            this.remaining = new AtomicInteger(lines.size());
        }

        void start() {
            for (int i = 0; i < lines.size(); i++) {
                int index = i;
                SpillFile.Line line = lines.get(i);
                begin();
                try {
                    producer.send(record(line.key(), line.value()), (md, e) -> {
                        end();
                        finish(index, e);
                    });
                } catch (RuntimeException e) {
                    end();
                    finish(index, e);
                }
            }
        }

        private void finish(int index, Exception e) {
            if (e == null) {
                sent.incrementAndGet();
                failure = null;
                state.set(index, OK);
            } else if (poison(e)) {
                drop(1, e.toString());
                state.set(index, OK);   // nothing more to do for it
            } else {
                failed.compareAndSet(null, e.toString());
                state.set(index, FAILED);
            }
            remaining.decrementAndGet();
        }

        boolean done() {
            return remaining.get() == 0;
        }

        /** @return file offset past the longest run of delivered records from the batch's start; -1 if none */
        long ackedEnd() {
            long end = -1;
            for (int i = 0; i < lines.size() && state.get(i) == OK; i++) {
                end = lines.get(i).end();
            }
            return end;
        }
    }

    /**
     * Stops the sender: what is queued goes to the producer (or the spill file), the producer gets {@code timeout}
     * to deliver, and what it could not deliver by then is spilled for the next start.
     */
    void close(Duration timeout) {
        running = false;
        try {
            thread.join(timeout.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        List<Pending> rest = new ArrayList<>();
        queue.drainTo(rest);
        for (Pending p : rest) {
            if (spilling()) {
                keep(p, "shutting down");
            } else {
                sendLive(p);
            }
        }
        producer.close(timeout);   // undelivered records fail through their callbacks into the spill file
        if (spill != null) {
            try {
                spill.close();
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "kafka-logger: closing " + spill.path() + ": " + e);
            }
        }
        meters.forEach(Metrics.globalRegistry::remove);
    }

    /**
     * Whether the broker takes records, for the dependency report: the outcome of the last delivery attempt
     * (while it is down the sender keeps probing it with spilled records). With no traffic it stays what it was.
     */
    io.sluice.builtin.DependencyStatus.State probe() {
        String why = failure;
        return why == null ? io.sluice.builtin.DependencyStatus.State.UP
                : io.sluice.builtin.DependencyStatus.State.down(why);
    }

    /** @return records acknowledged by the broker */
    long sent() {
        return sent.get();
    }

    /** @return records written to the spill file */
    long spilled() {
        return spilled.get();
    }

    /** @return records lost */
    long dropped() {
        return dropped.get();
    }

    /** @return records waiting in memory */
    int queued() {
        return queue.size();
    }

    /** @return the spill file's bytes (delivered or not), 0 without one */
    long spillBytes() {
        return spill == null ? 0 : spill.size();
    }
}
