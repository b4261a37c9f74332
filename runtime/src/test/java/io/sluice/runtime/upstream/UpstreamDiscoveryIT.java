package io.sluice.runtime.upstream;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.runtime.Node;
import io.sluice.runtime.testing.AdminClient;
import io.sluice.runtime.testing.AdminClient.Resp;
import io.sluice.runtime.testing.EchoUpstream;
import io.sluice.runtime.testing.Nodes;
import io.sluice.runtime.upstream.LoopbackDnsServer.Srv;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DNS discovery through the gateway of a standalone node whose resolver is a {@link LoopbackDnsServer}
 * ({@code sluice.dns.server}, read when the node starts): SRV and A records pointing at real upstreams on
 * 127.0.0.1, answers that change, and a DNS that fails while traffic keeps going to the last good answer.
 */
class UpstreamDiscoveryIT {
    static final String SRV = "_http._tcp.svc.test";

    @TempDir
    Path dir;
    LoopbackDnsServer dns;
    EchoUpstream a;
    EchoUpstream b;
    EchoUpstream c;
    Node node;
    AdminClient admin;

    @BeforeEach
    void up() throws Exception {
        a = EchoUpstream.start("a");
        b = EchoUpstream.start("b");
        c = EchoUpstream.start("c");
        dns = LoopbackDnsServer.start();
        for (String host : new String[] {"a.svc.test", "b.svc.test", "c.svc.test", "web.svc.test"}) {
            dns.setAddresses(host, 60, "127.0.0.1");
        }
        System.setProperty("sluice.dns.server", "127.0.0.1:" + dns.address().getPort());
        try {
            node = Nodes.standalone(dir.resolve("data"));
        } finally {
            System.clearProperty("sluice.dns.server");
        }
        admin = Nodes.admin(node);
    }

    @AfterEach
    void down() throws Exception {
        System.clearProperty("sluice.dns.server");
        if (node != null) {
            node.close();
        }
        dns.close();
        a.close();
        b.close();
        c.close();
    }

    HttpResponse<String> get(String path) throws Exception {
        return Nodes.get(node, path);
    }

    static void await(String what, long ms, BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + ms * 1_000_000;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError(what + " not within " + ms + " ms");
            }
            Thread.sleep(20);
        }
    }

    /** Waits until ten requests in a row are answered 200 by the named upstream. */
    void awaitServedBy(String path, String name, long ms) throws Exception {
        long end = System.nanoTime() + ms * 1_000_000;
        int inARow = 0;
        String last = "";
        while (inARow < 10) {
            HttpResponse<String> r = get(path);
            String by = r.headers().firstValue("X-Upstream").orElse("");
            last = r.statusCode() + " " + by + " " + r.body();
            inARow = r.statusCode() == 200 && by.equals(name) ? inARow + 1 : 0;
            if (System.nanoTime() > end) {
                throw new AssertionError(path + " not served by " + name + " within " + ms + " ms; last: " + last);
            }
            if (inARow == 0) {
                Thread.sleep(20);
            }
        }
    }

    JsonNode health(String id) {
        Resp r = admin.get("/v1/upstreams/" + id + "/health");
        assertEquals(200, r.status(), r.toString());
        return r.json();
    }

    @Test
    void srvRecordsGiveTheTargetsAndTrafficFollowsThemAndOutlivesAFailingDns() throws Exception {
        dns.setSrv(SRV, 60, new Srv(0, 10, a.port(), "a.svc.test"), new Srv(0, 10, b.port(), "b.svc.test"));
        Resp put = admin.put("/v1/upstreams/svc", "{\"discovery\": {\"dns\": \"" + SRV + "\", \"refresh_ms\": 200}}");
        assertEquals(201, put.status(), put.toString());
        assertEquals(201, admin.put("/v1/routes/svc", "{\"paths\": [\"/svc/**\"], \"upstream\": \"svc\"}").status());

        // both discovered targets get traffic
        await("traffic to both SRV targets", 10_000, () -> {
            try {
                assertEquals(200, get("/svc/x").statusCode());
            } catch (Exception e) {
                throw new AssertionError(e);
            }
            return a.count() > 0 && b.count() > 0;
        });
        JsonNode h = health("svc");
        assertEquals(2, h.path("targets").size(), h.toString());
        assertFalse(h.has("discovery_error"), h.toString());

        // the answer changes: traffic moves within a few refresh periods, the route untouched
        long v = admin.get("/v1/config").json().path("version").asLong();
        dns.setSrv(SRV, 60, new Srv(0, 10, c.port(), "c.svc.test"));
        long changed = System.nanoTime();
        awaitServedBy("/svc/x", "c", 5_000);
        long ms = (System.nanoTime() - changed) / 1_000_000;
        assertTrue(ms < 3_000, "moved after " + ms + " ms with refresh_ms 200");
        assertEquals(v, admin.get("/v1/config").json().path("version").asLong(), "discovery is not a config change");
        h = health("svc");
        assertEquals(1, h.path("targets").size(), h.toString());
        assertTrue(h.path("targets").get(0).path("url").asText().contains(":" + c.port()), h.toString());

        // SERVFAIL: the last good answer keeps serving, and the health view says why it is not refreshed
        int queries = dns.queries();
        dns.servfail(true);
        await("a failed re-resolution", 5_000, () -> health("svc").has("discovery_error"));
        assertTrue(dns.queries() > queries);
        String error = health("svc").path("discovery_error").asText();
        assertTrue(error.contains("last good answer"), error);
        int cBefore = c.count();
        for (int i = 0; i < 20; i++) {
            HttpResponse<String> r = get("/svc/x");
            assertEquals(200, r.statusCode(), r.body());
            assertEquals("c", r.headers().firstValue("X-Upstream").orElse(""));
        }
        assertEquals(cBefore + 20, c.count());
        assertEquals(1, health("svc").path("targets").size());

        // no answer at all: the same
        dns.servfail(false);
        dns.silent(true);
        int silentFrom = dns.queries();
        await("queries to a silent DNS", 10_000, () -> dns.queries() > silentFrom + 1);
        for (int i = 0; i < 10; i++) {
            assertEquals(200, get("/svc/x").statusCode());
        }
        assertTrue(health("svc").has("discovery_error"), health("svc").toString());

        // DNS back with a new answer: followed, and the error is gone
        dns.setSrv(SRV, 60, new Srv(0, 10, a.port(), "a.svc.test"));
        dns.silent(false);
        awaitServedBy("/svc/x", "a", 10_000);
        await("the discovery error cleared", 5_000, () -> !health("svc").has("discovery_error"));
    }

    @Test
    void aRecordsWithAPortGiveTheTargets() throws Exception {
        Resp put = admin.put("/v1/upstreams/web", "{\"discovery\": {\"dns\": \"web.svc.test:" + b.port()
                + "\", \"refresh_ms\": 200}}");
        assertEquals(201, put.status(), put.toString());
        assertEquals(201, admin.put("/v1/routes/web", "{\"paths\": [\"/web/**\"], \"upstream\": \"web\"}").status());
        awaitServedBy("/web/1", "b", 10_000);
        assertEquals("b GET /web/1", get("/web/1").body().strip());
        JsonNode h = health("web");
        assertEquals(1, h.path("targets").size(), h.toString());
        assertTrue(h.path("targets").get(0).path("url").asText().contains("127.0.0.1:" + b.port()), h.toString());

        // fixed targets stand beside the discovered ones; weight 0 keeps a fixed one out
        assertEquals(200, admin.put("/v1/upstreams/web", "{\"targets\": [{\"url\": \"" + c.url()
                + "\"}], \"discovery\": {\"dns\": \"web.svc.test:" + b.port() + "\", \"refresh_ms\": 200}}").status());
        int bBefore = b.count();
        await("traffic to the fixed target beside the discovered one", 10_000, () -> {
            try {
                get("/web/1");
            } catch (Exception e) {
                throw new AssertionError(e);
            }
            return c.count() > 0 && b.count() > bBefore;
        });

        // an inline upstream of a route discovers as well; a name without records has no targets yet
        assertEquals(201, admin.put("/v1/routes/inline", "{\"paths\": [\"/inline\"], \"upstream\": {\"discovery\":"
                + " {\"dns\": \"web.svc.test:" + a.port() + "\", \"refresh_ms\": 200}}}").status());
        awaitServedBy("/inline", "a", 10_000);
        assertEquals(201, admin.put("/v1/routes/nowhere", "{\"paths\": [\"/nowhere\"], \"upstream\": {\"discovery\":"
                + " {\"dns\": \"nowhere.svc.test:" + a.port() + "\", \"refresh_ms\": 200}}}").status());
        HttpResponse<String> none = get("/nowhere");
        assertEquals(503, none.statusCode(), none.body());
        // and once the name appears, it is served
        dns.setAddresses("nowhere.svc.test", 60, "127.0.0.1");
        awaitServedBy("/nowhere", "a", 10_000);
    }
}
