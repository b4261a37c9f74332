package io.sluice.runtime.upstream;

import io.sluice.plugin.Headers;
import io.sluice.runtime.SluiceServer;
import io.sluice.runtime.testing.Gateways;
import io.sluice.runtime.testing.RawHttp;
import io.sluice.runtime.testing.RawUpstream;
import io.sluice.runtime.testing.RawUpstream.Reply;
import org.junit.jupiter.api.Test;

import java.util.function.IntSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Pooled connections do not outlive their use: idle expiry, and pools of targets a new config dropped. */
class ConnectionLifecycleIT {
    private static final String OK = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

    /** Polls until the value is reached or 5 s pass; returns the last value. */
    private static int await(IntSupplier value, int expected) throws InterruptedException {
        long end = System.nanoTime() + 5_000_000_000L;
        int v;
        while ((v = value.getAsInt()) < expected && System.nanoTime() < end) {
            Thread.sleep(20);
        }
        return v;
    }

    @Test
    void idleConnectionsAreClosedAfterTheirIdleTime() throws Exception {
        try (RawUpstream up = RawUpstream.start((q, n) -> Reply.keep(OK));
             UpstreamClient client = new UpstreamClient(8, 8, 300)) {
            ConnectionPool pool = client.pool("127.0.0.1", Integer.parseInt(up.url().substring(up.url().lastIndexOf(':') + 1)));
            UpstreamResponse r = client.send(pool, new UpstreamRequest("GET", "/", new Headers(), RequestBody.NONE), 1000, 1000);
            assertEquals("ok", new String(r.readBody(100)));
            assertEquals(1, pool.idleCount());
            assertEquals(1, await(up::closedConnections, 1), "the idle connection is closed by the sweep");
            assertEquals(0, pool.idleCount());
        }
    }

    @Test
    void aConfigThatDropsATargetClosesItsPooledConnections() throws Exception {
        try (RawUpstream first = RawUpstream.start((q, n) -> Reply.keep(OK));
             RawUpstream second = RawUpstream.start((q, n) -> Reply.keep(OK));
             SluiceServer gw = Gateways.start(Gateways.route("r", "/**", first.url()))) {
            assertEquals(200, RawHttp.exchange(gw.proxyPort(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n").status());
            assertEquals(0, first.closedConnections());
            gw.gateway().apply(Gateways.parse(Gateways.route("r", "/**", second.url())));
            assertEquals(1, await(first::closedConnections, 1));
            assertEquals(200, RawHttp.exchange(gw.proxyPort(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n").status());
            assertTrue(second.requests().size() == 1, "traffic moved to the new target");
        }
    }
}
