package io.sluice.runtime.testing;

import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.MetadataVersion;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.Stream;

/**
 * A real single-node Kafka (KRaft, broker and controller in one) in the test's JVM, from the Maven Central
 * {@code kafka_2.13} jars: both listeners on 127.0.0.1 and free ports, logs in a temporary directory. It can be
 * stopped and started again on the same ports with the same data (a broker outage as clients see it), and
 * {@link #close()} stops it and deletes its directory.
 *
 * <p>Not Kafka's {@code KafkaClusterTestKit}: the kit pre-binds its ports on the wildcard address, and tests here
 * must listen on loopback only. The settings that matter: a static one-voter quorum, replication factors 1,
 * one partition for internal topics (a consumer group is ready in a fraction of a second), no initial rebalance
 * delay, and a short broker session so a restarted broker is back within about a second.
 */
public final class KafkaBroker implements AutoCloseable {
    /** Kafka's INFO logging is thousands of lines per start; loggers held so the levels are not collected. */
    private static final List<Logger> QUIET = Stream.of("kafka", "org.apache.kafka", "state.change.logger")
            .map(Logger::getLogger).peek(l -> l.setLevel(Level.WARNING)).toList();

    private final Path dir;
    private final int port;
    private final KafkaConfig config;
    private KafkaRaftServer server;

    private KafkaBroker(Path dir, int port, int controllerPort) {
        this.dir = dir;
        this.port = port;
        Properties p = new Properties();
        p.put("process.roles", "broker,controller");
        p.put("node.id", "1");
        p.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
        p.put("listeners", "PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort);
        p.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + port);
        p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        p.put("controller.listener.names", "CONTROLLER");
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("log.dirs", dir.resolve("logs").toString());
        p.put("num.partitions", "1");
        p.put("auto.create.topics.enable", "true");
        p.put("offsets.topic.replication.factor", "1");
        p.put("offsets.topic.num.partitions", "1");
        p.put("transaction.state.log.replication.factor", "1");
        p.put("transaction.state.log.min.isr", "1");
        p.put("transaction.state.log.num.partitions", "1");
        p.put("share.coordinator.state.topic.replication.factor", "1");
        p.put("share.coordinator.state.topic.min.isr", "1");
        p.put("group.initial.rebalance.delay.ms", "0");
        p.put("broker.session.timeout.ms", "2000");
        p.put("broker.heartbeat.interval.ms", "500");
        p.put("unstable.api.versions.enable", "false");
        p.put("unstable.feature.versions.enable", "false");
        p.put("log.cleaner.dedupe.buffer.size", "2097152");
        p.put("num.network.threads", "2");
        p.put("num.io.threads", "2");
        p.put("background.threads", "2");
        p.put("log.cleaner.threads", "1");
        this.config = KafkaConfig.fromProps(p, false);
    }

    /**
     * Runs a broker until the process is stopped (benchmarks: {@code runtime/bench/chain.sh}); prints
     * {@code bootstrap HOST:PORT} once it accepts clients. The topic named by the first argument is created.
     *
     * @param args optional topic to create
     */
    public static void main(String[] args) throws Exception {
        KafkaBroker b = start();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                b.close();
            } catch (IOException e) {
                // stopping anyway
            }
        }));
        if (args.length > 0) {
            b.createTopic(args[0]);
        }
        System.out.println("bootstrap " + b.bootstrapServers());
        System.out.flush();
        Thread.currentThread().join();
    }

    /**
     * Formats a new log directory and starts a broker on it.
     *
     * @return the running broker, ready for producers and consumers
     */
    public static KafkaBroker start() throws Exception {
        Path dir = Files.createTempDirectory("sluice-kafka");
        KafkaBroker b = new KafkaBroker(dir, freePort(), freePort());
        try {
            new Formatter().setPrintStream(new PrintStream(OutputStream.nullOutputStream()))
                    .setNodeId(1).setClusterId(Uuid.randomUuid().toString())
                    .setDirectories(List.of(dir.resolve("logs").toString()))
                    .setMetadataLogDirectory(dir.resolve("logs").toString())
                    .setControllerListenerName("CONTROLLER")
                    .setReleaseVersion(MetadataVersion.latestProduction())
                    .run();
            b.startAgain();
            return b;
        } catch (Exception | Error e) {
            b.close();
            throw e;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** Starts the broker (again) on the same ports and data, and waits until it accepts clients. */
    public synchronized void startAgain() throws Exception {
        if (server != null) {
            return;
        }
        server = new KafkaRaftServer(config, Time.SYSTEM);
        server.startup();
        try (Admin admin = admin()) {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (true) {
                try {
                    if (!admin.describeCluster().nodes().get(5, TimeUnit.SECONDS).isEmpty()) {
                        return;
                    }
                } catch (Exception e) {
                    if (System.nanoTime() > end) {
                        throw e;
                    }
                }
                if (System.nanoTime() > end) {
                    throw new IllegalStateException("Kafka on port " + port + " did not become ready");
                }
                Thread.sleep(50);
            }
        }
    }

    /** Stops the broker (clients see connections refused) and waits until it is down. Data is kept. */
    public synchronized void stop() {
        if (server != null) {
            server.shutdown();
            server.awaitShutdown();
            server = null;
        }
    }

    /** @return {@code 127.0.0.1:port}, for {@code bootstrap.servers} */
    public String bootstrapServers() {
        return "127.0.0.1:" + port;
    }

    /** @return an admin client; close it */
    public Admin admin() {
        return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10_000, AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000));
    }

    /** Creates a topic with one partition and waits for it. */
    public void createTopic(String topic) throws Exception {
        try (Admin admin = admin()) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
        }
    }

    /**
     * Reads a topic from the beginning until {@code done} says enough or the time is up.
     *
     * @param topic   the topic (one partition)
     * @param done    given everything read so far, whether to stop
     * @param timeout the most to wait
     * @return the records read, in order
     */
    public List<ConsumerRecord<String, String>> consume(String topic, java.util.function.Predicate<List<ConsumerRecord<String, String>>> done,
                                Duration timeout) {
        Map<String, Object> props = Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName(),
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName(),
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false",
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        List<ConsumerRecord<String, String>> all = new ArrayList<>();
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(props)) {
            TopicPartition tp = new TopicPartition(topic, 0);
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            long end = System.nanoTime() + timeout.toNanos();
            while (!done.test(all) && System.nanoTime() < end) {
                c.poll(Duration.ofMillis(100)).forEach(all::add);
            }
        }
        return all;
    }

    /** Stops the broker and deletes its data. */
    @Override
    public void close() throws IOException {
        stop();
        if (Files.exists(dir)) {
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(f);
                }
            }
        }
    }
}
