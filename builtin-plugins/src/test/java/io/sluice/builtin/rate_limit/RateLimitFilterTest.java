package io.sluice.builtin.rate_limit;

import io.sluice.plugin.Consumer;
import io.sluice.plugin.Filter;
import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.Headers;
import io.sluice.plugin.Outcome;
import io.sluice.plugin.testkit.TestExchange;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RateLimitFilterTest {
    private static Filter filter(Map<String, Object> config) {
        return new RateLimitFilterFactory().create(FilterConfig.of(config));
    }

    @Test
    void burstThen429WithHeaders() throws Exception {
        Filter f = filter(Map.of("rate", 1L, "period", "minute", "burst", 3L, "by", "ip"));
        for (int i = 2; i >= 0; i--) {
            TestExchange ex = TestExchange.request("GET", "/");
            assertEquals(Outcome.proceed(), f.onRequest(ex));
            ex.respond(200, new Headers(), "ok");
            f.onResponse(ex);
            Headers h = ex.response().orElseThrow().headers();
            assertEquals("3", h.firstOrNull("RateLimit-Limit"));
            assertEquals(String.valueOf(i), h.firstOrNull("RateLimit-Remaining"));
        }
        Outcome.Respond r = assertInstanceOf(Outcome.Respond.class, f.onRequest(TestExchange.request("GET", "/")));
        assertEquals(429, r.status());
        assertTrue(r.bodyText().contains("\"error\":\"rate_limited\""), r.bodyText());
        assertEquals("3", r.headers().firstOrNull("RateLimit-Limit"));
        assertEquals("0", r.headers().firstOrNull("RateLimit-Remaining"));
        long retry = Long.parseLong(r.headers().firstOrNull("Retry-After"));
        assertTrue(retry >= 1 && retry <= 60, "Retry-After " + retry);
        long reset = Long.parseLong(r.headers().firstOrNull("RateLimit-Reset"));
        assertTrue(reset >= 120 && reset <= 180, "three tokens at one a minute: reset " + reset);
    }

    @Test
    void bucketsAreKeyedAsConfigured() throws Exception {
        Filter byConsumer = filter(Map.of("rate", 1L, "period", "hour", "burst", 1L));
        TestExchange ann = TestExchange.request("GET", "/");
        ann.consumer(Consumer.of("ann"));
        assertEquals(Outcome.proceed(), byConsumer.onRequest(ann));
        TestExchange bob = TestExchange.request("GET", "/");
        bob.consumer(Consumer.of("bob"));
        assertEquals(Outcome.proceed(), byConsumer.onRequest(bob), "bob has his own bucket");
        TestExchange annAgain = TestExchange.request("GET", "/").clientAddress("10.9.9.9");
        annAgain.consumer(Consumer.of("ann"));
        assertInstanceOf(Outcome.Respond.class, byConsumer.onRequest(annAgain), "ann's bucket follows her, not her IP");

        Filter byHeader = filter(Map.of("rate", 1L, "period", "hour", "burst", 1L, "by", "header", "header", "X-Key"));
        assertEquals(Outcome.proceed(), byHeader.onRequest(TestExchange.request("GET", "/").header("X-Key", "a")));
        assertEquals(Outcome.proceed(), byHeader.onRequest(TestExchange.request("GET", "/").header("X-Key", "b")));
        assertInstanceOf(Outcome.Respond.class, byHeader.onRequest(TestExchange.request("GET", "/").header("X-Key", "a")));

        Filter byRoute = filter(Map.of("rate", 1L, "period", "hour", "burst", 1L, "by", "route"));
        assertEquals(Outcome.proceed(), byRoute.onRequest(TestExchange.request("GET", "/").clientAddress("1.1.1.1")));
        assertInstanceOf(Outcome.Respond.class, byRoute.onRequest(TestExchange.request("GET", "/").clientAddress("2.2.2.2")));
    }

    @Test
    void tokensComeBackAtTheConfiguredRate() throws Exception {
        TokenBucket b = new TokenBucket(10.0 / 1000, 2, 0);   // 10 per second
        assertTrue(b.take(0).allowed());
        assertTrue(b.take(0).allowed());
        assertTrue(!b.take(0).allowed());
        assertTrue(!b.take(50).allowed(), "half a token after 50 ms");
        assertTrue(b.take(100).allowed(), "a whole one after 100 ms");
        assertEquals(2, b.take(10_000).remaining() + 1, "never more than the burst");
    }

    @Test
    void redisPolicyFallsBackToHalfRateLocalBucketsWhenRedisIsUnreachable() throws Exception {
        // port 1 on loopback: nothing listens, connections are refused at once
        RateLimitFilter f = (RateLimitFilter) filter(Map.of("rate", 100L, "burst", 10L, "by", "ip",
                "policy", "redis", "redis_url", "redis://127.0.0.1:1"));
        int allowed = 0;
        for (int i = 0; i < 20; i++) {
            if (f.onRequest(TestExchange.request("GET", "/")) == Outcome.proceed()) {
                allowed++;
            }
        }
        assertTrue(f.degraded());
        assertEquals(20, f.fallbackDecisions());
        assertTrue(allowed >= 5 && allowed <= 7, "half the burst (5) plus refill, got " + allowed);
    }
}
