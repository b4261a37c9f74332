package io.sluice.builtin.kafka_logger;

import io.sluice.builtin.ConfigCheck;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class KafkaLoggerConfigTest {
    private final KafkaLoggerFilterFactory factory = new KafkaLoggerFilterFactory();

    private List<String> problems(String json) {
        return ConfigCheck.problems(factory, json);
    }

    /** The required fields plus {@code extra} (a JSON fragment starting with a comma, or empty). */
    private List<String> with(String extra) {
        return problems("{\"bootstrap_servers\": \"kafka-1:9092,kafka-2:9092\", \"topic\": \"access-log\"" + extra + "}");
    }

    @Test
    void acceptsMinimalAndFullConfigs() {
        assertEquals(List.of(), with(""));
        assertEquals(List.of(), problems("{\"bootstrap_servers\": \"127.0.0.1:9092\", \"topic\": \"gw.access_log-1\"}"));
        assertEquals(List.of(), problems("{\"bootstrap_servers\": \"[::1]:9092\", \"topic\": \"t\"}"));
        assertEquals(List.of(), with(", \"queue_size\": 50000, \"spill_dir\": \"/var/lib/sluice/spill\","
                + " \"spill_max_bytes\": 0, \"producer\": {\"compression.type\": \"zstd\", \"linger.ms\": 50,"
                + " \"batch.size\": 131072, \"security.protocol\": \"SASL_SSL\", \"sasl.mechanism\": \"PLAIN\","
                + " \"acks\": \"all\", \"enable.idempotence\": true, \"max.block.ms\": 200,"
                + " \"max.in.flight.requests.per.connection\": 5}"));
    }

    @Test
    void pinsTheErrorsOfTheFields() {
        assertEquals(List.of("bootstrap_servers: required property 'bootstrap_servers' not found",
                "topic: required property 'topic' not found"), problems("{}"));
        assertEquals(List.of("bootstrap_servers: does not match the regex pattern "
                        + "^[A-Za-z0-9._\\-\\[\\]:]+:[0-9]{1,5}(,[A-Za-z0-9._\\-\\[\\]:]+:[0-9]{1,5})*$"),
                problems("{\"bootstrap_servers\": \"kafka-1\", \"topic\": \"t\"}"));
        assertEquals(List.of("topic: does not match the regex pattern ^(?!\\.\\.?$)[A-Za-z0-9._-]{1,249}$"),
                problems("{\"bootstrap_servers\": \"k:9092\", \"topic\": \"access log\"}"));
        assertEquals(List.of("topic: does not match the regex pattern ^(?!\\.\\.?$)[A-Za-z0-9._-]{1,249}$"),
                problems("{\"bootstrap_servers\": \"k:9092\", \"topic\": \"..\"}"));
        assertEquals(List.of("queue_size: must have a minimum value of 1"), with(", \"queue_size\": 0"));
        assertEquals(List.of("spill_max_bytes: must have a minimum value of 0"), with(", \"spill_max_bytes\": -1"));
        assertEquals(List.of("spill_dir: must be at least 1 characters long"), with(", \"spill_dir\": \"\""));
        assertEquals(List.of("spill: property 'spill' is not defined in the schema and the schema does not allow"
                + " additional properties"), with(", \"spill\": true"));
    }

    @Test
    void refusesProducerPropertiesThatWouldWeakenDelivery() {
        assertEquals(List.of("producer.acks: must be the constant value 'all'"), with(", \"producer\": {\"acks\": \"1\"}"));
        assertEquals(List.of("producer.enable.idempotence: must be the constant value 'true'"),
                with(", \"producer\": {\"enable.idempotence\": false}"));
        assertEquals(List.of("producer.max.block.ms: must have a maximum value of 5000"),
                with(", \"producer\": {\"max.block.ms\": 60000}"));
        assertEquals(List.of("producer.max.in.flight.requests.per.connection: must have a maximum value of 5"),
                with(", \"producer\": {\"max.in.flight.requests.per.connection\": 10}"));
        assertEquals(List.of("producer.retries: must have a minimum value of 1"), with(", \"producer\": {\"retries\": 0}"));
    }

    @Test
    void refusesProducerPropertiesKafkaLoggerSetsItself() {
        assertEquals(List.of("producer.bootstrap.servers: schema for 'bootstrap.servers' is false",
                        "producer.key.serializer: schema for 'key.serializer' is false",
                        "producer.transactional.id: schema for 'transactional.id' is false",
                        "producer.value.serializer: schema for 'value.serializer' is false"),
                with(", \"producer\": {\"bootstrap.servers\": \"x:1\", \"key.serializer\": \"x\","
                        + " \"value.serializer\": \"x\", \"transactional.id\": \"x\"}"));
    }

    @Test
    void refusesMalformedProducerProperties() {
        assertEquals(List.of("producer: property 'Linger Ms' name is not valid: does not match the regex pattern"
                + " ^[a-z][a-z0-9]*([.-][a-z0-9]+)*$"), with(", \"producer\": {\"Linger Ms\": 1}"));
        assertEquals(List.of("producer.linger.ms: string found, integer expected"),
                with(", \"producer\": {\"linger.ms\": \"5\"}"));
        assertEquals(List.of("producer.compression.type: object found, [string, integer, number, boolean] expected"),
                with(", \"producer\": {\"compression.type\": {}}"));
    }

    @Test
    void aProducerPropertyKafkaRefusesIsRefusedWhenTheFilterIsCreated(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> factory.create(io.sluice.plugin.FilterConfig.of(java.util.Map.of("bootstrap_servers", "127.0.0.1:1",
                        "topic", "config-test-refused", "spill_dir", dir.toString(),
                        "producer", java.util.Map.of("compression.type", "bzip2")))));
        assertEquals("producer: Invalid value bzip2 for configuration compression.type: String must be one of: none, gzip, snappy, lz4, zstd",
                e.getMessage());
    }
}
