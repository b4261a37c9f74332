package io.sluice.builtin.kafka_logger;

import io.sluice.builtin.DependencyStatus;
import org.apache.kafka.clients.producer.KafkaProducer;

import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The process's {@link TopicSender}s, one per (bootstrap servers, topic), created on first use and kept until the
 * JVM exits.
 *
 * <p>Why a process-wide registry without reference counts: filters have no close hook, and a config reload
 * creates new filter instances while in-flight requests still finish on the old ones, so no filter knows when
 * a producer is no longer needed. Keeping one producer per (brokers, topic) for the life of the process bounds
 * producers and threads by the number of distinct destinations ever configured (normally one or two), however
 * often the config changes; a destination no route uses any more costs one idle producer until restart. The
 * first config to name a destination fixes its settings ({@code queue_size}, {@code spill_*}, {@code producer});
 * a later config with different settings for the same destination is logged and takes effect after a restart.
 * A shutdown hook gives every producer a few seconds to deliver and spills the rest.
 */
final class TopicSenders {
    /** Random per process: with {@code seq}, identifies every record this process produced. */
    static final String NODE = UUID.randomUUID().toString();
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(5);
    private static final Map<String, TopicSender> SENDERS = new ConcurrentHashMap<>();

    static {
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("sluice-kafka-logger-shutdown")
                .unstarted(() -> SENDERS.values().forEach(s -> s.close(CLOSE_TIMEOUT))));
    }

    private TopicSenders() {
    }

    /**
     * The sender for a config's brokers and topic, created (producer built, spill file opened, thread started) if
     * this is the first config naming them.
     *
     * @throws org.apache.kafka.common.config.ConfigException if the producer properties are unusable
     */
    static TopicSender forConfig(KafkaLoggerConfig config) {
        TopicSender s = SENDERS.computeIfAbsent(config.key(), k -> {
            TopicSender created = new TopicSender(config, NODE, KafkaProducer::new);
            DependencyStatus.register(DependencyStatus.KAFKA, k, created::probe);
            return created;
        });
        s.sharedBy(config);
        return s;
    }

    /**
     * Closes and forgets one sender (for tests, which use a topic per test and would otherwise leave producers
     * retrying a stopped broker).
     *
     * @return whether there was one
     */
    static boolean close(String bootstrapServers, String topic) {
        TopicSender s = SENDERS.remove(bootstrapServers + "/" + topic);
        DependencyStatus.unregister(DependencyStatus.KAFKA, bootstrapServers + "/" + topic);
        if (s != null) {
            s.close(CLOSE_TIMEOUT);
        }
        return s != null;
    }

    /** @return the sender for a destination, if one was created */
    static java.util.Optional<TopicSender> find(String bootstrapServers, String topic) {
        return java.util.Optional.ofNullable(SENDERS.get(bootstrapServers + "/" + topic));
    }
}
