package io.sluice.builtin.kafka_logger;

import io.sluice.plugin.FilterConfig;

import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * The bound config of one kafka-logger entry.
 *
 * @param bootstrapServers brokers to bootstrap from
 * @param topic            the topic
 * @param queueSize        records held in memory for the sender
 * @param spillDir         directory of the spill file
 * @param spillMaxBytes    the most the spill file may hold; 0: no spill
 * @param producer         extra producer properties, as given
 */
record KafkaLoggerConfig(String bootstrapServers, String topic, int queueSize, Path spillDir, long spillMaxBytes,
                         Map<String, Object> producer) {
    static final int DEFAULT_QUEUE_SIZE = 10_000;
    static final String DEFAULT_SPILL_DIR = ".sluice/kafka-spill";
    static final long DEFAULT_SPILL_MAX_BYTES = 100L << 20;

    KafkaLoggerConfig {
        producer = Map.copyOf(producer);
    }

    static KafkaLoggerConfig from(FilterConfig c) {
        return new KafkaLoggerConfig(c.string("bootstrap_servers").orElseThrow(), c.string("topic").orElseThrow(),
                Math.toIntExact(c.integer("queue_size").orElse((long) DEFAULT_QUEUE_SIZE)),
                Path.of(c.string("spill_dir").orElse(DEFAULT_SPILL_DIR)),
                c.integer("spill_max_bytes").orElse(DEFAULT_SPILL_MAX_BYTES),
                c.object("producer").map(FilterConfig::values).orElse(Map.of()));
    }

    /** @return what identifies the shared producer: one per brokers and topic in a process */
    String key() {
        return bootstrapServers + "/" + topic;
    }

    /** @return the settings a shared producer is built from, for telling apart two configs of one key */
    Map<String, Object> settings() {
        Map<String, Object> m = new TreeMap<>(producer);
        m.put("(queue_size)", queueSize);
        m.put("(spill_dir)", spillDir.toAbsolutePath().normalize().toString());
        m.put("(spill_max_bytes)", spillMaxBytes);
        return m;
    }
}
