package io.sluice.builtin.load_shedding;

import io.sluice.runtime.SluiceServer;
import io.sluice.runtime.testing.Gateways;
import io.sluice.runtime.testing.RawHttp;
import io.sluice.runtime.testing.RawUpstream;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** load-shedding through a node: a slow upstream fills the pool, low priority sheds first, places come back. */
class LoadSheddingIT {

    @Test
    void lowPriorityShedsWhileCriticalIsStillServedAndPlacesComeBack() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        try (RawUpstream up = RawUpstream.start((req, n) -> {
                 if (req.line().contains("/slow")) {
                     release.await(10, TimeUnit.SECONDS);
                 }
                 return RawUpstream.Reply.keep("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
             });
             SluiceServer gw = Gateways.start("""
                     routes:
                       - id: reports
                         paths: ["/reports/**"]
                         upstream: {targets: [{url: "%1$s"}]}
                         plugins:
                           - {name: load-shedding, config: {max_concurrent: 4, pool: it-pool, priority: low, retry_after_s: 2}}
                       - id: checkout
                         paths: ["/checkout/**"]
                         upstream: {targets: [{url: "%1$s"}]}
                         plugins:
                           - {name: load-shedding, config: {max_concurrent: 4, pool: it-pool, priority: critical}}
                     """.formatted(up.url()));
             ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<RawHttp.Response>> slow = new ArrayList<>();
            for (int i = 0; i < 2; i++) {   // low sheds at 50% of 4: these two fill its share
                slow.add(pool.submit(() -> get(gw, "/reports/slow")));
            }
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (up.requests().size() < 2 && System.nanoTime() < until) {
                Thread.onSpinWait();
            }
            RawHttp.Response shed = get(gw, "/reports/fast");
            assertEquals(503, shed.status());
            assertTrue(shed.text().contains("\"error\":\"overloaded\""), shed.text());
            assertEquals("2", shed.header("Retry-After"));
            assertEquals(200, get(gw, "/checkout/pay").status(), "critical routes shed last");

            release.countDown();
            for (Future<RawHttp.Response> f : slow) {
                assertEquals(200, f.get(10, TimeUnit.SECONDS).status());
            }
            // the places are given back once each exchange is complete (after the response was written)
            until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            int status;
            do {
                status = get(gw, "/reports/fast").status();
            } while (status != 200 && System.nanoTime() < until);
            assertEquals(200, status);
            // the last request's place comes back just after its response reached us
            until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (InflightPools.of("it-pool").get() != 0 && System.nanoTime() < until) {
                Thread.onSpinWait();
            }
            assertEquals(0, InflightPools.of("it-pool").get(), "nothing left in flight");
        }
    }

    private static RawHttp.Response get(SluiceServer gw, String path) throws Exception {
        return RawHttp.exchange(gw.proxyPort(), "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n");
    }
}
