package io.sluice.builtin.kafka_logger;

import io.sluice.plugin.Completion;
import io.sluice.plugin.Exchange;
import io.sluice.plugin.Filter;
import io.sluice.plugin.Outcome;

import java.nio.charset.StandardCharsets;
import java.time.Instant;

/**
 * Sends one JSON access record per request to Kafka. The request path only serializes the record and offers it
 * to the shared {@link TopicSender}'s bounded queue, which never blocks; delivery, retries and spilling happen on
 * the sender's thread. Keyed by request id: records spread evenly over the topic's partitions (a route key would
 * put a busy route on one partition), and a duplicate from an at-least-once redelivery has the same key as its
 * original.
 */
final class KafkaLoggerFilter implements Filter {
    private final TopicSender sender;

    KafkaLoggerFilter(TopicSender sender) {
        this.sender = sender;
    }

    @Override
    public Outcome onRequest(Exchange exchange) {
        return Outcome.proceed();
    }

    @Override
    public void onComplete(Exchange exchange, Completion completion) {
        byte[] value = AccessRecord.json(exchange, completion, Instant.now(), sender.node(), sender.nextSeq());
        sender.offer(exchange.requestId().getBytes(StandardCharsets.UTF_8), value);
    }
}
