package io.sluice.runtime.admin;

import io.sluice.registry.testing.PostgresDatabase;
import io.sluice.runtime.Node;
import io.sluice.runtime.SluiceServer.Listeners;
import io.sluice.runtime.testing.AdminClient;
import io.sluice.runtime.testing.AdminClient.Resp;
import io.sluice.runtime.testing.EchoUpstream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A data plane following a control plane through the real PostgreSQL store (polling): a change of a shared
 * upstream arrives as a change set, and the routes that name it follow without being rewritten.
 */
class UpstreamDistributionIT {
    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).build();

    @TempDir
    Path dir;
    PostgresDatabase db;
    EchoUpstream a;
    EchoUpstream b;
    EchoUpstream c;
    Node cp;
    Node dp;
    AdminClient admin;

    @BeforeEach
    void up() throws Exception {
        db = PostgresDatabase.create();
        a = EchoUpstream.start("a");
        b = EchoUpstream.start("b");
        c = EchoUpstream.start("c");
        cp = Node.start(new Node.Options("control-plane", dir.resolve("cp"),
                new Listeners("127.0.0.1", 0, "127.0.0.1", 0, false), Optional.of(db.url()), Optional.empty(),
                Optional.of("cp-token"), Duration.ofSeconds(5)));
        admin = new AdminClient(cp.server().adminPort(), "cp-token");
        dp = Node.start(new Node.Options("data-plane", dir.resolve("dp"),
                new Listeners("127.0.0.1", 0, "127.0.0.1", 0, true), Optional.of(db.url()), Optional.empty(),
                Optional.empty(), Duration.ofMillis(200)));
    }

    @AfterEach
    void down() {
        if (dp != null) {
            dp.close();
        }
        if (cp != null) {
            cp.close();
        }
        a.close();
        b.close();
        c.close();
        db.close();
    }

    /** Waits until ten requests in a row through the data plane are answered 200 by the named upstream. */
    void awaitServedBy(String path, String name) throws Exception {
        long end = System.nanoTime() + 10_000_000_000L;
        int inARow = 0;
        String last = "";
        while (inARow < 10) {
            String by;
            try {
                HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                        + dp.server().proxyPort() + path)).timeout(Duration.ofSeconds(5)).build(),
                        HttpResponse.BodyHandlers.ofString());
                by = r.statusCode() == 200 ? r.headers().firstValue("X-Upstream").orElse("") : "";
                last = r.statusCode() + " " + r.body();
            } catch (java.io.IOException e) {
                by = "";
                last = e.toString();
            }
            inARow = by.equals(name) ? inARow + 1 : 0;
            if (System.nanoTime() > end) {
                throw new AssertionError(path + " not served by " + name + " within 10 s (data plane at version "
                        + dp.server().gateway().current().version() + "); last: " + last);
            }
            if (inARow == 0) {
                Thread.sleep(20);
            }
        }
    }

    @Test
    void anUpstreamChangeReachesTheDataPlaneAsAChangeSetAndItsRoutesFollow() throws Exception {
        assertEquals(201, admin.put("/v1/upstreams/svc", "{\"targets\": [{\"url\": \"" + a.url() + "\"}]}").status());
        assertEquals(201, admin.put("/v1/routes/one", "{\"paths\": [\"/one/**\"], \"upstream\": \"svc\"}").status());
        assertEquals(201, admin.put("/v1/routes/two", "{\"paths\": [\"/two/**\"], \"upstream\": \"svc\"}").status());
        awaitServedBy("/one/x", "a");
        awaitServedBy("/two/x", "a");
        String one = admin.get("/v1/routes/one").body();
        long fullLoads = dp.tracker().fullLoads();
        long changeSets = dp.tracker().changeSets();

        // the entity replaced: one version, one changed entity, both routes follow
        Resp put = admin.put("/v1/upstreams/svc", "{\"targets\": [{\"url\": \"" + b.url() + "\"}]}");
        assertEquals(200, put.status(), put.toString());
        long v = Long.parseLong(put.header("Sluice-Config-Version").orElseThrow());
        awaitServedBy("/one/x", "b");
        awaitServedBy("/two/x", "b");
        assertEquals(v, dp.server().gateway().current().version());
        assertEquals(fullLoads, dp.tracker().fullLoads(), "applied as a change set, not a whole reload");
        assertEquals(changeSets + 1, dp.tracker().changeSets());
        assertEquals(one, admin.get("/v1/routes/one").body(), "the route was not rewritten");

        // target registration and deregistration travel the same way
        Resp added = admin.post("/v1/upstreams/svc/targets", "{\"url\": \"" + c.url() + "\"}");
        assertEquals(201, added.status(), added.toString());
        long end = System.nanoTime() + 10_000_000_000L;
        while (c.count() == 0) {
            try {
                HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + dp.server().proxyPort() + "/one/x"))
                        .build(), HttpResponse.BodyHandlers.discarding());
            } catch (java.io.IOException e) {
                // keep trying until the deadline
            }
            assertTrue(System.nanoTime() < end, "the registered target gets no traffic from the data plane");
            Thread.sleep(10);
        }
        assertEquals(204, admin.delete("/v1/upstreams/svc/targets?url="
                + URLEncoder.encode(b.url(), StandardCharsets.UTF_8)).status());
        awaitServedBy("/one/x", "c");
        awaitServedBy("/two/x", "c");
        assertEquals(fullLoads, dp.tracker().fullLoads());
        assertEquals(changeSets + 3, dp.tracker().changeSets());

        // health is the data plane's judgement: the control plane has none to show, the data plane's admin port has
        Resp health = admin.get("/v1/upstreams/svc/health");
        assertEquals(409, health.status(), health.toString());
        assertEquals("no_data_plane", health.error());
        AdminClient dpAdmin = new AdminClient(dp.server().adminPort(), null);
        Resp local = dpAdmin.get("/upstreams/svc/health");
        assertEquals(200, local.status(), local.toString());
        assertEquals(1, local.json().path("targets").size(), local.toString());
        assertTrue(local.json().path("targets").get(0).path("url").asText().contains(":" + c.port()), local.toString());
        assertEquals(dp.server().gateway().current().version(), local.json().path("version").asLong());

        // a route moved off the upstream, and the upstream removed: the data plane follows both
        assertEquals(200, admin.put("/v1/routes/two", "{\"paths\": [\"/two/**\"], \"upstream\": {\"targets\": "
                + "[{\"url\": \"" + a.url() + "\"}]}}").status());
        assertEquals(409, admin.delete("/v1/upstreams/svc").status());
        assertEquals(204, admin.delete("/v1/routes/one").status());
        assertEquals(204, admin.delete("/v1/upstreams/svc").status());
        awaitServedBy("/two/x", "a");
        long last = admin.get("/v1/config").json().path("version").asLong();
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (dp.server().gateway().current().version() != last) {
            assertTrue(System.nanoTime() < deadline, "data plane stuck at " + dp.server().gateway().current().version());
            Thread.sleep(20);
        }
        assertEquals(fullLoads, dp.tracker().fullLoads());
        assertEquals(404, dpAdmin.get("/upstreams/svc/health").status());
    }
}
