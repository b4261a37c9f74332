package io.sluice.runtime.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.runtime.Node;
import io.sluice.runtime.testing.AdminClient;
import io.sluice.runtime.testing.AdminClient.Resp;
import io.sluice.runtime.testing.EchoUpstream;
import io.sluice.runtime.testing.Nodes;
import io.sluice.runtime.testing.TestPki;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Shared upstreams through the admin API of a standalone node, with real upstreams behind the proxy: the entity's
 * lifecycle, routes and canary groups naming it, target registration, hostile input (each refused with its status,
 * a JSON error and nothing changed), roles and redaction of the mTLS key, export and import.
 */
class UpstreamAdminIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String REDACTED = "<redacted>";

    @TempDir
    Path dir;
    Node node;
    AdminClient admin;
    EchoUpstream a;
    EchoUpstream b;
    EchoUpstream c;

    @BeforeEach
    void up() throws Exception {
        a = EchoUpstream.start("a");
        b = EchoUpstream.start("b");
        c = EchoUpstream.start("c");
        node = Nodes.standalone(dir.resolve("data"));
        admin = Nodes.admin(node);
    }

    @AfterEach
    void down() {
        node.close();
        a.close();
        b.close();
        c.close();
    }

    // ---- helpers

    static String targets(EchoUpstream... ups) {
        List<String> t = new ArrayList<>();
        for (EchoUpstream u : ups) {
            t.add("{\"url\": \"" + u.url() + "\"}");
        }
        return "{\"targets\": [" + String.join(", ", t) + "]}";
    }

    static String routeTo(String path, String upstream) {
        return "{\"paths\": [\"" + path + "\"], \"upstream\": \"" + upstream + "\"}";
    }

    long version() {
        return admin.get("/v1/config").json().path("version").asLong();
    }

    HttpResponse<String> proxy(String path) throws Exception {
        return Nodes.get(node, path);
    }

    /** Waits until {@code n} requests in a row are answered 200 by the named echo upstream. */
    void awaitServedBy(String path, String name) throws Exception {
        long end = System.nanoTime() + 10_000_000_000L;
        int inARow = 0;
        String last = "";
        while (inARow < 10) {
            HttpResponse<String> r = proxy(path);
            String by = r.headers().firstValue("X-Upstream").orElse("");
            last = r.statusCode() + " " + by + " " + r.body();
            inARow = r.statusCode() == 200 && by.equals(name) ? inARow + 1 : 0;
            if (System.nanoTime() > end) {
                throw new AssertionError(path + " not served by " + name + " within 10 s; last: " + last);
            }
            if (inARow == 0) {
                Thread.sleep(20);
            }
        }
    }

    /** Asserts a refusal: status, error code, a detail at {@code path} (when given), and nothing committed. */
    static Resp refused(Resp r, int status, String code, String path) {
        assertEquals(status, r.status(), r.toString());
        assertEquals(code, r.error(), r.toString());
        assertFalse(r.json().path("message").asText().isEmpty(), r.toString());
        if (path != null) {
            assertTrue(hasDetail(r, path), "no detail at '" + path + "': " + r);
        }
        assertTrue(r.header("Sluice-Config-Version").isEmpty(), r.toString());
        return r;
    }

    static boolean hasDetail(Resp r, String path) {
        for (JsonNode d : r.json().path("details")) {
            if (d.path("path").asText().equals(path)) {
                return true;
            }
        }
        return false;
    }

    static String detail(Resp r, String path) {
        for (JsonNode d : r.json().path("details")) {
            if (d.path("path").asText().equals(path)) {
                return d.path("message").asText();
            }
        }
        throw new AssertionError("no detail at " + path + ": " + r);
    }

    /** One hostile request: what it must be answered with, and that the config stays as it was. */
    record Hostile(String what, Supplier<Resp> call, int status, String code, String path) {
    }

    /** Runs them all and reports every one that was not refused as expected (not just the first). */
    void expectRefused(List<Hostile> cases, String watched) {
        List<String> wrong = new ArrayList<>();
        for (Hostile h : cases) {
            long before = version();
            String entity = admin.get(watched).body();
            Resp r;
            try {
                r = h.call().get();
            } catch (AssertionError e) {
                wrong.add(h.what() + ": " + e.getMessage());
                continue;
            }
            String body = r.body();
            if (r.status() != h.status()) {
                wrong.add(h.what() + ": expected " + h.status() + ", got " + r.status() + " " + abbreviate(body));
            } else {
                JsonNode json;
                try {
                    json = JSON.readTree(body);
                } catch (Exception e) {
                    json = null;
                }
                if (json == null || !h.code().equals(json.path("error").asText())) {
                    wrong.add(h.what() + ": expected error " + h.code() + ", got " + abbreviate(body));
                } else if (h.path() != null && !(h.path().endsWith("*") ? detailStartsWith(r, h.path()
                        .substring(0, h.path().length() - 1)) : hasDetail(r, h.path()))) {
                    wrong.add(h.what() + ": expected a detail at '" + h.path() + "', got " + abbreviate(body));
                }
            }
            if (version() != before) {
                wrong.add(h.what() + ": the config version moved from " + before + " to " + version());
            }
            if (!admin.get(watched).body().equals(entity)) {
                wrong.add(h.what() + ": " + watched + " changed");
            }
        }
        assertTrue(wrong.isEmpty(), wrong.size() + " of " + cases.size() + " not refused as expected:\n  "
                + String.join("\n  ", wrong));
    }

    static boolean detailStartsWith(Resp r, String prefix) {
        for (JsonNode d : r.json().path("details")) {
            if (d.path("path").asText().startsWith(prefix)) {
                return true;
            }
        }
        return false;
    }

    static String abbreviate(String s) {
        return s.length() > 400 ? s.substring(0, 400) + "..." : s;
    }

    static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    // ---- the entity

    @Test
    void createReadReplaceDeleteAndARouteNamingItProxiesToIt() throws Exception {
        refused(admin.get("/v1/upstreams/users-svc"), 404, "not_found", null);
        Resp created = admin.put("/v1/upstreams/users-svc", targets(a));
        assertEquals(201, created.status(), created.toString());
        assertEquals("1", created.header("Sluice-Config-Version").orElseThrow());
        assertEquals("users-svc", created.json().path("id").asText());
        assertEquals(a.url(), created.json().path("targets").get(0).path("url").asText());

        JsonNode read = admin.get("/v1/upstreams/users-svc").json();
        assertEquals("users-svc", read.path("id").asText());
        assertEquals(a.url(), read.path("targets").get(0).path("url").asText());
        JsonNode list = admin.get("/v1/upstreams").json();
        assertEquals(1, list.path("version").asLong());
        assertEquals(1, list.path("upstreams").size());
        // the same body again changes nothing
        Resp same = admin.put("/v1/upstreams/users-svc", targets(a));
        assertEquals(200, same.status(), same.toString());
        assertEquals(1, version());

        assertEquals(201, admin.put("/v1/routes/users", routeTo("/users/**", "users-svc")).status());
        awaitServedBy("/users/1", "a");
        assertEquals("a GET /users/1", proxy("/users/1").body().strip());

        // replacing the upstream moves the route's traffic; the route itself is not rewritten
        String routeBefore = admin.get("/v1/routes/users").body();
        Resp replaced = admin.put("/v1/upstreams/users-svc", """
                {"targets": [{"url": "%s", "weight": 5}], "balancer": "least_requests", "retries": 1}"""
                .formatted(b.url()));
        assertEquals(200, replaced.status(), replaced.toString());
        assertEquals("3", replaced.header("Sluice-Config-Version").orElseThrow());
        awaitServedBy("/users/1", "b");
        assertEquals(routeBefore, admin.get("/v1/routes/users").body());
        assertEquals("least_requests", admin.get("/v1/upstreams/users-svc").json().path("balancer").asText());
        JsonNode health = admin.get("/v1/upstreams/users-svc/health").json();
        assertEquals("users-svc", health.path("id").asText(), health.toString());
        assertEquals(1, health.path("targets").size(), health.toString());
        assertTrue(health.path("targets").get(0).path("url").asText().contains(":" + b.port()), health.toString());

        // a route names it: refused, with a JSON error naming the route, and nothing changed
        Resp inUse = admin.delete("/v1/upstreams/users-svc");
        refused(inUse, 409, "conflict", null);
        assertTrue(inUse.body().contains("route 'users'"), inUse.toString());
        assertEquals(3, version());
        assertEquals(200, admin.get("/v1/upstreams/users-svc").status());
        awaitServedBy("/users/1", "b");

        // pointed elsewhere, it can go
        assertEquals(200, admin.put("/v1/routes/users", "{\"paths\": [\"/users/**\"], \"upstream\": "
                + targets(c) + "}").status());
        awaitServedBy("/users/1", "c");
        assertEquals(204, admin.delete("/v1/upstreams/users-svc").status());
        assertEquals(5, version());
        refused(admin.get("/v1/upstreams/users-svc"), 404, "not_found", null);
        refused(admin.get("/v1/upstreams/users-svc/health"), 404, "not_found", null);
        refused(admin.delete("/v1/upstreams/users-svc"), 404, "not_found", null);
        assertEquals(0, admin.get("/v1/upstreams").json().path("upstreams").size());
        awaitServedBy("/users/1", "c");
        assertEquals(5, version());
    }

    @Test
    void aRouteNamingAnUnknownUpstreamIsRefused() throws Exception {
        assertEquals(201, admin.put("/v1/upstreams/users-svc", targets(a)).status());
        long v = version();
        Resp r = refused(admin.put("/v1/routes/users", routeTo("/users/**", "nope")), 400, "invalid_config",
                "upstream");
        assertTrue(detail(r, "upstream").contains("unknown upstream 'nope'"), r.toString());
        r = refused(admin.put("/v1/routes/users", """
                {"paths": ["/users/**"], "upstream": "users-svc", "upstreams": {"canary": "nope"}}"""),
                400, "invalid_config", "upstreams.canary");
        assertTrue(detail(r, "upstreams.canary").contains("nope"), r.toString());
        // a whole document naming an upstream it does not hold
        r = refused(admin.post("/v1/config/import", "{\"routes\": [{\"id\": \"users\", \"paths\": [\"/u\"],"
                + " \"upstream\": \"users-svc\"}]}"), 400, "invalid_config", "routes[0].upstream");
        assertEquals(v, version());
        assertEquals(404, admin.get("/v1/routes/users").status());
        assertEquals(404, proxy("/users/1").statusCode());
    }

    @Test
    void canaryGroupsNameUpstreamEntities() throws Exception {
        assertEquals(201, admin.put("/v1/upstreams/users-svc", targets(a)).status());
        assertEquals(201, admin.put("/v1/upstreams/users-v2", targets(b)).status());
        Resp route = admin.put("/v1/routes/users", """
                {"paths": ["/users/**"], "upstream": "users-svc", "upstreams": {"canary": "users-v2"},
                 "plugins": [{"name": "canary", "config": {"split": [{"upstream": "default", "weight": 0},
                    {"upstream": "canary", "weight": 100}], "response_header": "X-Group"}}]}""");
        assertEquals(201, route.status(), route.toString());
        awaitServedBy("/users/1", "b");
        assertEquals("canary", proxy("/users/1").headers().firstValue("X-Group").orElse(""));

        // the canary's entity changes; the route follows it
        String routeBefore = admin.get("/v1/routes/users").body();
        assertEquals(200, admin.put("/v1/upstreams/users-v2", targets(c)).status());
        awaitServedBy("/users/1", "c");
        assertEquals(routeBefore, admin.get("/v1/routes/users").body());
        assertTrue(admin.get("/v1/upstreams/users-v2/health").json().path("targets").get(0).path("url").asText()
                .contains(":" + c.port()));

        long v = version();
        for (String id : List.of("users-v2", "users-svc")) {
            Resp r = refused(admin.delete("/v1/upstreams/" + id), 409, "conflict", null);
            assertTrue(r.body().contains("route 'users'"), r.toString());
        }
        assertEquals(v, version());
        awaitServedBy("/users/1", "c");

        // the whole split back to the default group
        assertEquals(200, admin.put("/v1/routes/users", routeTo("/users/**", "users-svc")).status());
        awaitServedBy("/users/1", "a");
        assertEquals(204, admin.delete("/v1/upstreams/users-v2").status());
    }

    // ---- targets

    @Test
    void targetsAreRegisteredReweightedAndDeregistered() throws Exception {
        assertEquals(201, admin.put("/v1/upstreams/users-svc", targets(a)).status());
        assertEquals(201, admin.put("/v1/routes/users", routeTo("/users/**", "users-svc")).status());
        awaitServedBy("/users/1", "a");
        long v = version();

        Resp added = admin.post("/v1/upstreams/users-svc/targets", "{\"url\": \"" + b.url() + "\", \"weight\": 100}");
        assertEquals(201, added.status(), added.toString());
        assertEquals(v + 1, Long.parseLong(added.header("Sluice-Config-Version").orElseThrow()));
        assertEquals(2, added.json().path("targets").size(), added.toString());
        long end = System.nanoTime() + 10_000_000_000L;
        while (b.count() == 0) {
            proxy("/users/1");
            assertTrue(System.nanoTime() < end, "the registered target gets no traffic");
        }

        // the same URL again re-weights it: 200, still two targets
        Resp reweighted = admin.post("/v1/upstreams/users-svc/targets", "{\"url\": \"" + a.url() + "\", \"weight\": 0}");
        assertEquals(200, reweighted.status(), reweighted.toString());
        assertEquals(2, reweighted.json().path("targets").size(), reweighted.toString());
        assertEquals(0, reweighted.json().path("targets").get(0).path("weight").asInt(), reweighted.toString());
        assertEquals(v + 2, version());
        awaitServedBy("/users/1", "b");
        // the same registration once more: no new version
        Resp again = admin.post("/v1/upstreams/users-svc/targets", "{\"url\": \"" + a.url() + "\", \"weight\": 0}");
        assertEquals(200, again.status(), again.toString());
        assertEquals(v + 2, version());
        // a trailing slash names the same target
        Resp sameTarget = admin.post("/v1/upstreams/users-svc/targets", "{\"url\": \"" + b.url()
                + "/\", \"weight\": 50}");
        assertEquals(200, sameTarget.status(), sameTarget.toString());
        assertEquals(2, sameTarget.json().path("targets").size(), sameTarget.toString());

        // a third one, registered while traffic flows, then deregistered
        assertEquals(201, admin.post("/v1/upstreams/users-svc/targets", "{\"url\": \"" + c.url() + "\"}").status());
        end = System.nanoTime() + 10_000_000_000L;
        while (c.count() == 0) {
            proxy("/users/1");
            assertTrue(System.nanoTime() < end, "the third target gets no traffic");
        }
        long before = version();
        assertEquals(204, admin.delete("/v1/upstreams/users-svc/targets?url=" + enc(c.url())).status());
        assertEquals(before + 1, version());
        awaitServedBy("/users/1", "b");
        assertEquals(204, admin.delete("/v1/upstreams/users-svc/targets?url=" + enc(a.url())).status());
        JsonNode left = admin.get("/v1/upstreams/users-svc").json().path("targets");
        assertEquals(1, left.size(), left.toString());

        before = version();
        refused(admin.delete("/v1/upstreams/users-svc/targets?url=" + enc(a.url())), 404, "not_found", null);
        refused(admin.delete("/v1/upstreams/users-svc/targets?url=" + enc("http://127.0.0.1:1")), 404, "not_found",
                null);
        refused(admin.delete("/v1/upstreams/users-svc/targets"), 400, "invalid_request", null);
        refused(admin.delete("/v1/upstreams/users-svc/targets?url="), 400, "invalid_request", null);
        refused(admin.delete("/v1/upstreams/nope/targets?url=" + enc(a.url())), 404, "not_found", null);
        refused(admin.post("/v1/upstreams/nope/targets", "{\"url\": \"" + a.url() + "\"}"), 404, "not_found", null);
        // the last weighted target cannot be weighted 0
        Resp zero = refused(admin.post("/v1/upstreams/users-svc/targets", "{\"url\": \"" + b.url()
                + "/\", \"weight\": 0}"), 400, "invalid_config", "weight");
        assertTrue(detail(zero, "weight").contains("weight above 0"), zero.toString());
        assertEquals(before, version());
        awaitServedBy("/users/1", "b");
    }

    @Test
    void hostileTargetRegistrationsAreRefusedAndChangeNothing() throws Exception {
        assertEquals(201, admin.put("/v1/upstreams/users-svc", targets(a)).status());
        assertEquals(201, admin.put("/v1/routes/users", routeTo("/users/**", "users-svc")).status());
        String t = "/v1/upstreams/users-svc/targets";
        List<Hostile> cases = new ArrayList<>();
        for (String url : badUrls()) {
            cases.add(new Hostile("target url " + abbreviate(url).replace("\r", "\\r").replace("\n", "\\n"),
                    () -> admin.post(t, "{\"url\": " + quote(url) + "}"), 400, "invalid_config", "url"));
        }
        for (String w : List.of("-1", "10001", "\"x\"", "1.5", "null", "true")) {
            cases.add(new Hostile("weight " + w, () -> admin.post(t, "{\"url\": \"" + b.url() + "\", \"weight\": "
                    + w + "}"), 400, "invalid_config", "weight"));
        }
        cases.add(new Hostile("no url", () -> admin.post(t, "{\"weight\": 1}"), 400, "invalid_config", "url"));
        cases.add(new Hostile("url a number", () -> admin.post(t, "{\"url\": 8080}"), 400, "invalid_config", "url"));
        cases.add(new Hostile("extra field", () -> admin.post(t, "{\"url\": \"" + b.url() + "\", \"priority\": 1}"),
                400, "invalid_config", "priority"));
        cases.add(new Hostile("not JSON", () -> admin.send("POST", t, "url=http://x", "application/json",
                "application/json"), 400, "invalid_json", null));
        cases.add(new Hostile("empty body", () -> admin.send("POST", t, "", "application/json", "application/json"),
                400, "invalid_json", null));
        cases.add(new Hostile("a JSON array", () -> admin.post(t, "[{\"url\": \"" + b.url() + "\"}]"), 400,
                "invalid_json", null));
        cases.add(new Hostile("a huge body", () -> admin.post(t, "{\"url\": \"" + b.url() + "/" + "x".repeat(3_000_000)
                + "\"}"), 400, "invalid_config", "url"));
        expectRefused(cases, "/v1/upstreams/users-svc");
        awaitServedBy("/users/1", "a");
        assertEquals(0, b.count());
    }

    static String quote(String s) {
        try {
            return JSON.writeValueAsString(s);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static List<String> badUrls() {
        String longUrl = "http://127.0.0.1:1/" + "a".repeat(2049 - "http://127.0.0.1:1/".length());
        assertEquals(2049, longUrl.length());
        return List.of("ftp://127.0.0.1:21/", "file:///etc/passwd", "http://u:p@127.0.0.1:1", "http://@127.0.0.1:1",
                "http://", "http:///path", "http://:8080", "127.0.0.1:8080", "", longUrl,
                "http://127.0.0.1:1/a\r\nX-Injected: 1", "http://127.0.0.1\r\n:1", "http://127.0.0.1:1\n",
                "http://127.0.0.1:0", "http://127.0.0.1:99999", "http://127.0.0.1:-1", "http://127.0.0.1:1?x=1",
                "http://127.0.0.1:1#frag", "http://exa mple.com", "javascript:alert(1)");
    }

    // ---- hostile upstream bodies

    @Test
    void hostileUpstreamsAreRefusedWithTheFieldAndChangeNothing() throws Exception {
        assertEquals(201, admin.put("/v1/upstreams/users-svc", targets(a)).status());
        assertEquals(201, admin.put("/v1/routes/users", routeTo("/users/**", "users-svc")).status());
        String u = "/v1/upstreams/users-svc";
        List<Hostile> cases = new ArrayList<>();
        for (String url : badUrls()) {
            cases.add(new Hostile("url " + abbreviate(url).replace("\r", "\\r").replace("\n", "\\n"),
                    () -> admin.put(u, "{\"targets\": [{\"url\": " + quote(url) + "}]}"), 400, "invalid_config",
                    "targets[0].url"));
        }
        for (String w : List.of("-1", "10001", "\"x\"", "1.5")) {
            cases.add(new Hostile("weight " + w, () -> admin.put(u, "{\"targets\": [{\"url\": \"" + b.url()
                    + "\", \"weight\": " + w + "}]}"), 400, "invalid_config", "targets[0].weight"));
        }
        cases.add(new Hostile("extra field", () -> admin.put(u, "{\"targets\": [{\"url\": \"" + b.url()
                + "\"}], \"colour\": \"red\"}"), 400, "invalid_config", "colour"));
        cases.add(new Hostile("extra target field", () -> admin.put(u, "{\"targets\": [{\"url\": \"" + b.url()
                + "\", \"w\": 1}]}"), 400, "invalid_config", "targets[0].w"));
        cases.add(new Hostile("targets a string", () -> admin.put(u, "{\"targets\": \"" + b.url() + "\"}"), 400,
                "invalid_config", "targets"));
        cases.add(new Hostile("duplicate targets", () -> admin.put(u, "{\"targets\": [{\"url\": \"" + b.url()
                + "\"}, {\"url\": \"" + b.url() + "\"}]}"), 409, "conflict", "targets[1].url"));
        cases.add(new Hostile("only zero weights", () -> admin.put(u, "{\"targets\": [{\"url\": \"" + b.url()
                + "\", \"weight\": 0}]}"), 400, "invalid_config", "targets"));
        cases.add(new Hostile("not JSON", () -> admin.send("PUT", u, "targets: []", "application/json",
                "application/json"), 400, "invalid_json", null));
        cases.add(new Hostile("a JSON array", () -> admin.put(u, "[" + targets(b) + "]"), 400, "invalid_json", null));
        cases.add(new Hostile("JSON null", () -> admin.put(u, "null"), 400, "invalid_json", null));
        cases.add(new Hostile("deeply nested", () -> admin.put(u, "[".repeat(5000) + "]".repeat(5000)), 400,
                "invalid_json", null));
        cases.add(new Hostile("a huge ca", () -> admin.put(u, "{\"targets\": [{\"url\": \"" + b.url()
                + "\"}], \"tls\": {\"ca\": \"-----BEGIN CERTIFICATE-----" + "A".repeat(2_000_000) + "\"}}"), 400,
                "invalid_config", "tls.ca"));
        StringBuilder many = new StringBuilder("{\"targets\": [");
        for (int i = 0; i < 1001; i++) {
            many.append(i == 0 ? "" : ",").append("{\"url\": \"http://127.0.0.1:").append(10000 + i).append("\"}");
        }
        cases.add(new Hostile("1001 targets", () -> admin.put(u, many + "]}"), 400, "invalid_config", "targets"));
        cases.add(new Hostile("id mismatch", () -> admin.put(u, "{\"id\": \"other\", \"targets\": [{\"url\": \""
                + b.url() + "\"}]}"), 400, "invalid_config", "id"));
        cases.add(new Hostile("bad id in the path", () -> admin.put("/v1/upstreams/-bad", targets(b)), 400,
                "invalid_config", "id"));
        cases.add(new Hostile("too long an id", () -> admin.put("/v1/upstreams/" + "x".repeat(65), targets(b)), 400,
                "invalid_config", "id"));
        cases.add(new Hostile("hash_on without consistent_hash", () -> admin.put(u, "{\"targets\": [{\"url\": \""
                + b.url() + "\"}], \"hash_on\": {\"by\": \"ip\"}}"), 400, "invalid_config", "hash_on"));
        cases.add(new Hostile("header hashing without a name", () -> admin.put(u, "{\"targets\": [{\"url\": \""
                + b.url() + "\"}], \"balancer\": \"consistent_hash\", \"hash_on\": {\"by\": \"header\"}}"), 400,
                "invalid_config", "hash_on.name"));
        cases.add(new Hostile("ip hashing with a name", () -> admin.put(u, "{\"targets\": [{\"url\": \""
                + b.url() + "\"}], \"balancer\": \"consistent_hash\", \"hash_on\": {\"by\": \"ip\", \"name\": \"x\"}}"),
                400, "invalid_config", "hash_on.name"));
        cases.add(new Hostile("SRV discovery with a port", () -> admin.put(u,
                "{\"discovery\": {\"dns\": \"_http._tcp.svc.test:8080\"}}"), 400, "invalid_config", "discovery.dns"));
        cases.add(new Hostile("discovery port 0", () -> admin.put(u,
                "{\"discovery\": {\"dns\": \"svc.test:0\"}}"), 400, "invalid_config", "discovery.dns"));
        cases.add(new Hostile("discovery port 99999", () -> admin.put(u,
                "{\"discovery\": {\"dns\": \"svc.test:99999\"}}"), 400, "invalid_config", "discovery.dns"));
        cases.add(new Hostile("discovery name with CRLF", () -> admin.put(u,
                "{\"discovery\": {\"dns\": \"svc.test\\r\\nx\"}}"), 400, "invalid_config", "discovery.dns"));
        cases.add(new Hostile("refresh_ms 0", () -> admin.put(u,
                "{\"discovery\": {\"dns\": \"svc.test:80\", \"refresh_ms\": 0}}"), 400, "invalid_config",
                "discovery.refresh_ms"));
        cases.add(new Hostile("client_key without client_cert", () -> admin.put(u, "{\"targets\": [{\"url\": \""
                + b.url() + "\"}], \"tls\": {\"client_key\": \"-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE"
                + " KEY-----\"}}"), 400, "invalid_config", "tls.client_cert"));
        cases.add(new Hostile("a non-PEM ca", () -> admin.put(u, "{\"targets\": [{\"url\": \"https://127.0.0.1:1\"}],"
                + " \"tls\": {\"ca\": \"just some text\"}}"), 400, "invalid_config", "tls.ca"));
        cases.add(new Hostile("protocol h2 to an http:// target", () -> admin.put(u, "{\"targets\": [{\"url\": \""
                + b.url() + "\"}], \"protocol\": \"h2\"}"), 400, "invalid_config", "targets[0].url"));
        cases.add(new Hostile("protocol h2c to an https:// target", () -> admin.put(u,
                "{\"targets\": [{\"url\": \"https://127.0.0.1:1\"}], \"protocol\": \"h2c\"}"), 400,
                "invalid_config", "targets[0].url"));
        cases.add(new Hostile("protocol h2c with https discovery", () -> admin.put(u,
                "{\"discovery\": {\"dns\": \"svc.test:80\", \"scheme\": \"https\"}, \"protocol\": \"h2c\"}"),
                400, "invalid_config", "discovery.scheme"));
        cases.add(new Hostile("protocol grpc with a grpc:// url", () -> admin.put(u,
                "{\"targets\": [{\"url\": \"grpc://127.0.0.1:50051\"}], \"protocol\": \"grpc\"}"), 400,
                "invalid_config", "targets[0].url"));
        cases.add(new Hostile("protocol http3", () -> admin.put(u, "{\"targets\": [{\"url\": \"" + b.url()
                + "\"}], \"protocol\": \"http3\"}"), 400, "invalid_config", "protocol"));
        cases.add(new Hostile("protocol GRPC (case matters)", () -> admin.put(u, "{\"targets\": [{\"url\": \""
                + b.url() + "\"}], \"protocol\": \"GRPC\"}"), 400, "invalid_config", "protocol"));
        cases.add(new Hostile("active check timeout over its interval", () -> admin.put(u, "{\"targets\": [{\"url\": \""
                + b.url() + "\"}], \"health\": {\"active\": {\"interval_ms\": 100, \"timeout_ms\": 200}}}"), 400,
                "invalid_config", "health.active.timeout_ms"));
        String garbage = "-----BEGIN CERTIFICATE-----\\ngarbage\\n-----END CERTIFICATE-----";
        cases.add(new Hostile("a bad PEM only the trial build reads", () -> admin.put(u,
                "{\"targets\": [{\"url\": \"https://127.0.0.1:1\"}], \"tls\": {\"ca\": \"" + garbage + "\"}}"), 400,
                "invalid_config", "tls*"));
        cases.add(new Hostile("a bad PEM on an upstream with plain http targets (checked all the same)",
                () -> admin.put(u, "{\"targets\": [{\"url\": \"" + b.url() + "\"}], \"tls\": {\"ca\": \""
                        + garbage + "\"}}"), 400, "invalid_config", "tls*"));
        cases.add(new Hostile("a bad sni only the trial build reads", () -> admin.put(u,
                "{\"targets\": [{\"url\": \"https://127.0.0.1:1\"}], \"tls\": {\"sni\": \"not a name\"}}"), 400,
                "invalid_config", "tls*"));
        // routes: an inline upstream with an id, and the trial build's refusal of an inline upstream
        cases.add(new Hostile("an inline upstream carrying an id", () -> admin.put("/v1/routes/users",
                "{\"paths\": [\"/users/**\"], \"upstream\": {\"id\": \"users-svc\", \"targets\": [{\"url\": \""
                        + b.url() + "\"}]}}"), 400, "invalid_config", "upstream.id"));
        cases.add(new Hostile("an inline upstream with a bad PEM", () -> admin.put("/v1/routes/users",
                "{\"paths\": [\"/users/**\"], \"upstream\": {\"targets\": [{\"url\": \"https://127.0.0.1:1\"}],"
                        + " \"tls\": {\"ca\": \"" + garbage + "\"}}}"), 400, "invalid_config", "upstream.tls*"));
        cases.add(new Hostile("a canary group with a bad PEM", () -> admin.put("/v1/routes/users",
                "{\"paths\": [\"/users/**\"], \"upstream\": \"users-svc\", \"upstreams\": {\"canary\": {\"targets\":"
                        + " [{\"url\": \"https://127.0.0.1:1\"}], \"tls\": {\"ca\": \"" + garbage + "\"}}}}"), 400,
                "invalid_config", "upstreams.canary.tls*"));
        cases.add(new Hostile("an import with a bad PEM", () -> admin.post("/v1/config/import",
                "{\"upstreams\": [{\"id\": \"users-svc\", \"targets\": [{\"url\": \"https://127.0.0.1:1\"}],"
                        + " \"tls\": {\"ca\": \"" + garbage + "\"}}], \"routes\": [{\"id\": \"users\", \"paths\":"
                        + " [\"/users/**\"], \"upstream\": \"users-svc\"}]}"), 400, "invalid_config",
                "upstreams[0].tls*"));
        expectRefused(cases, u);
        // the route's traffic never moved
        awaitServedBy("/users/1", "a");
        assertEquals(0, b.count());
        assertEquals(404, admin.get("/v1/upstreams/other").status());
    }

    // ---- roles and redaction

    @Test
    void readOnlyRolesCannotWriteUpstreamsAndSeeTheClientKeyRedacted() throws Exception {
        TestPki.Identity ca = TestPki.ca("Test CA");
        TestPki.Identity client = TestPki.leaf("client", ca);
        String tls = "{\"ca\": " + quote(ca.certPem()) + ", \"client_cert\": " + quote(client.certPem())
                + ", \"client_key\": " + quote(client.keyPem()) + "}";
        Resp put = admin.put("/v1/upstreams/secure", "{\"targets\": [{\"url\": \"https://127.0.0.1:1\"}], \"tls\": "
                + tls + "}");
        assertEquals(201, put.status(), put.toString());
        assertEquals(client.keyPem(), admin.get("/v1/upstreams/secure").json().path("tls").path("client_key").asText(),
                "platform reads the key it wrote");
        assertEquals(201, admin.put("/v1/routes/inline", "{\"paths\": [\"/inline\"], \"upstream\": {\"targets\":"
                + " [{\"url\": \"https://127.0.0.1:1\"}], \"tls\": " + tls + "}, \"upstreams\": {\"canary\": "
                + "{\"targets\": [{\"url\": \"https://127.0.0.1:2\"}], \"tls\": " + tls + "}}}").status());
        assertEquals(201, admin.put("/v1/upstreams/plain", targets(a)).status());
        assertEquals(201, admin.put("/v1/routes/users", routeTo("/users/**", "plain")).status());
        long v = version();

        AdminClient developer = admin.as(admin.post("/v1/tokens", "{\"name\": \"dev\", \"role\": \"developer\"}")
                .json().path("token").asText());
        AdminClient auditor = admin.as(admin.post("/v1/tokens", "{\"name\": \"aud\", \"role\": \"auditor\"}")
                .json().path("token").asText());
        for (AdminClient reader : List.of(developer, auditor)) {
            refused(reader.put("/v1/upstreams/plain", targets(b)), 403, "forbidden", null);
            refused(reader.put("/v1/upstreams/new", targets(b)), 403, "forbidden", null);
            refused(reader.delete("/v1/upstreams/plain"), 403, "forbidden", null);
            refused(reader.post("/v1/upstreams/plain/targets", "{\"url\": \"" + b.url() + "\"}"), 403, "forbidden",
                    null);
            refused(reader.delete("/v1/upstreams/plain/targets?url=" + enc(a.url())), 403, "forbidden", null);
            refused(reader.delete("/v1/upstreams/plain/targets"), 403, "forbidden", null);
            refused(reader.post("/v1/config/import", "{}"), 403, "forbidden", null);
            assertEquals(v, version());

            JsonNode one = reader.get("/v1/upstreams/secure").json();
            assertEquals(REDACTED, one.path("tls").path("client_key").asText(), one.toString());
            assertEquals(client.certPem(), one.path("tls").path("client_cert").asText());
            for (JsonNode listed : reader.get("/v1/upstreams").json().path("upstreams")) {
                if (listed.path("id").asText().equals("secure")) {
                    assertEquals(REDACTED, listed.path("tls").path("client_key").asText(), listed.toString());
                }
            }
            JsonNode route = reader.get("/v1/routes/inline").json();
            assertEquals(REDACTED, route.path("upstream").path("tls").path("client_key").asText(), route.toString());
            assertEquals(REDACTED, route.path("upstreams").path("canary").path("tls").path("client_key").asText());
            String export = reader.get("/v1/config/export").body();
            assertFalse(export.contains("PRIVATE KEY"), export);
            assertTrue(export.contains(REDACTED), export);
            String versionDoc = reader.get("/v1/config/versions/" + v).body();
            assertFalse(versionDoc.contains("PRIVATE KEY"), versionDoc);
            assertFalse(reader.get("/v1/audit").body().contains("PRIVATE KEY"));
            // reading health is allowed
            assertEquals(200, reader.get("/v1/upstreams/plain/health").status());
        }
        awaitServedBy("/users/1", "a");

        // the placeholder written back is refused, never stored as the key
        JsonNode shown = auditor.get("/v1/upstreams/secure").json();
        Resp back = refused(admin.put("/v1/upstreams/secure", shown.toString()), 400, "invalid_config",
                "tls.client_key");
        assertTrue(detail(back, "tls.client_key").contains("placeholder"), back.toString());
        JsonNode shownRoute = auditor.get("/v1/routes/inline").json();
        refused(admin.put("/v1/routes/inline", shownRoute.toString()), 400, "invalid_config", "upstream.tls.client_key");
        Resp imported = refused(admin.send("POST", "/v1/config/import", auditor.get("/v1/config/export",
                "application/json").body(), "application/json", "application/json"), 400, "invalid_config", null);
        assertTrue(imported.body().contains("tls.client_key"), imported.toString());
        assertEquals(v, version());
        assertEquals(client.keyPem(), admin.get("/v1/upstreams/secure").json().path("tls").path("client_key").asText());
    }

    // ---- export and import

    @Test
    void exportAndImportRoundTripUpstreams() throws Exception {
        assertEquals(201, admin.put("/v1/upstreams/users-svc", """
                {"targets": [{"url": "%s", "weight": 7}], "balancer": "consistent_hash",
                 "hash_on": {"by": "header", "name": "X-User"}, "retries": 1,
                 "health": {"passive": {"consecutive_failures": 3}}, "connect_timeout_ms": 500}"""
                .formatted(a.url())).status());
        assertEquals(201, admin.put("/v1/upstreams/users-v2", targets(b)).status());
        assertEquals(201, admin.put("/v1/routes/users", """
                {"paths": ["/users/**"], "upstream": "users-svc", "upstreams": {"canary": "users-v2"}}""").status());
        assertEquals(201, admin.put("/v1/routes/inline", "{\"paths\": [\"/inline\"], \"upstream\": "
                + targets(c) + "}").status());
        awaitServedBy("/users/1", "a");
        long v = version();

        String json = admin.get("/v1/config/export", "application/json").body();
        JsonNode doc = JSON.readTree(json);
        assertEquals(2, doc.path("upstreams").size(), json);
        String yaml = admin.get("/v1/config/export", "application/yaml").body();
        assertTrue(yaml.contains("users-svc"), yaml);

        // the export imports as no change, in either form
        for (String[] form : List.of(new String[] {json, "application/json"}, new String[] {yaml, "application/yaml"})) {
            Resp same = admin.send("POST", "/v1/config/import", form[0], "application/json", form[1]);
            assertEquals(200, same.status(), same.toString());
            assertEquals(0, same.json().path("changes").size(), same.toString());
            assertEquals(v, version());
        }

        // changed since: the import puts the upstream back, and the route follows
        assertEquals(200, admin.put("/v1/upstreams/users-svc", targets(c)).status());
        awaitServedBy("/users/1", "c");
        Resp back = admin.send("POST", "/v1/config/import", json, "application/json", "application/json");
        assertEquals(200, back.status(), back.toString());
        assertEquals("[{\"kind\":\"upstream\",\"id\":\"users-svc\",\"change\":\"changed\"}]",
                back.json().path("changes").toString());
        awaitServedBy("/users/1", "a");
        assertEquals(JSON.readTree(json), JSON.readTree(admin.get("/v1/config/export", "application/json").body()));

        // everything removed, then restored in one import: upstreams and the routes naming them together
        Resp empty = admin.send("POST", "/v1/config/import", "{}", "application/json", "application/json");
        assertEquals(200, empty.status(), empty.toString());
        assertEquals(404, proxy("/users/1").statusCode());
        assertEquals(0, admin.get("/v1/upstreams").json().path("upstreams").size());
        Resp restored = admin.send("POST", "/v1/config/import", yaml, "application/json", "application/yaml");
        assertEquals(200, restored.status(), restored.toString());
        awaitServedBy("/users/1", "a");
        assertEquals(JSON.readTree(json), JSON.readTree(admin.get("/v1/config/export", "application/json").body()));
        ObjectNode u = (ObjectNode) admin.get("/v1/upstreams/users-svc").json();
        assertEquals("X-User", u.path("hash_on").path("name").asText());
        assertEquals(7, u.path("targets").get(0).path("weight").asInt());

        // a dry run of a document dropping an upstream a route names is refused
        ObjectNode broken = (ObjectNode) doc.deepCopy();
        broken.remove("upstreams");
        long now = version();
        int users = 0;
        while (!doc.path("routes").get(users).path("id").asText().equals("users")) {
            users++;
        }
        Resp dry = refused(admin.send("POST", "/v1/config/import?dry_run=true", broken.toString(), "application/json",
                "application/json"), 400, "invalid_config", "routes[" + users + "].upstream");
        assertTrue(hasDetail(dry, "routes[" + users + "].upstreams.canary"), dry.toString());
        assertEquals(now, version());
    }
}
