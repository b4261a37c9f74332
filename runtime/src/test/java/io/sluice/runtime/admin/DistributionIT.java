package io.sluice.runtime.admin;

import io.sluice.registry.testing.PostgresDatabase;
import io.sluice.runtime.Node;
import io.sluice.runtime.SluiceServer.Listeners;
import io.sluice.runtime.testing.AdminClient;
import io.sluice.runtime.testing.AdminClient.Resp;
import io.sluice.runtime.testing.EchoUpstream;
import io.sluice.runtime.testing.RedisProcess;
import io.sluice.runtime.testing.TcpProxy;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Control plane and data planes in one JVM, on the real PostgreSQL (through a cuttable forwarder) and a real
 * redis-server: pushed versions, poll fallback, and static stability with the store, Redis or the control
 * plane gone.
 */
class DistributionIT {
    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).build();

    @TempDir
    Path dir;
    PostgresDatabase db;
    TcpProxy pg;
    RedisProcess redis;
    EchoUpstream upstream;
    Node cp;
    AdminClient admin;
    final List<Node> dataPlanes = new ArrayList<>();

    @BeforeEach
    void up() throws Exception {
        db = PostgresDatabase.create();
        pg = TcpProxy.start(PostgresDatabase.serverPort());
        redis = RedisProcess.start();
        upstream = EchoUpstream.start("svc");
        cp = Node.start(new Node.Options("control-plane", dir.resolve("cp"),
                new Listeners("127.0.0.1", 0, "127.0.0.1", 0, false), Optional.of(pgUrl()), Optional.of(redis.url()),
                Optional.of("cp-token"), Duration.ofSeconds(5)));
        admin = new AdminClient(cp.server().adminPort(), "cp-token");
    }

    @AfterEach
    void down() throws Exception {
        for (Node n : dataPlanes) {
            n.close();
        }
        if (cp != null) {
            cp.close();
        }
        upstream.close();
        redis.close();
        pg.close();
        db.close();
    }

    String pgUrl() {
        return db.url("127.0.0.1", pg.port());
    }

    Node dataPlane(String name, Duration poll) throws Exception {
        return dataPlane(name, poll, pgUrl());
    }

    Node dataPlane(String name, Duration poll, String url) throws Exception {
        Node n = Node.start(new Node.Options("data-plane", dir.resolve(name),
                new Listeners("127.0.0.1", 0, "127.0.0.1", 0, true), Optional.of(url), Optional.of(redis.url()),
                Optional.empty(), poll));
        dataPlanes.add(n);
        return n;
    }

    String route(String path) {
        return "{\"paths\":[\"" + path + "\"],\"upstream\":{\"targets\":[{\"url\":\"" + upstream.url() + "\"}]}}";
    }

    static int get(Node n, String path) {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + n.server().proxyPort() + path))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (Exception e) {
            return -1;
        }
    }

    /** Waits until the data plane's local snapshot (whole file plus journal) holds the version. */
    void awaitSnapshot(String node, long version) throws Exception {
        io.sluice.registry.distribution.SnapshotFile file = new io.sluice.registry.distribution.SnapshotFile(
                dir.resolve(node));
        long end = System.nanoTime() + 10_000_000_000L;
        while (file.read().map(s -> s.version().version()).orElse(-1L) != version) {
            if (System.nanoTime() > end) {
                throw new AssertionError(file.path() + " does not hold version " + version);
            }
            Thread.sleep(50);
        }
    }

    static int ready(Node n) {
        return new AdminClient(n.server().adminPort(), null).get("/ready").status();
    }

    /** Waits until the node serves {@code path} with 200 (propagation is asynchronous). */
    static void awaitServing(Node n, String path, Duration max) throws InterruptedException {
        long end = System.nanoTime() + max.toNanos();
        while (get(n, path) != 200) {
            if (System.nanoTime() > end) {
                throw new AssertionError(path + " not served within " + max + " (version "
                        + n.server().gateway().current().version() + ")");
            }
            Thread.sleep(20);
        }
    }

    @Test
    void redisNoticeReachesEveryDataPlane() throws Exception {
        // a 10 minute poll: only the Redis notice can deliver within the wait below
        Node a = dataPlane("dp-a", Duration.ofMinutes(10));
        Node b = dataPlane("dp-b", Duration.ofMinutes(10));
        assertEquals(503, ready(a), "no config yet, not ready");
        assertEquals(201, admin.put("/v1/routes/svc", route("/svc")).status());
        awaitServing(a, "/svc", Duration.ofSeconds(10));
        awaitServing(b, "/svc", Duration.ofSeconds(10));
        assertEquals(200, ready(a));
        assertEquals(1, a.server().gateway().current().version());
        awaitSnapshot("dp-a", 1);
        // the control plane has no proxy and is ready while its store answers
        assertEquals(-1, cp.server().proxyPort());
        assertEquals(200, ready(cp));
    }

    @Test
    void storeDownMeansWritesAre503AndDataPlanesKeepServingAndRestart() throws Exception {
        Node a = dataPlane("dp-a", Duration.ofMillis(300));
        assertEquals(201, admin.put("/v1/routes/svc", route("/svc")).status());
        awaitServing(a, "/svc", Duration.ofSeconds(10));

        pg.cut();
        Resp refused = admin.put("/v1/routes/other", route("/other"));
        assertEquals(503, refused.status(), refused.toString());
        assertEquals("store_unavailable", refused.error());
        assertEquals("5", refused.header("Retry-After").orElseThrow());
        assertEquals(503, ready(cp));
        // a few poll rounds against the dead store change nothing for traffic
        for (int i = 0; i < 20; i++) {
            assertEquals(200, get(a, "/svc"));
            Thread.sleep(50);
        }
        assertEquals(200, ready(a));

        // a data plane restarted while the store is down serves its local snapshot
        a.close();
        dataPlanes.remove(a);
        Node again = dataPlane("dp-a", Duration.ofMillis(300));
        assertTrue(again.origin().startsWith("local snapshot"), again.origin());
        assertEquals(200, get(again, "/svc"));
        assertEquals(200, ready(again));
        assertEquals(1, again.server().gateway().current().version());

        pg.restore();
        awaitStatus(() -> admin.put("/v1/routes/other", route("/other")).status(), 201);
        awaitServing(again, "/other", Duration.ofSeconds(10));
    }

    @Test
    void uploadedJavaScriptFilterRunsOnDataPlanesAndSurvivesARestartWhileTheStoreIsDown() throws Exception {
        Node a = dataPlane("dp-a", Duration.ofMillis(300));
        Resp up = admin.send("POST", "/v1/filters", """
                export default {
                  name: "tagger", version: "1.0.0", schema: {type: "object"},
                  onRequest(ctx, conf) { ctx.request.headers.set("x-tag", "from-js"); }
                };""", "application/json", "application/javascript");
        assertEquals(201, up.status(), up.toString());
        assertEquals(201, admin.put("/v1/routes/svc", "{\"paths\":[\"/svc\"],\"upstream\":{\"targets\":[{\"url\":\""
                + upstream.url() + "\"}]},\"plugins\":[{\"name\":\"tagger\"}]}").status());
        awaitServing(a, "/svc", Duration.ofSeconds(10));
        assertEquals("from-js", upstream.last().header("x-tag"));
        assertTrue(Files.exists(dir.resolve("dp-a/filters/tagger@1.0.0.js")), "the data plane keeps a local copy");

        pg.cut();
        a.close();
        dataPlanes.remove(a);
        Node again = dataPlane("dp-a", Duration.ofMillis(300));
        assertTrue(again.origin().startsWith("local snapshot"), again.origin());
        assertEquals(200, get(again, "/svc"));
        assertEquals("from-js", upstream.last().header("x-tag"), "the filter came from the local copy");
    }

    @Test
    void aVersionTheDataPlaneCannotApplyIsSkippedAndTheLastGoodOneKept() throws Exception {
        Node a = dataPlane("dp-a", Duration.ofMillis(200));
        assertEquals(201, admin.put("/v1/routes/svc", route("/svc")).status());
        awaitServing(a, "/svc", Duration.ofSeconds(10));
        // e.g. written by a newer control plane with a plugin this data plane does not have
        cp.registry().orElseThrow().store().commit(1, java.util.List.of(new io.sluice.registry.model.EntityChange(
                io.sluice.registry.model.EntityKind.ROUTE, "x", null, "{\"id\":\"x\",\"paths\":[\"/x\"],"
                + "\"upstream\":{\"targets\":[{\"url\":\"http://127.0.0.1:1\"}]},"
                + "\"plugins\":[{\"name\":\"from-the-future\"}]}")), "test", "platform", "unknown plugin");
        for (int i = 0; i < 10; i++) {
            Thread.sleep(100);
            assertEquals(200, get(a, "/svc"));
            assertEquals(1, a.server().gateway().current().version());
        }
        assertEquals(200, ready(a));
        awaitSnapshot("dp-a", 1);
        // the control plane validates what a write changes, so an unrelated write commits (version 3); the data
        // plane cannot serve version 3 either (route x is still in it) and keeps version 1
        assertEquals(200, admin.put("/v1/routes/svc", route("/svc2")).status());
        Thread.sleep(500);
        assertEquals(1, a.server().gateway().current().version());
        assertEquals(200, get(a, "/svc"));
        // rolling back to version 1 removes x: version 4 is applied
        assertEquals(200, admin.post("/v1/config/rollback", "{\"version\": 1}").status());
        long end = System.nanoTime() + 10_000_000_000L;
        while (a.server().gateway().current().version() != 4 && System.nanoTime() < end) {
            Thread.sleep(20);
        }
        assertEquals(4, a.server().gateway().current().version());
        assertEquals(200, get(a, "/svc"));
        assertEquals(404, get(a, "/svc2"));
    }

    static int getWithKey(Node n, String path, String key) {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + n.server().proxyPort() + path))
                    .header("X-API-Key", key).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (Exception e) {
            return -1;
        }
    }

    /** Changes made while a data plane cannot read the store: 15 versions of routes, a consumer and its key. */
    String changesWhileAway() {
        for (int i = 0; i < 10; i++) {
            assertEquals(201, admin.put("/v1/routes/r" + i, route("/r" + i)).status());
        }
        assertEquals(200, admin.put("/v1/routes/svc", route("/svc-moved")).status());
        assertEquals(204, admin.delete("/v1/routes/r0").status());
        assertEquals(201, admin.put("/v1/consumers/app", "{}").status());
        String key = admin.post("/v1/consumers/app/api-keys", "").json().path("key").asText();
        assertEquals(201, admin.put("/v1/routes/guarded", "{\"paths\":[\"/guarded\"],\"plugins\":[{\"name\":"
                + "\"key-auth\"}],\"upstream\":{\"targets\":[{\"url\":\"" + upstream.url() + "\"}]}}").status());
        return key;
    }

    void assertCaughtUp(Node a, String key) throws InterruptedException {
        // change sets are applied version by version: wait for the last one, not for a route an earlier one added
        long target = cp.registry().orElseThrow().version();
        long end = System.nanoTime() + 10_000_000_000L;
        while (a.server().gateway().current().version() < target && System.nanoTime() < end) {
            Thread.sleep(20);
        }
        assertEquals(404, get(a, "/svc"));
        assertEquals(404, get(a, "/r0"));
        assertEquals(target, a.server().gateway().current().version());
        assertEquals(200, get(a, "/r9"));
        assertEquals(200, get(a, "/svc-moved"));
        assertEquals(200, getWithKey(a, "/guarded", key));
        assertEquals(401, getWithKey(a, "/guarded", key + "x"));
    }

    @Test
    void aDataPlaneThatMissedChangesWhileTheStoreWasDownCatchesUpByChangeSets() throws Exception {
        try (TcpProxy own = TcpProxy.start(PostgresDatabase.serverPort())) {
            Node a = dataPlane("dp-a", Duration.ofMillis(200), db.url("127.0.0.1", own.port()));
            assertEquals(201, admin.put("/v1/routes/svc", route("/svc")).status());
            awaitServing(a, "/svc", Duration.ofSeconds(10));
            long full = a.tracker().fullLoads();
            long sets = a.tracker().changeSets();
            own.cut();
            String key = changesWhileAway();
            assertEquals(200, get(a, "/svc"), "still serving what it had");
            assertEquals(1, a.server().gateway().current().version());
            own.restore();
            assertCaughtUp(a, key);
            assertEquals(full, a.tracker().fullLoads(), "caught up through the change sets, no full load");
            assertEquals(sets + 15, a.tracker().changeSets());

            // the local snapshot holds every version applied: restarted with the store down, it serves all of them
            long served = a.server().gateway().current().version();
            own.cut();
            a.close();
            dataPlanes.remove(a);
            Node again = dataPlane("dp-a", Duration.ofMillis(200), db.url("127.0.0.1", own.port()));
            assertTrue(again.origin().startsWith("local snapshot"), again.origin());
            assertEquals(served, again.server().gateway().current().version());
            assertEquals(200, getWithKey(again, "/guarded", key));
            assertEquals(200, get(again, "/r9"));
        }
    }

    @Test
    void aDataPlaneTooFarBehindLoadsTheWholeConfig() throws Exception {
        System.setProperty("sluice.config.resync-limit", "5");
        try (TcpProxy own = TcpProxy.start(PostgresDatabase.serverPort())) {
            Node a = dataPlane("dp-a", Duration.ofMillis(200), db.url("127.0.0.1", own.port()));
            assertEquals(201, admin.put("/v1/routes/svc", route("/svc")).status());
            awaitServing(a, "/svc", Duration.ofSeconds(10));
            long full = a.tracker().fullLoads();
            own.cut();
            String key = changesWhileAway();
            own.restore();
            assertCaughtUp(a, key);
            assertEquals(full + 1, a.tracker().fullLoads(), "15 changes behind, more than 5: one full load");
        } finally {
            System.clearProperty("sluice.config.resync-limit");
        }
    }

    @Test
    void redisDownFallsBackToPolling() throws Exception {
        Node a = dataPlane("dp-a", Duration.ofMillis(300));
        redis.stop();
        assertEquals(201, admin.put("/v1/routes/svc", route("/svc")).status());
        awaitServing(a, "/svc", Duration.ofSeconds(10));
        redis.startAgain();
        assertEquals(201, admin.put("/v1/routes/two", route("/two")).status());
        awaitServing(a, "/two", Duration.ofSeconds(10));
    }

    @Test
    void controlPlaneGoneDataPlaneServes() throws Exception {
        Node a = dataPlane("dp-a", Duration.ofMillis(300));
        assertEquals(201, admin.put("/v1/routes/svc", route("/svc")).status());
        awaitServing(a, "/svc", Duration.ofSeconds(10));
        cp.close();
        cp = null;
        redis.stop();
        pg.cut();
        for (int i = 0; i < 20; i++) {
            assertEquals(200, get(a, "/svc"));
            Thread.sleep(50);
        }
        assertEquals(200, ready(a));
    }

    private static void awaitStatus(java.util.function.IntSupplier call, int expected) throws InterruptedException {
        long end = System.nanoTime() + 10_000_000_000L;
        int last;
        while ((last = call.getAsInt()) != expected) {
            if (System.nanoTime() > end) {
                throw new AssertionError("expected " + expected + ", last " + last);
            }
            Thread.sleep(100);
        }
    }
}
