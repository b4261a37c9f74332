package io.sluice.builtin.rate_limit;

import io.sluice.runtime.SluiceServer;
import io.sluice.runtime.testing.EchoUpstream;
import io.sluice.runtime.testing.Gateways;
import io.sluice.runtime.testing.RedisProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** rate-limit against a real Redis: shared buckets across gateways, and Redis going away and coming back. */
class RateLimitIT {
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    private static String config(String upstream, String redis, int rate, int burst) {
        return """
                routes:
                  - id: limited
                    paths: ["/**"]
                    upstream: {targets: [{url: "%s"}]}
                    plugins:
                      - name: rate-limit
                        config: {rate: %d, burst: %d, by: route, policy: redis, redis_url: "%s", redis_timeout_ms: 200}
                """.formatted(upstream, rate, burst, redis);
    }

    private static HttpResponse<String> get(SluiceServer gw) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + gw.proxyPort() + "/x")).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** Waits until the gateway's Redis connection is up (the first decisions may be local while it connects). */
    private static void awaitRedis(SluiceServer gw, int burst) throws Exception {
        long end = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < end) {
            if (get(gw).headers().firstValue("RateLimit-Limit").orElse("").equals(String.valueOf(burst))) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("gateway never used Redis");
    }

    /**
     * 50/s with burst 20 goes to Redis for every request; 1000/s with burst 400 lets busy keys lease up to 40
     * tokens at a time. Either way the shared ceiling holds.
     */
    @ParameterizedTest
    @CsvSource({"50, 20", "1000, 400"})
    void twoGatewaysSharingRedisNeverAdmitMoreThanRateTimesTimePlusBurst(int rate, int burst) throws Exception {
        try (RedisProcess redis = RedisProcess.start(); EchoUpstream up = EchoUpstream.start("up");
             SluiceServer a = Gateways.start(config(up.url(), redis.url(), rate, burst));
             SluiceServer b = Gateways.start(config(up.url(), redis.url(), rate, burst))) {
            awaitRedis(a, burst);
            awaitRedis(b, burst);
            Thread.sleep(1000);   // the warm-up requests above used tokens: let the bucket fill again
            int before = up.count();
            long redisCallsBefore = redis.calls("evalsha");
            AtomicInteger admitted = new AtomicInteger();
            AtomicInteger limited = new AtomicInteger();
            ConcurrentLinkedQueue<String> other = new ConcurrentLinkedQueue<>();
            long start = System.nanoTime();
            long stop = start + 3_000_000_000L;
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                SluiceServer gw = i % 2 == 0 ? a : b;
                threads.add(Thread.ofPlatform().start(() -> {
                    while (System.nanoTime() < stop) {
                        try {
                            int s = get(gw).statusCode();
                            if (s == 200) {
                                admitted.incrementAndGet();
                            } else if (s == 429) {
                                limited.incrementAndGet();
                            } else {
                                other.add("status " + s);
                            }
                        } catch (Exception e) {
                            other.add(e.toString());
                        }
                    }
                }));
            }
            for (Thread t : threads) {
                t.join();
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            assertEquals(List.of(), List.copyOf(other));
            double ceiling = rate * seconds + burst;
            assertTrue(admitted.get() <= ceiling, admitted.get() + " admitted in " + seconds + " s, ceiling " + ceiling);
            assertTrue(admitted.get() >= rate * seconds * 0.7, "only " + admitted.get() + " admitted in " + seconds + " s");
            assertTrue(limited.get() > 0, "the load was above the limit");
            assertEquals(admitted.get(), up.count() - before, "every admitted request reached the upstream, no other");
            long redisCalls = redis.calls("evalsha") - redisCallsBefore;
            if (burst >= 100) {
                assertTrue(redisCalls * 3 < admitted.get() + limited.get(), redisCalls + " Redis calls for "
                        + (admitted.get() + limited.get()) + " decisions: busy keys should lease tokens");
            }
        }
    }

    @Test
    void redisGoingAwayFallsBackWithoutErrorsAndComesBack() throws Exception {
        int burst = 40;
        try (RedisProcess redis = RedisProcess.start(); EchoUpstream up = EchoUpstream.start("up");
             SluiceServer gw = Gateways.start(config(up.url(), redis.url(), 1000, burst))) {
            awaitRedis(gw, burst);
            redis.stop();
            int fallback = 0;
            for (int i = 0; i < 50; i++) {
                HttpResponse<String> r = get(gw);
                assertTrue(r.statusCode() == 200 || r.statusCode() == 429, "status " + r.statusCode() + ": " + r.body());
                if (r.headers().firstValue("RateLimit-Limit").orElse("").equals(String.valueOf(burst / 2))) {
                    fallback++;
                }
            }
            assertEquals(50, fallback, "every decision came from the half-size local bucket while Redis was down");
            redis.startAgain();
            awaitRedis(gw, burst);   // Lettuce reconnects on its own; decisions move back to Redis
        }
    }
}
