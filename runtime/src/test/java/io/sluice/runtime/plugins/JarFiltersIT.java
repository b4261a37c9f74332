package io.sluice.runtime.plugins;

import io.sluice.runtime.Node;
import io.sluice.runtime.testing.AdminClient;
import io.sluice.runtime.testing.AdminClient.Resp;
import io.sluice.runtime.testing.EchoUpstream;
import io.sluice.runtime.testing.Nodes;
import io.sluice.runtime.testing.SwitchUnderLoad;
import io.sluice.runtime.testing.TestJars;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Uploaded PF4J plugin jars on a standalone node: upload, attach, traffic, new version, unload, bad jars. */
class JarFiltersIT {
    static final String JAR = "application/java-archive";

    @TempDir
    Path dir;
    Node node;
    EchoUpstream upstream;
    AdminClient admin;

    @BeforeEach
    void up() throws Exception {
        upstream = EchoUpstream.start("app");
        node = Nodes.standalone(dir.resolve("data"));
        admin = Nodes.admin(node);
    }

    @AfterEach
    void down() {
        node.close();
        upstream.close();
    }

    Resp upload(byte[] jar) {
        return admin.send("POST", "/v1/filters", jar, "application/json", JAR);
    }

    void route(String id, String path, String plugins) {
        Resp r = admin.put("/v1/routes/" + id, """
                {"paths": ["%s"], "upstream": {"targets": [{"url": "%s"}]}, "plugins": %s}"""
                .formatted(path, upstream.url(), plugins));
        assertTrue(r.status() == 200 || r.status() == 201, r.toString());
    }

    HttpResponse<String> get(String path) throws Exception {
        return Nodes.get(node, path);
    }

    Path cached(String key) {
        return dir.resolve("data").resolve("filters").resolve(key + ".jar");
    }

    /** Open file descriptors of this process that point at the file. */
    static long openHandles(Path file) throws IOException {
        Path real = file.toAbsolutePath().normalize();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.filter(fd -> {
                try {
                    return Files.readSymbolicLink(fd).equals(real);
                } catch (IOException e) {
                    return false;   // closed meanwhile
                }
            }).count();
        }
    }

    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long until = System.nanoTime() + 10_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > until) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.sleep(10);
        }
    }

    @Test
    void uploadAttachSwitchVersionsUnderLoadThenUnloadTheOldJar() throws Exception {
        byte[] v1 = TestJars.tagger("tagger", "1.0.0").build();
        Resp up = upload(v1);
        assertEquals(201, up.status(), up.toString());
        assertEquals("jar", up.json().path("kind").asText());
        assertEquals(64, up.json().path("sha256").asText().length());
        assertEquals(200, upload(v1).status(), "the same jar again is fine");
        Resp changed = upload(TestJars.tagger("tagger", "1.0.0").manifest("Plugin-Provider", "someone else").build());
        assertEquals(409, changed.status(), changed.toString());
        assertEquals(List.of(), node.uploads().loadedJars(), "inspection unloads what it loaded");

        route("app", "/app/**", "[{\"name\": \"tagger\", \"config\": {\"value\": \"hello\"}}]");
        assertEquals("1.0.0", admin.get("/v1/routes/app").json().path("plugins").get(0).path("version").asText());
        HttpResponse<String> first = get("/app/x");
        assertEquals(200, first.statusCode(), first.body());
        assertEquals("hello-1.0.0", upstream.last().header("x-jar"));
        assertEquals("tagger 1.0.0", first.headers().firstValue("x-jar-by").orElseThrow());
        assertEquals(List.of("tagger@1.0.0"), node.uploads().loadedJars());

        assertEquals(201, upload(TestJars.tagger("tagger", "2.0.0").build()).status());
        SwitchUnderLoad.Result run = SwitchUnderLoad.run(() -> get("/app/y"), r -> {
            String by = r.headers().firstValue("x-jar-by").orElse("");
            return r.statusCode() != 200 ? "failed" : by.equals("tagger 1.0.0") ? "old" : by.equals("tagger 2.0.0") ? "new" : by;
        }, () -> route("app", "/app/**", "[{\"name\": \"tagger\", \"version\": \"2.0.0\", \"config\": {\"value\": \"hi\"}}]"), 50);
        assertEquals(List.of(), run.failures(), "of " + run.sent() + " requests");
        assertTrue(run.newSeen() >= 50, "v2 served " + run.newSeen() + " of " + run.sent());
        get("/app/z");
        assertEquals("hi-2.0.0", upstream.last().header("x-jar"));

        // nothing uses 1.0.0 any more: unloaded once its requests drained, its jar closed
        await("1.0.0 is unloaded", () -> node.uploads().loadedJars().equals(List.of("tagger@2.0.0")));
        assertEquals(0, openHandles(cached("tagger@1.0.0")));
        assertTrue(openHandles(cached("tagger@2.0.0")) > 0, "the jar in use is open");
        assertEquals(204, admin.delete("/v1/filters/tagger/versions/1.0.0").status());
        assertEquals("filter_in_use", admin.delete("/v1/filters/tagger/versions/2.0.0").error());

        admin.delete("/v1/routes/app");
        await("2.0.0 is unloaded", () -> node.uploads().loadedJars().isEmpty());
        assertEquals(0, openHandles(cached("tagger@2.0.0")));
    }

    @Test
    void aRequestInFlightFinishesOnTheJarItStartedWith() throws Exception {
        assertEquals(201, upload(TestJars.tagger("slow", "1.0.0").build()).status());
        assertEquals(201, upload(TestJars.tagger("slow", "2.0.0").build()).status());
        route("s", "/s/**", "[{\"name\": \"slow\", \"version\": \"1.0.0\", \"config\": {\"sleep_ms\": 700},"
                + " \"limits\": {\"deadline_ms\": 5000}}]");
        // the response is checked here, on the test's thread: an assertion failing on the background thread
        // would only end that thread
        CompletableFuture<HttpResponse<String>> inFlight = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try {
                inFlight.complete(get("/s/slow"));
            } catch (Throwable e) {
                inFlight.completeExceptionally(e);
            }
        });
        await("the slow request is in the filter", () -> filterThreads("slow") == 1);
        route("s", "/s/**", "[{\"name\": \"slow\", \"version\": \"2.0.0\"}]");
        assertTrue(node.uploads().loadedJars().contains("slow@1.0.0"), "1.0.0 stays while its request runs");
        HttpResponse<String> r = inFlight.get(30, TimeUnit.SECONDS);
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("slow 1.0.0", r.headers().firstValue("x-jar-by").orElse("(none)"),
                "the request in flight finishes on the jar it started with");
        await("1.0.0 is unloaded after its request", () -> node.uploads().loadedJars().equals(List.of("slow@2.0.0")));
    }

    @Test
    void aJavaFilterPastItsDeadlineGetsOnErrorAndIsInterrupted() throws Exception {
        assertEquals(201, upload(TestJars.tagger("sleepy", "1.0.0").build()).status());
        route("closed", "/closed/**", "[{\"name\": \"sleepy\", \"config\": {\"sleep_ms\": 10000},"
                + " \"limits\": {\"deadline_ms\": 100}}]");
        route("open", "/open/**", "[{\"name\": \"sleepy\", \"config\": {\"sleep_ms\": 10000},"
                + " \"on_error\": \"fail_open\", \"limits\": {\"deadline_ms\": 100}}]");
        long t0 = System.nanoTime();
        HttpResponse<String> closed = get("/closed/x");
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(500, closed.statusCode(), closed.body());
        assertTrue(closed.body().contains("filter_error"), closed.body());
        assertTrue(ms < 2000, "answered after the deadline, not after the filter: " + ms + " ms");
        assertEquals(0, upstream.count(), "fail_closed: the request did not go upstream");

        HttpResponse<String> open = get("/open/x");
        assertEquals(200, open.statusCode(), open.body());
        assertEquals(null, upstream.last().header("x-jar"), "fail_open: proceeds without the filter's work");
        // the late filters were interrupted: their virtual threads are gone, not sleeping for 10 s
        await("the filter threads end", () -> filterThreads("sleepy") == 0);
    }

    /** Threads running a filter's invocation (virtual threads are not in getAllStackTraces: read a thread dump). */
    static long filterThreads(String filter) {
        try {
            Path dump = Files.createTempFile("threads", ".txt");
            Files.delete(dump);
            ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class)
                    .dumpThreads(dump.toString(), com.sun.management.HotSpotDiagnosticMXBean.ThreadDumpFormat.TEXT_PLAIN);
            try (Stream<String> lines = Files.lines(dump)) {
                return lines.filter(l -> l.contains("\"filter-" + filter + "\"")).count();
            } finally {
                Files.delete(dump);
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void badJarsAreRefusedWithAClearMessageAndNothingKept() throws Exception {
        record Case(String what, byte[] jar, String expected) {
        }
        List<Case> cases = List.of(
                new Case("no descriptor", TestJars.tagger("t", "1.0.0").manifest("Plugin-Id", null)
                        .manifest("Plugin-Version", null).manifest("Plugin-Requires", null).build(), "Plugin-Id"),
                new Case("no api range", TestJars.tagger("t", "1.0.0").manifest("Plugin-Requires", null).build(),
                        "Plugin-Requires: >=0.1.0 & <0.2.0"),
                new Case("incompatible api", TestJars.tagger("t", "1.0.0").manifest("Plugin-Requires", ">=1.0.0 & <2.0.0")
                        .build(), "built for plugin-api >=1.0.0 & <2.0.0 (Plugin-Requires) but this gateway provides"
                        + " plugin-api 0.1.0"),
                new Case("api range is not a range", TestJars.tagger("t", "1.0.0").manifest("Plugin-Requires", "banana")
                        .build(), "banana"),
                new Case("two filters in one jar", TestJars.tagger("t", "1.0.0").source("test.jar.Second", """
                        package test.jar;
                        public final class Second extends Object implements io.sluice.plugin.FilterFactory {
                            public io.sluice.plugin.FilterDescriptor descriptor() { return new TagFactory().descriptor(); }
                            public io.sluice.plugin.Filter create(io.sluice.plugin.FilterConfig c) { return null; }
                        }""").extension("test.jar.Second").build(), "a plugin jar carries one filter"),
                new Case("no extension index", TestJars.tagger("t", "1.0.0").noExtensions().build(),
                        "no FilterFactory extension"),
                new Case("extension is not a FilterFactory", TestJars.plugin("t", "1.0.0")
                        .source("x.NotAFilter", "package x; public class NotAFilter {}").extension("x.NotAFilter")
                        .build(), "no FilterFactory extension"),
                new Case("throwing constructor", TestJars.plugin("t", "1.0.0").source("x.Boom", """
                        package x;
                        import io.sluice.plugin.*;
                        public class Boom implements FilterFactory {
                            public Boom() { throw new IllegalStateException("no licence key"); }
                            public FilterDescriptor descriptor() { return null; }
                            public Filter create(FilterConfig c) { return null; }
                        }""").extension("x.Boom").build(), "threw in its constructor: java.lang.IllegalStateException: no licence key"),
                new Case("id differs from descriptor", TestJars.tagger("t", "1.0.0").manifest("Plugin-Id", "other").build(),
                        "Plugin-Id is 'other'"),
                new Case("not a jar", "just text".getBytes(), "no PF4J plugin descriptor"));
        for (Case c : cases) {
            Resp r = upload(c.jar());
            assertEquals(400, r.status(), c.what() + ": " + r);
            assertEquals("invalid_filter", r.error(), c.what());
            assertTrue(r.body().contains(c.expected()), c.what() + ": " + r.body());
        }
        assertEquals(0, node.registry().orElseThrow().store().filters().size(), "nothing stored");
        assertEquals(List.of(), node.uploads().loadedJars());
        assertFalse(Files.exists(dir.resolve("data").resolve("filters")), "nothing kept for the node to load");
        try (Stream<Path> left = Files.list(dir.resolve("data").resolve("inspector"))) {
            assertEquals(List.of(), left.map(p -> p.getFileName().toString()).filter(f -> !f.startsWith("classes-"))
                    .toList(), "no inspection copies left behind");
        }
    }

    @Test
    void aConfigRefusedAfterLoadingAJarLeavesNothingLoaded() throws Exception {
        assertEquals(201, upload(TestJars.tagger("tagger", "1.0.0").build()).status());
        // the jar loads and binds; the canary entry then fails (the route has no 'blue' group): the whole write
        // is refused and what the trial build took is given back
        Resp refused = admin.put("/v1/routes/r", """
                {"paths": ["/r/**"], "upstream": {"targets": [{"url": "%s"}]}, "plugins": [
                  {"name": "tagger"},
                  {"name": "canary", "config": {"split": [{"upstream": "default", "weight": 1},
                                                          {"upstream": "blue", "weight": 1}]}}]}""".formatted(upstream.url()));
        assertEquals(400, refused.status(), refused.toString());
        assertTrue(refused.body().contains("blue"), refused.body());
        assertEquals(List.of(), node.uploads().loadedJars());
        assertEquals(404, get("/r/x").statusCode());
    }

    @Test
    void loadUseUnloadTwoHundredTimesLeaksNoClassesHeapOrFiles() throws Exception {
        assertEquals(201, upload(TestJars.tagger("cycler", "1.0.0").build()).status());
        var classes = ManagementFactory.getClassLoadingMXBean();
        var memory = ManagementFactory.getMemoryMXBean();
        long[] baseline = null;
        int cycles = 200;
        int warmup = 10;
        for (int i = 0; i < warmup + cycles; i++) {
            if (i == warmup) {
                baseline = new long[]{settledClassCount(), memory.getHeapMemoryUsage().getUsed(),
                        classes.getUnloadedClassCount()};
            }
            route("c", "/c/**", "[{\"name\": \"cycler\", \"config\": {\"value\": \"" + i + "\"}}]");
            HttpResponse<String> r = get("/c/" + i);
            assertEquals(200, r.statusCode(), r.body());
            assertEquals(i + "-1.0.0", upstream.last().header("x-jar"));
            route("c", "/c/**", "[]");
            await("cycle " + i + " unloads the jar", () -> node.uploads().loadedJars().isEmpty());
        }
        long classCount = settledClassCount();
        long heap = memory.getHeapMemoryUsage().getUsed();
        long unloaded = classes.getUnloadedClassCount() - baseline[2];
        System.out.printf("jar cycles: %d; loaded classes %d -> %d; heap after GC %d -> %d KiB; classes unloaded"
                + " during the cycles %d%n", cycles, baseline[0], classCount, baseline[1] / 1024, heap / 1024, unloaded);
        // each cycle defines the plugin's two classes in a new loader: a leak would keep 400 more
        assertTrue(classCount - baseline[0] < 100, "loaded classes grew from " + baseline[0] + " to " + classCount);
        assertTrue(unloaded >= 2L * cycles, "plugin classes were unloaded: " + unloaded);
        assertTrue(heap - baseline[1] < 32L * 1024 * 1024, "heap grew from " + baseline[1] + " to " + heap);
        Path jar = cached("cycler@1.0.0");
        assertEquals(0, openHandles(jar), "no open handle on the jar");
        Files.delete(jar);
        assertFalse(Files.exists(jar));
    }

    /** Class count after full GCs, once it stops falling. */
    static long settledClassCount() throws InterruptedException {
        var classes = ManagementFactory.getClassLoadingMXBean();
        long last = Long.MAX_VALUE;
        for (int i = 0; i < 10; i++) {
            System.gc();
            long now = classes.getLoadedClassCount();
            if (now >= last) {
                return now;
            }
            last = now;
            Thread.sleep(50);
        }
        return last;
    }
}
