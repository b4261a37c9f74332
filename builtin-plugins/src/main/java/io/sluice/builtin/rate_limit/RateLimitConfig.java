package io.sluice.builtin.rate_limit;

import io.sluice.plugin.FilterConfig;

import java.time.Duration;
import java.util.Optional;

/** The bound config of one rate-limit entry. */
record RateLimitConfig(double perMilli, long burst, String by, Optional<String> header, boolean redis,
                       String redisUrl, Duration redisTimeout) {

    static RateLimitConfig from(FilterConfig c) {
        double rate = c.number("rate").orElseThrow();
        long periodMillis = switch (c.string("period").orElse("second")) {
            case "minute" -> 60_000;
            case "hour" -> 3_600_000;
            default -> 1_000;
        };
        long burst = c.integer("burst").orElse((long) Math.ceil(rate));
        return new RateLimitConfig(rate / periodMillis, Math.max(1, burst), c.string("by").orElse("consumer"),
                c.string("header"), c.string("policy").orElse("local").equals("redis"),
                c.string("redis_url").orElse("redis://127.0.0.1:6379"),
                Duration.ofMillis(c.integer("redis_timeout_ms").orElse(50L)));
    }
}
