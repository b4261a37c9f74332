package io.sluice.runtime.observe;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.registry.testing.PostgresDatabase;
import io.sluice.runtime.Node;
import io.sluice.runtime.SluiceServer.Listeners;
import io.sluice.runtime.testing.AdminClient;
import io.sluice.runtime.testing.EchoUpstream;
import io.sluice.runtime.testing.Nodes;
import io.sluice.runtime.testing.RedisProcess;
import io.sluice.runtime.testing.TcpProxy;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Dependency health against real services: a wrong Redis URL, a redis-server stopped and started, PostgreSQL
 * cut and restored (through a forwarder), rate-limit's Redis; logs, {@code sluice_dependency_up} and
 * {@code /ready}. Also: a control plane's {@code sluice_config_version} follows its commits.
 */
class DependenciesIT {
    private static final Duration DEADLINE = Duration.ofSeconds(20);

    @TempDir
    Path dir;
    final List<AutoCloseable> closing = new ArrayList<>();
    final List<LogRecord> logged = new CopyOnWriteArrayList<>();
    final Logger logger = Logger.getLogger(Dependencies.class.getName());
    final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord r) {
            logged.add(r);
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @BeforeEach
    void listen() {
        logger.addHandler(capture);
    }

    @AfterEach
    void down() throws Exception {
        for (AutoCloseable c : closing.reversed()) {
            c.close();
        }
        logger.removeHandler(capture);
        // a probe or check that threw on the checker thread would be logged with its exception: fail on it here
        for (LogRecord r : logged) {
            assertEquals(null, r.getThrown(), "background failure: " + r.getMessage());
        }
    }

    <T extends AutoCloseable> T closing(T c) {
        closing.add(c);
        return c;
    }

    @Test
    void aWrongRedisUrlIsLoggedExportedAndExplained() throws Exception {
        String url = "redis://127.0.0.1:" + deadPort();
        Node node = closing(standalone(url));

        assertEquals(1, count(Level.WARNING, "dependency redis_config (" + url + ") is down"), logged.toString());
        assertEquals(OptionalDouble.of(0), dependencyUp("redis_config"));
        AdminClient.Resp ready = ready(node);
        assertEquals(200, ready.status(), "a standalone node with its config loaded stays ready");
        JsonNode dep = ready.json().path("dependencies").path("redis_config");
        assertFalse(dep.path("up").asBoolean(true), ready.body());
        assertTrue(dep.path("reason").asText().contains("Unable to connect"), ready.body());
        assertTrue(ready.json().path("dependencies").path("store").isMissingNode(),
                "the embedded store is part of the process, not a dependency: " + ready.body());
    }

    @Test
    void redisStoppedAndStartedFlipsTheMetricBothWays() throws Exception {
        RedisProcess redis = closing(RedisProcess.start());
        Node node = closing(standalone(redis.url()));
        assertEquals(OptionalDouble.of(1), dependencyUp("redis_config"));
        assertTrue(ready(node).json().path("dependencies").path("redis_config").path("up").asBoolean());

        redis.stop();
        await("redis_config down", () -> dependencyUp("redis_config").equals(OptionalDouble.of(0)));
        long round = node.dependencies().rounds();
        await("two more checks", () -> node.dependencies().rounds() >= round + 2);
        assertEquals(1, count(Level.WARNING, "redis_config"), "logged once, not every check: " + logged);
        assertTrue(ready(node).json().path("dependencies").path("redis_config").path("reason").asText()
                .contains("Unable to connect"));

        redis.startAgain();
        await("redis_config up", () -> dependencyUp("redis_config").equals(OptionalDouble.of(1)));
        assertEquals(1, count(Level.INFO, "dependency redis_config (" + redis.url() + ") is up again"),
                logged.toString());
        assertTrue(ready(node).json().path("dependencies").path("redis_config").path("reason").isMissingNode());
    }

    @Test
    void aControlPlaneReportsItsCommittedVersionAndNeedsItsStore() throws Exception {
        PostgresDatabase db = closing(PostgresDatabase.create());
        TcpProxy pg = closing(TcpProxy.start(PostgresDatabase.serverPort()));
        Node cp = closing(Node.start(new Node.Options("control-plane", dir.resolve("cp"),
                new Listeners("127.0.0.1", 0, "127.0.0.1", 0, false), Optional.of(db.url("127.0.0.1", pg.port())),
                Optional.empty(), Optional.of("cp-token"), Duration.ofSeconds(5))));
        AdminClient admin = new AdminClient(cp.server().adminPort(), "cp-token");
        assertEquals(201, admin.put("/v1/routes/a", route("/a")).status());
        assertEquals(200, admin.put("/v1/routes/a", route("/a2")).status());
        long committed = admin.get("/v1/config").json().path("version").asLong();
        assertEquals(2, committed);

        assertEquals(OptionalDouble.of(committed), metric(admin, "sluice_config_version", ""));
        assertEquals(committed, ready(cp).json().path("version").asLong());
        assertEquals(OptionalDouble.of(1), dependencyUp("store"));

        pg.cut();
        await("store down", () -> dependencyUp("store").equals(OptionalDouble.of(0)));
        AdminClient.Resp ready = ready(cp);
        assertEquals(503, ready.status(), "a control plane is ready only while its store answers");
        assertFalse(ready.json().path("dependencies").path("store").path("reason").asText().isBlank(), ready.body());

        pg.restore();
        await("store up", () -> dependencyUp("store").equals(OptionalDouble.of(1)));
        assertEquals(200, ready(cp).status());
        assertEquals(1, count(Level.WARNING, "dependency store"), logged.toString());
        assertEquals(1, count(Level.INFO, "dependency store"), logged.toString());
    }

    @Test
    void aDataPlaneStaysReadyWithItsStoreAndRedisDown() throws Exception {
        PostgresDatabase db = closing(PostgresDatabase.create());
        TcpProxy pg = closing(TcpProxy.start(PostgresDatabase.serverPort()));
        RedisProcess redis = closing(RedisProcess.start());
        String pgUrl = db.url("127.0.0.1", pg.port());
        Node cp = closing(Node.start(new Node.Options("control-plane", dir.resolve("cp"),
                new Listeners("127.0.0.1", 0, "127.0.0.1", 0, false), Optional.of(pgUrl),
                Optional.of(redis.url()), Optional.of("cp-token"), Duration.ofSeconds(5))));
        assertEquals(201, new AdminClient(cp.server().adminPort(), "cp-token").put("/v1/routes/a", route("/a"))
                .status());
        Node dp = closing(Node.start(new Node.Options("data-plane", dir.resolve("dp"),
                new Listeners("127.0.0.1", 0, "127.0.0.1", 0, true), Optional.of(pgUrl), Optional.of(redis.url()),
                Optional.empty(), Duration.ofSeconds(1))));
        await("data plane subscribed", () -> up(dp, "redis_config"));
        assertTrue(up(dp, "store"));

        pg.cut();
        redis.stop();
        await("store and redis down on the data plane", () -> !up(dp, "store") && !up(dp, "redis_config"));
        AdminClient.Resp ready = ready(dp);
        assertEquals(200, ready.status(), "static stability: the loaded snapshot keeps it ready " + ready.body());
        assertEquals(1, ready.json().path("version").asLong());
    }

    @Test
    void rateLimitRedisIsListedOnceARouteUsesIt() throws Exception {
        EchoUpstream upstream = closing(EchoUpstream.start("svc"));
        String url = "redis://127.0.0.1:" + deadPort();
        Node node = closing(Nodes.standalone(dir.resolve("node")));
        AdminClient admin = Nodes.admin(node);
        assertEquals(201, admin.put("/v1/routes/limited", """
                {"paths": ["/**"], "upstream": {"targets": [{"url": "%s"}]},
                 "plugins": [{"name": "rate-limit", "config": {"rate": 10, "burst": 10, "by": "route",
                              "policy": "redis", "redis_url": "%s"}}]}""".formatted(upstream.url(), url)).status());
        assertEquals(200, Nodes.get(node, "/x").statusCode(), "the local fallback answers while Redis is down");

        await("redis_rate_limit listed down", () -> {
            JsonNode d = ready(node).json().path("dependencies").path("redis_rate_limit");
            return !d.path("up").asBoolean(true) && d.path("reason").asText().contains(url);
        });
        assertEquals(OptionalDouble.of(0), dependencyUp("redis_rate_limit"));
    }

    // ---- helpers

    Node standalone(String redisUrl) throws Node.StartException {
        return Node.start(new Node.Options("standalone", dir.resolve("node"),
                new Listeners("127.0.0.1", 0, "127.0.0.1", 0, true), Optional.empty(), Optional.of(redisUrl),
                Optional.of("token"), Duration.ofSeconds(5)));
    }

    static String route(String path) {
        return "{\"paths\":[\"" + path + "\"],\"upstream\":{\"targets\":[{\"url\":\"http://127.0.0.1:9\"}]}}";
    }

    static int deadPort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static AdminClient.Resp ready(Node n) {
        return new AdminClient(n.server().adminPort(), null).get("/ready");
    }

    static boolean up(Node n, String dependency) {
        return ready(n).json().path("dependencies").path(dependency).path("up").asBoolean(false);
    }

    long count(Level level, String text) {
        return logged.stream().filter(r -> r.getLevel().equals(level) && r.getMessage().contains(text)).count();
    }

    // metrics are per process; any node's admin port serves them
    OptionalDouble dependencyUp(String dependency) {
        Node any = (Node) closing.stream().filter(Node.class::isInstance).reduce((a, b) -> b).orElseThrow();
        return metric(new AdminClient(any.server().adminPort(), null), "sluice_dependency_up",
                "dependency=\"" + dependency + "\"");
    }

    static OptionalDouble metric(AdminClient admin, String name, String labels) {
        String text = admin.get("/metrics").body();
        Pattern p = Pattern.compile("(?m)^" + name + (labels.isEmpty() ? "" : "\\{" + Pattern.quote(labels) + ",?}")
                + " (\\S+)$");
        Matcher m = p.matcher(text);
        return m.find() ? OptionalDouble.of(Double.parseDouble(m.group(1))) : OptionalDouble.empty();
    }

    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + DEADLINE.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                throw new AssertionError(what + ": not within " + DEADLINE);
            }
            Thread.sleep(50);
        }
    }
}
