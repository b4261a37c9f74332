package io.sluice.runtime.proxy;

import io.sluice.runtime.SluiceServer;
import io.sluice.runtime.testing.EchoUpstream;
import io.sluice.runtime.testing.Gateways;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Routes change while 8 client threads send requests: no request fails, each sees one whole version. */
class RouteSwapIT {

    @Test
    void swappingRoutesUnderLoadFailsNoRequest() throws Exception {
        try (EchoUpstream blue = EchoUpstream.start("blue"); EchoUpstream green = EchoUpstream.start("green");
             SluiceServer gw = Gateways.start(config(blue.url(), "blue"))) {
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            URI uri = URI.create("http://127.0.0.1:" + gw.proxyPort() + "/svc/item");
            AtomicBoolean running = new AtomicBoolean(true);
            ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
            Map<String, AtomicInteger> servedBy = new ConcurrentHashMap<>();
            AtomicInteger total = new AtomicInteger();
            CountDownLatch started = new CountDownLatch(8);
            List<Thread> clients = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                clients.add(Thread.ofPlatform().start(() -> {
                    started.countDown();
                    while (running.get()) {
                        try {
                            HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).build(),
                                    HttpResponse.BodyHandlers.ofString());
                            String who = r.headers().firstValue("X-Upstream").orElse("?");
                            String tag = r.headers().firstValue("X-Version-Tag").orElse("?");
                            if (r.statusCode() != 200 || !who.equals(tag)) {
                                failures.add(r.statusCode() + " from " + who + " tagged " + tag + ": " + r.body());
                            }
                            servedBy.computeIfAbsent(who, k -> new AtomicInteger()).incrementAndGet();
                            total.incrementAndGet();
                        } catch (Exception e) {
                            failures.add(e.toString());
                        }
                    }
                }));
            }
            started.await();
            for (int swap = 0; swap < 60; swap++) {
                boolean toGreen = swap % 2 == 0;
                gw.gateway().apply(Gateways.parse(toGreen ? config(green.url(), "green") : config(blue.url(), "blue")));
                Thread.sleep(25);
            }
            running.set(false);
            for (Thread t : clients) {
                t.join();
            }
            assertEquals(List.of(), List.copyOf(failures));
            assertTrue(total.get() > 500, "only " + total.get() + " requests were sent");
            assertTrue(servedBy.getOrDefault("blue", new AtomicInteger()).get() > 0, "blue served " + servedBy);
            assertTrue(servedBy.getOrDefault("green", new AtomicInteger()).get() > 0, "green served " + servedBy);
            assertEquals(61, gw.gateway().current().version());
        }
    }

    private static String config(String url, String tag) {
        // the transform tags the response with the version's name: upstream and tag must agree,
        // which proves a request never mixes two snapshots
        return """
                routes:
                  - id: svc
                    paths: ["/svc/**"]
                    upstream: {targets: [{url: "%s"}]}
                    plugins:
                      - name: transform
                        config: {response: {headers: {set: {X-Version-Tag: %s}}}}
                """.formatted(url, tag);
    }
}
