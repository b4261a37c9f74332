package io.sluice.runtime.js;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.runtime.Node;
import io.sluice.runtime.testing.AdminClient;
import io.sluice.runtime.testing.AdminClient.Resp;
import io.sluice.runtime.testing.EchoUpstream;
import io.sluice.runtime.testing.Nodes;
import io.sluice.runtime.testing.SwitchUnderLoad;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Uploaded JavaScript filters on a standalone node: upload, attach, traffic, new version, hostile scripts. */
class JsFiltersIT {
    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

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

    static String tagger(String version, String tag) {
        return """
                export default {
                  name: "tagger",
                  version: "%s",
                  schema: {type: "object", required: ["value"], properties: {value: {type: "string"}}},
                  onRequest(ctx, conf) {
                    ctx.request.headers.set("x-tag", conf.value + "-%s");
                    ctx.request.headers.set("x-route", ctx.route.id + " " + ctx.route.params["**"] + " " + ctx.consumer);
                  },
                  onResponse(ctx, conf) {
                    ctx.response.headers.set("x-tagged-by", "tagger %s");
                  }
                };
                """.formatted(version, tag, version);
    }

    Resp upload(String script) {
        return admin.send("POST", "/v1/filters", script, "application/json", "application/javascript");
    }

    HttpResponse<String> get(String path) throws Exception {
        return Nodes.get(node, path);
    }

    void route(String id, String path, String plugins) {
        Resp r = admin.put("/v1/routes/" + id, """
                {"paths": ["%s"], "upstream": {"targets": [{"url": "%s"}]}, "plugins": %s}"""
                .formatted(path, upstream.url(), plugins));
        assertTrue(r.status() == 200 || r.status() == 201, r.toString());
    }

    @Test
    void uploadAttachSwitchVersionsUnderLoadWithoutAFailedRequest() throws Exception {
        Resp v1 = upload(tagger("1.0.0", "v1"));
        assertEquals(201, v1.status(), v1.toString());
        assertEquals("js", v1.json().path("kind").asText());
        assertEquals(64, v1.json().path("sha256").asText().length());
        assertEquals(200, upload(tagger("1.0.0", "v1")).status(), "same content again is fine");
        Resp changed = upload(tagger("1.0.0", "changed"));
        assertEquals(409, changed.status(), changed.toString());
        assertEquals("conflict", changed.error());

        // attached without a version: pinned to the newest at write time
        route("app", "/app/**", "[{\"name\": \"tagger\", \"config\": {\"value\": \"hello\"}}]");
        assertEquals("1.0.0", admin.get("/v1/routes/app").json().path("plugins").get(0).path("version").asText());
        HttpResponse<String> first = get("/app/x");
        assertEquals(200, first.statusCode(), first.body());
        assertEquals("hello-v1", upstream.last().header("x-tag"));
        assertEquals("app x null", upstream.last().header("x-route"));
        assertEquals("tagger 1.0.0", first.headers().firstValue("x-tagged-by").orElseThrow());

        assertEquals(201, upload(tagger("2.0.0", "v2")).status());
        SwitchUnderLoad.Result run = SwitchUnderLoad.run(() -> get("/app/y"), r -> {
            String by = r.headers().firstValue("x-tagged-by").orElse("");
            return r.statusCode() != 200 ? "failed" : by.equals("tagger 1.0.0") ? "old" : by.equals("tagger 2.0.0") ? "new" : by;
        }, () -> route("app", "/app/**", "[{\"name\": \"tagger\", \"version\": \"2.0.0\", \"config\": {\"value\": \"hello\"}}]"), 50);
        assertEquals(List.of(), run.failures(), "of " + run.sent() + " requests");
        assertTrue(run.newSeen() >= 50, "v2 served " + run.newSeen() + " of " + run.sent());
        get("/app/z");
        assertEquals("hello-v2", upstream.last().header("x-tag"));
        // the old version can go once nothing uses it; the attached one cannot
        assertEquals(204, admin.delete("/v1/filters/tagger/versions/1.0.0").status());
        assertEquals("filter_in_use", admin.delete("/v1/filters/tagger/versions/2.0.0").error());
    }

    @Test
    void badUploadsAreRefusedWithLineAndColumn() {
        Resp syntax = upload("export default {\n  name: \"x\",\n  version: \"1.0.0\" oops\n};\n");
        assertEquals(400, syntax.status(), syntax.toString());
        assertEquals("invalid_filter", syntax.error());
        JsonNode d = syntax.json().path("details").get(0);
        assertEquals(3, d.path("line").asInt(), syntax.toString());
        assertTrue(d.path("message").asText().contains("line 3, column"), syntax.toString());

        Resp badSchema = upload("""
                export default { name: "bad-schema", version: "1.0.0", schema: {type: 12}, onRequest() {} };""");
        assertEquals(400, badSchema.status(), badSchema.toString());
        assertEquals("schema", badSchema.json().path("details").get(0).path("path").asText());

        Resp missing = upload("export default { name: \"Bad_Name\", version: \"one\" };");
        assertEquals(400, missing.status());
        List<String> paths = new ArrayList<>();
        missing.json().path("details").forEach(x -> paths.add(x.path("path").asText()));
        assertEquals(List.of("name", "version", "schema", "onRequest"), paths);

        Resp builtin = upload("""
                export default { name: "rate-limit", version: "9.0.0", schema: {type: "object"}, onRequest() {} };""");
        assertEquals(409, builtin.status(), builtin.toString());

        Resp imports = upload("import fs from 'fs';\nexport default { name: \"fs-reader\", version: \"1.0.0\","
                + " schema: {type: \"object\"}, onRequest() {} };");
        assertEquals(400, imports.status(), imports.toString());
        assertEquals(400, admin.send("POST", "/v1/filters", "", "application/json", "application/javascript").status());
        Resp wrongType = admin.send("POST", "/v1/filters", tagger("1.0.0", "x"), "application/json", "text/plain");
        assertEquals(400, wrongType.status());
        assertTrue(wrongType.json().path("details").get(0).path("message").asText().contains("application/javascript"),
                wrongType.toString());
        Resp huge = admin.send("POST", "/v1/filters", "//" + "x".repeat(4 * 1024 * 1024), "application/json",
                "application/javascript");
        assertEquals(413, huge.status(), huge.toString());
        assertEquals("payload_too_large", huge.error());
        assertEquals(0, node.registry().orElseThrow().store().filters().size());
    }

    static String hostile(String name, String body) {
        return """
                export default {
                  name: "%s", version: "1.0.0", schema: {type: "object"},
                  onRequest(ctx, conf) { %s }
                };""".formatted(name, body);
    }

    @Test
    void hostileScriptsAreStoppedWhileOtherRoutesKeepServing() throws Exception {
        route("plain", "/plain/**", "[]");
        String[][] cases = {
                {"spin", "while (true) {}"},
                {"alloc-bomb", "const a = []; while (true) { a.push(new Array(100000).fill(1)); }"},
                {"deep-recursion", "const f = (n) => f(n + 1) + 1; f(0);"},
                {"huge-string", "let s = 'x'.repeat(100 * 1024 * 1024); ctx.request.headers.set('x-len', String(s.length));"},
                {"java-type", "ctx.request.headers.set('x-java', String(Java.type('java.lang.System')));"},
                {"polyglot-import", "ctx.request.headers.set('x-p', String(Polyglot.import('x')));"},
                {"load-file", "load('/etc/passwd');"},
                {"require-fs", "require('fs');"},
                {"process-env", "ctx.request.headers.set('x-env', JSON.stringify(process.env));"},
                {"global-tricks", "const g = (0, eval)('this'); g.constructor.constructor('return Java')().type('java.io.File');"},
        };
        List<String> names = new ArrayList<>();
        for (String[] c : cases) {
            Resp r = upload(hostile(c[0], c[1]));
            assertEquals(201, r.status(), c[0] + ": " + r);
            route(c[0], "/" + c[0] + "/**", "[{\"name\": \"" + c[0] + "\", \"limits\": {\"deadline_ms\": 500}}]");
            names.add(c[0]);
        }
        // the plain route is measured while each hostile route is hit
        for (String name : names) {
            // the bystander's result (or its failure) comes back through the future, so it reaches this test
            FutureTask<List<Long>> bystander = new FutureTask<>(() -> {
                List<Long> nanos = new ArrayList<>();
                for (int i = 0; i < 40; i++) {
                    long t0 = System.nanoTime();
                    assertEquals(200, get("/plain/ok").statusCode(), "the plain route while " + name + " runs");
                    nanos.add(System.nanoTime() - t0);
                }
                return nanos;
            });
            Thread.ofPlatform().start(bystander);
            for (int i = 0; i < 3; i++) {
                HttpResponse<String> r = get("/" + name + "/x");
                assertEquals(500, r.statusCode(), name + ": " + r.body());
                assertTrue(r.body().contains("filter_error"), name + ": " + r.body());
            }
            List<Long> plainNanos;
            try {
                plainNanos = new ArrayList<>(bystander.get(60, TimeUnit.SECONDS));
            } catch (ExecutionException e) {
                throw new AssertionError(e.getCause().getMessage(), e.getCause());
            }
            plainNanos.sort(null);
            long p99 = plainNanos.get((int) Math.ceil(plainNanos.size() * 0.99) - 1) / 1_000_000;
            System.out.println("hostile " + name + ": bystander route p99 " + p99 + " ms");
            assertTrue(p99 < 1000, name + ": the plain route's p99 was " + p99 + " ms");
        }
        assertEquals(0, upstream.count() - countPlain(), "no hostile request reached the upstream");
        var breaches = node.uploads().sandbox().breaches();
        System.out.println("breaches by kind: " + breaches);
        assertTrue(breaches.getOrDefault(BudgetExceeded.Kind.STATEMENTS, 0L)
                + breaches.getOrDefault(BudgetExceeded.Kind.DEADLINE, 0L) >= 3, "the spin was stopped: " + breaches);
        assertTrue(breaches.getOrDefault(BudgetExceeded.Kind.MEMORY, 0L) >= 3, "the allocation bomb was stopped: "
                + breaches);
    }

    int countPlain() {
        return (int) upstream.all().stream().filter(r -> r.target().startsWith("/plain/")).count();
    }

    @Test
    void aScriptCannotSplitTheResponseOrForgeAHeader() throws Exception {
        // the guard is plugin-api's Headers (Helidon's own response-header check is off: SluiceServer)
        Resp splitter = upload("""
                export default { name: "splitter", version: "1.0.0", schema: {type: "object"}, onRequest() {},
                  onResponse(ctx, conf) {
                    ctx.response.headers.set(ctx.request.path.endsWith('/name') ? "x-a\\r\\nset-cookie" : "x-split",
                        "a\\r\\nSet-Cookie: session=attacker");
                  } };""");
        assertEquals(201, splitter.status(), splitter.toString());
        route("s", "/s/**", "[{\"name\": \"splitter\"}]");
        for (String path : new String[] {"/s/value", "/s/name"}) {
            io.sluice.runtime.testing.RawHttp.Response r = io.sluice.runtime.testing.RawHttp.exchange(
                    node.server().proxyPort(), "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n");
            assertEquals(500, r.status(), path);
            assertEquals(null, r.header("Set-Cookie"), path);
            assertEquals(null, r.header("x-split"), path);
        }
    }

    @Test
    void prototypePollutionDoesNotLeakIntoTheNextRequest() throws Exception {
        assertEquals(201, upload(hostile("polluter", """
                if (ctx.request.headers.get('x-pollute')) { Object.prototype.isAdmin = true; }
                ctx.request.headers.set('x-admin', String(({}).isAdmin === true));""")).status());
        route("p", "/p/**", "[{\"name\": \"polluter\"}]");
        assertEquals(200, get("/p/1").statusCode());
        assertEquals("false", upstream.last().header("x-admin"));
        HttpRequest polluting = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.server().proxyPort()
                + "/p/2")).header("x-pollute", "1").build();
        assertEquals(500, HTTP.send(polluting, HttpResponse.BodyHandlers.ofString()).statusCode(),
                "writing to a frozen prototype throws");
        for (int i = 0; i < 10; i++) {
            assertEquals(200, get("/p/3").statusCode());
            assertEquals("false", upstream.last().header("x-admin"));
        }
    }

    @Test
    void repeatedBreachesQuarantineUntilReEnabled() throws Exception {
        assertEquals(201, upload(hostile("flaky", "if (ctx.request.path.endsWith('/spin')) { while (true) {} }")).status());
        route("f", "/f/**", "[{\"name\": \"flaky\", \"on_error\": \"fail_open\", \"limits\": {\"deadline_ms\": 100}}]");
        for (int i = 0; i < 5; i++) {
            assertEquals(200, get("/f/spin").statusCode(), "fail_open lets the request through");
        }
        assertTrue(admin.get("/v1/filters/flaky/versions/1.0.0").json().path("quarantined").asBoolean());
        assertTrue(node.uploads().sandbox().breaches().values().stream().mapToLong(Long::longValue).sum() >= 5);
        Resp enable = admin.post("/v1/filters/flaky/versions/1.0.0/enable", "");
        assertEquals(200, enable.status(), enable.toString());
        assertTrue(enable.json().path("was_quarantined").asBoolean());
        assertEquals(false, admin.get("/v1/filters/flaky/versions/1.0.0").json().path("quarantined").asBoolean());
    }
}
