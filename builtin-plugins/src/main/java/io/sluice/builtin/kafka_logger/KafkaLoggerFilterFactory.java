package io.sluice.builtin.kafka_logger;

import io.sluice.builtin.Schemas;
import io.sluice.plugin.Filter;
import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.FilterDescriptor;
import io.sluice.plugin.FilterFactory;
import org.apache.kafka.common.KafkaException;

/**
 * {@code kafka-logger}: one JSON access record per request to a Kafka topic, never on the request path's time;
 * records the broker cannot take wait in a bounded spill file.
 */
public final class KafkaLoggerFilterFactory implements FilterFactory {
    static final String NAME = "kafka-logger";
    private static final FilterDescriptor DESCRIPTOR = new FilterDescriptor(NAME, "1.0.0",
            Schemas.load(KafkaLoggerFilterFactory.class, NAME),
            "One JSON access record per request to Kafka (acks=all, idempotent), spilled to a bounded local file while the broker is away.");

    @Override
    public FilterDescriptor descriptor() {
        return DESCRIPTOR;
    }

    @Override
    public Filter create(FilterConfig config) {
        KafkaLoggerConfig c = KafkaLoggerConfig.from(config);
        try {
            return new KafkaLoggerFilter(TopicSenders.forConfig(c));
        } catch (KafkaException e) {
            // ConfigException and friends: the producer properties are unusable
            throw new IllegalArgumentException("producer: " + e.getMessage(), e);
        }
    }
}
