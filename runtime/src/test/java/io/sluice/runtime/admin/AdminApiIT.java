package io.sluice.runtime.admin;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.registry.admin.Secrets;
import io.sluice.runtime.Node;
import io.sluice.runtime.SluiceServer.Listeners;
import io.sluice.runtime.testing.AdminClient;
import io.sluice.runtime.testing.AdminClient.Resp;
import io.sluice.runtime.testing.EchoUpstream;
import org.junit.jupiter.api.AfterEach;
import io.sluice.registry.admin.AdminApi;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The admin API of a standalone node (embedded store), end to end: HTTP in, proxy traffic out. */
class AdminApiIT {
    @TempDir
    Path dir;
    Node node;
    EchoUpstream upstream;
    AdminClient admin;
    String token;

    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    Node start() throws Exception {
        return Node.start(new Node.Options("standalone", dir.resolve("data"),
                new Listeners("127.0.0.1", 0, "127.0.0.1", 0, true), Optional.empty(), Optional.empty(),
                Optional.empty(), Duration.ofSeconds(5)));
    }

    @BeforeEach
    void up() throws Exception {
        upstream = EchoUpstream.start("users");
        node = start();
        token = node.generatedToken().orElseThrow();
        admin = new AdminClient(node.server().adminPort(), token);
    }

    @AfterEach
    void down() {
        node.close();
        upstream.close();
    }

    String route(String path) {
        return """
                {"paths": ["%s"], "methods": ["GET"],
                 "upstream": {"targets": [{"url": "%s"}]}}""".formatted(path, upstream.url());
    }

    int proxy(String path) throws Exception {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + node.server().proxyPort() + path)).build(),
                HttpResponse.BodyHandlers.ofString());
        return r.statusCode();
    }

    @Test
    void bootstrapTokenIsWrittenOwnerOnly() throws Exception {
        Path file = dir.resolve("data/admin-token");
        assertEquals(token, Files.readString(file).trim());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        // only the hash is stored
        assertEquals(Secrets.hash(token), node.registry().orElseThrow().store().tokens().getFirst().hash());
    }

    @Test
    void missingOrBadTokenIs401() {
        Resp r = admin.as(null).get("/v1/routes");
        assertEquals(401, r.status());
        assertEquals("unauthorized", r.error());
        assertTrue(r.header("WWW-Authenticate").orElse("").startsWith("Bearer"));
        assertEquals(401, admin.as("slt_wrong").get("/v1/routes").status());
        assertEquals(401, admin.as(token + "x").put("/v1/routes/a", route("/a")).status());
        assertEquals(0, node.server().gateway().current().version());
    }

    @Test
    void routeLifecycleReachesTheProxy() throws Exception {
        assertEquals(404, proxy("/users/1"));
        Resp created = admin.put("/v1/routes/users", route("/users/**"));
        assertEquals(201, created.status(), created.toString());
        assertEquals("1", created.header("Sluice-Config-Version").orElseThrow());
        assertEquals("users", created.json().path("id").asText());
        assertEquals(200, proxy("/users/1"));

        Resp replaced = admin.put("/v1/routes/users", route("/people/**"));
        assertEquals(200, replaced.status());
        assertEquals(404, proxy("/users/1"));
        assertEquals(200, proxy("/people/1"));

        assertEquals("/people/**", admin.get("/v1/routes/users").json().path("paths").get(0).asText());
        JsonNode list = admin.get("/v1/routes").json();
        assertEquals(2, list.path("version").asLong());
        assertEquals(1, list.path("routes").size());

        assertEquals(204, admin.delete("/v1/routes/users").status());
        assertEquals(404, proxy("/people/1"));
        assertEquals("not_found", admin.get("/v1/routes/users").error());
        assertEquals(404, admin.delete("/v1/routes/users").status());
        assertEquals(3, node.server().gateway().current().version());
    }

    @Test
    void pluginConfigBreakingItsSchemaIsRefusedWithTheFieldPath() {
        Resp r = admin.put("/v1/routes/limited", """
                {"paths": ["/l"], "upstream": {"targets": [{"url": "%s"}]},
                 "plugins": [{"name": "transform", "config": {}},
                             {"name": "rate-limit", "config": {"rate": 0, "burst": 5}}]}"""
                .formatted(upstream.url()));
        assertEquals(400, r.status(), r.toString());
        assertEquals("invalid_config", r.error());
        JsonNode d = r.json().path("details").get(0);
        assertEquals("plugins[1].config.rate", d.path("path").asText());
        assertTrue(d.path("message").asText().contains("minimum"), d.toString());
        assertEquals(0, admin.get("/v1/config").json().path("version").asLong());
    }

    @Test
    void badRoutesAreRefusedAndNothingIsCommitted() {
        Resp unknown = admin.put("/v1/routes/a", """
                {"paths": ["/a"], "upstream": {"targets": [{"url": "http://127.0.0.1:1"}]},
                 "plugins": [{"name": "geo-block"}]}""");
        assertEquals(400, unknown.status());
        assertEquals("plugins[0].name", unknown.json().path("details").get(0).path("path").asText());

        Resp pattern = admin.put("/v1/routes/a", route("/a/**/b"));
        assertEquals(400, pattern.status());
        assertEquals("paths[0]", pattern.json().path("details").get(0).path("path").asText());

        Resp shape = admin.put("/v1/routes/a", "{\"paths\": [\"/a\"]}");
        assertEquals(400, shape.status());
        assertEquals("upstream", shape.json().path("details").get(0).path("path").asText());

        Resp json = admin.put("/v1/routes/a", "{\"paths\": [");
        assertEquals(400, json.status());
        assertEquals("invalid_json", json.error());

        Resp mismatch = admin.put("/v1/routes/a", "{\"id\": \"b\", \"paths\": [\"/a\"]}");
        assertEquals(400, mismatch.status());
        assertEquals("id", mismatch.json().path("details").get(0).path("path").asText());

        Resp badId = admin.put("/v1/routes/bad%20id", route("/x"));
        assertEquals(400, badId.status());
        assertEquals("id", badId.json().path("details").get(0).path("path").asText());

        assertEquals(0, admin.get("/v1/config").json().path("version").asLong());
    }

    @Test
    void conflictingRouteIs409WithDetails() {
        assertEquals(201, admin.put("/v1/routes/a", route("/users/{id}")).status());
        Resp r = admin.put("/v1/routes/b", route("/users/{name}"));
        assertEquals(409, r.status(), r.toString());
        assertEquals("conflict", r.error());
        JsonNode d = r.json().path("details").get(0);
        assertEquals("paths[0]", d.path("path").asText());
        assertTrue(d.path("message").asText().contains("conflicts with route 'a'"), d.toString());
        assertEquals(1, admin.get("/v1/config").json().path("version").asLong());
    }

    @Test
    void globalPlugins() throws Exception {
        assertEquals(201, admin.put("/v1/routes/a", route("/a")).status());
        Resp ok = admin.put("/v1/global-plugins", """
                {"plugins": [{"name": "request-size-limit", "config": {"max_bytes": 10}}]}""");
        assertEquals(200, ok.status(), ok.toString());
        assertEquals("request-size-limit", admin.get("/v1/global-plugins").json().path("plugins").get(0)
                .path("name").asText());
        HttpResponse<String> big = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                        + node.server().proxyPort() + "/a")).method("GET",
                        HttpRequest.BodyPublishers.ofString("x".repeat(100))).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(413, big.statusCode());

        Resp bad = admin.put("/v1/global-plugins", """
                {"plugins": [{"name": "request-size-limit", "config": {"max_bytes": -1}}]}""");
        assertEquals(400, bad.status());
        assertEquals("plugins[0].config.max_bytes", bad.json().path("details").get(0).path("path").asText());
        assertEquals(400, admin.put("/v1/global-plugins", "[]").status());
    }

    @Test
    void consumersAndApiKeysAreStoredHashed() {
        assertEquals(201, admin.put("/v1/consumers/mobile-app", "{\"tags\": [\"mobile\"]}").status());
        assertEquals(200, admin.put("/v1/consumers/mobile-app", "{\"tags\": [\"mobile\", \"ios\"]}").status());
        Resp key = admin.post("/v1/consumers/mobile-app/api-keys", "");
        assertEquals(201, key.status(), key.toString());
        String secret = key.json().path("key").asText();
        String keyId = key.json().path("id").asText();
        assertTrue(secret.startsWith("sk_") && secret.length() > 40, secret);

        JsonNode consumer = admin.get("/v1/consumers/mobile-app").json();
        assertEquals(keyId, consumer.path("api_keys").get(0).path("id").asText());
        assertFalse(consumer.toString().contains("sha256"), consumer.toString());
        String export = admin.get("/v1/config/export", "application/json").body();
        assertFalse(export.contains(secret));
        assertTrue(export.contains(Secrets.hash(secret)));
        // nowhere in the store: not in the entities, not in any version's change set
        var store = node.registry().orElseThrow().store();
        assertFalse(store.load().entities().document().toString().contains(secret));
        store.changesSince(0, 10_000).orElseThrow().forEach(v -> v.changes().forEach(ch ->
                assertFalse((ch.before() + " " + ch.after()).contains(secret), ch.toString())));
        assertEquals(java.util.Set.of("mobile-app"), node.server().gateway().current().consumers().ids());

        Resp keysInPut = admin.put("/v1/consumers/mobile-app", "{\"api_keys\": []}");
        assertEquals(400, keysInPut.status());
        assertEquals("api_keys", keysInPut.json().path("details").get(0).path("path").asText());
        // the PUT above kept the key
        assertEquals(1, admin.get("/v1/consumers/mobile-app").json().path("api_keys").size());
        assertEquals(404, admin.post("/v1/consumers/nobody/api-keys", "").status());
        assertEquals(204, admin.delete("/v1/consumers/mobile-app/api-keys/" + keyId).status());
        assertEquals(404, admin.delete("/v1/consumers/mobile-app/api-keys/" + keyId).status());
        assertEquals(204, admin.delete("/v1/consumers/mobile-app").status());
        assertEquals(404, admin.get("/v1/consumers/mobile-app").status());
    }

    @Test
    void versionsAndRollback() throws Exception {
        admin.put("/v1/routes/a", route("/a"));
        admin.put("/v1/routes/b", route("/b"));
        admin.delete("/v1/routes/a");
        JsonNode versions = admin.get("/v1/config/versions").json().path("versions");
        assertEquals(3, versions.size());
        assertEquals("delete route a", versions.get(0).path("summary").asText());
        assertEquals("bootstrap", versions.get(0).path("author").asText());
        assertEquals("platform", versions.get(0).path("role").asText());
        assertEquals(404, proxy("/a"));

        Resp rb = admin.post("/v1/config/rollback", "{\"version\": 2}");
        assertEquals(200, rb.status(), rb.toString());
        assertEquals(4, rb.json().path("version").asLong());
        assertEquals("route", rb.json().path("changes").get(0).path("kind").asText());
        assertEquals("added", rb.json().path("changes").get(0).path("change").asText());
        assertEquals(200, proxy("/a"));
        assertEquals(admin.get("/v1/config/versions/2").json().path("config"),
                admin.get("/v1/config/versions/4").json().path("config"));
        assertEquals(4, admin.get("/v1/config").json().path("version").asLong());

        assertEquals(404, admin.post("/v1/config/rollback", "{\"version\": 99}").status());
        Resp bad = admin.post("/v1/config/rollback", "{\"version\": \"two\"}");
        assertEquals(400, bad.status());
        assertEquals("version", bad.json().path("details").get(0).path("path").asText());
        assertEquals(400, admin.get("/v1/config/versions?limit=0").status());
        assertEquals(404, admin.get("/v1/config/versions/77").status());
    }

    @Test
    void sameWriteTwiceCommitsOnceAndVersionsCountTheirChanges() {
        assertEquals(201, admin.put("/v1/routes/a", route("/a")).status());
        Resp again = admin.put("/v1/routes/a", route("/a"));
        assertEquals(200, again.status(), again.toString());
        assertTrue(again.header(AdminApi.VERSION_HEADER).isEmpty(), "an equal write commits nothing");
        assertEquals(1, admin.get("/v1/config").json().path("version").asLong());
        assertEquals(1, admin.get("/v1/config/versions").json().path("versions").get(0).path("changes").asInt());
        assertEquals(201, admin.put("/v1/consumers/app", "{}").status());
        assertEquals(201, admin.post("/v1/consumers/app/api-keys", "").status());
        assertEquals(201, admin.post("/v1/consumers/app/api-keys", "").status());
        // deleting a consumer removes it and both its keys in one version of three changes
        assertEquals(204, admin.delete("/v1/consumers/app").status());
        JsonNode newest = admin.get("/v1/config/versions").json().path("versions").get(0);
        assertEquals("delete consumer app", newest.path("summary").asText());
        assertEquals(3, newest.path("changes").asInt());
    }

    @Test
    void hostileIdsInConsumerAndKeyPathsChangeNothing() {
        assertEquals(201, admin.put("/v1/consumers/app", "{}").status());
        long before = admin.get("/v1/config").json().path("version").asLong();
        // an encoded slash would make "a/b" the consumer of a key row "a/b/<key>": the admin listener decodes it
        // before routing, so no endpoint matches (and the id's pattern refuses a '/' anyway)
        Resp slash = admin.put("/v1/consumers/a%2Fb", "{}");
        assertEquals(404, slash.status(), slash.toString());
        Resp dot = admin.put("/v1/consumers/a.b%20c", "{}");
        assertEquals(400, dot.status(), dot.toString());
        assertEquals(404, admin.post("/v1/consumers/a%2Fb/api-keys", "").status());
        assertEquals(404, admin.post("/v1/consumers/..%2Fapp/api-keys", "").status());
        assertEquals(404, admin.delete("/v1/consumers/app/api-keys/..%2F..%2Fx").status());
        assertEquals(404, admin.delete("/v1/consumers/app/api-keys/%00").status());
        assertEquals(404, admin.delete("/v1/routes/%2e%2e").status());
        Resp nul = admin.put("/v1/routes/a%00b", route("/x"));
        assertEquals(400, nul.status(), nul.toString());
        assertEquals(before, admin.get("/v1/config").json().path("version").asLong());
        JsonNode c = admin.get("/v1/consumers/app").json();
        assertEquals(0, c.path("api_keys").size());
    }

    @Test
    void exportImportRoundTripWithDryRunDiff() throws Exception {
        admin.put("/v1/routes/a", route("/a"));
        admin.put("/v1/routes/b", route("/b"));
        Resp yaml = admin.get("/v1/config/export", "application/yaml");
        assertEquals("application/yaml", yaml.header("Content-Type").orElseThrow());
        assertTrue(yaml.body().contains("routes:\n- id: a"), yaml.body());

        String changed = """
                routes:
                  - id: a
                    paths: ["/a", "/a2"]
                    upstream: {targets: [{url: "%s"}]}
                  - id: c
                    paths: ["/c"]
                    upstream: {targets: [{url: "%s"}]}
                """.formatted(upstream.url(), upstream.url());
        Resp dry = admin.post("/v1/config/import?dry_run=true", changed);
        assertEquals(200, dry.status(), dry.toString());
        assertEquals(2, dry.json().path("base_version").asLong());
        assertEquals("[{\"kind\":\"route\",\"id\":\"a\",\"change\":\"changed\"},"
                + "{\"kind\":\"route\",\"id\":\"c\",\"change\":\"added\"},"
                + "{\"kind\":\"route\",\"id\":\"b\",\"change\":\"removed\"}]", dry.json().path("changes").toString());
        assertEquals(2, admin.get("/v1/config").json().path("version").asLong());

        // all or nothing: one bad route refuses the whole import, with the line in the uploaded text
        Resp bad = admin.post("/v1/config/import", changed + """
                  - id: d
                    paths: ["/d"]
                    upstream: {targets: [{url: "ftp://x"}]}
                """);
        assertEquals(400, bad.status(), bad.toString());
        JsonNode d = bad.json().path("details").get(0);
        assertEquals("routes[2].upstream.targets[0].url", d.path("path").asText());
        assertEquals(10, d.path("line").asInt());
        assertEquals(200, proxy("/b"));

        Resp ok = admin.post("/v1/config/import", changed);
        assertEquals(200, ok.status());
        assertEquals(3, ok.json().path("version").asLong());
        assertEquals(404, proxy("/b"));
        assertEquals(200, proxy("/a2"));
        assertEquals(200, proxy("/c"));
        // importing the same document again changes nothing
        assertEquals(3, admin.post("/v1/config/import", changed).json().path("version").asLong());

        Resp list = admin.post("/v1/config/import", "- a\n- b\n");
        assertEquals(400, list.status());
        assertEquals("invalid_config", list.error());
        Resp syntax = admin.post("/v1/config/import", "routes: [\n");
        assertEquals(400, syntax.status());
        assertTrue(syntax.json().path("details").get(0).path("message").asText().startsWith("syntax error"),
                syntax.toString());
        assertEquals(3, admin.get("/v1/config").json().path("version").asLong());

        // the export of version 3 imports back to an identical document
        String json = admin.get("/v1/config/export", "application/json").body();
        assertEquals(0, admin.post("/v1/config/import?dry_run=true", json).json().path("changes").size());
    }

    @Test
    void tokensCarryTheirRole() {
        Resp t = admin.post("/v1/tokens", "{\"name\": \"ci\", \"role\": \"developer\"}");
        assertEquals(201, t.status(), t.toString());
        String dev = t.json().path("token").asText();
        AdminClient developer = admin.as(dev);
        assertEquals(200, developer.get("/v1/routes").status());
        assertEquals(403, developer.put("/v1/routes/a", route("/a")).status());
        assertEquals("forbidden", developer.put("/v1/routes/a", route("/a")).error());

        JsonNode tokens = admin.get("/v1/tokens").json().path("tokens");
        assertEquals(2, tokens.size());
        assertTrue(tokens.toString().contains("\"created_by\":\"bootstrap\""), tokens.toString());
        assertFalse(tokens.toString().contains(dev));
        assertFalse(tokens.toString().contains("sha256"));

        String devId = t.json().path("id").asText();
        assertEquals(204, admin.delete("/v1/tokens/" + devId).status());
        assertEquals(401, developer.get("/v1/routes").status());
        assertEquals(404, admin.delete("/v1/tokens/" + devId).status());
        String own = admin.get("/v1/tokens").json().path("tokens").get(0).path("id").asText();
        Resp last = admin.delete("/v1/tokens/" + own);
        assertEquals(409, last.status());
        assertEquals("last_platform_token", last.error());
        assertEquals(200, admin.get("/v1/routes").status());

        Resp bad = admin.post("/v1/tokens", "{\"name\": \"\", \"role\": \"root\", \"x\": 1}");
        assertEquals(400, bad.status());
        assertEquals(List.of("name", "role", "x"), bad.json().path("details").findValuesAsText("path"));
    }

    @Test
    void auditRecordsChangesAndRefusals() {
        String dev = admin.post("/v1/tokens", "{\"name\": \"ci\", \"role\": \"developer\"}").json().path("token").asText();
        admin.put("/v1/routes/a", route("/a"));
        admin.as(dev).delete("/v1/routes/a");
        admin.as("slt_guess").get("/v1/audit");
        admin.as(null).get("/v1/audit");
        JsonNode entries = admin.get("/v1/audit").json().path("entries");
        // the two unauthenticated refusals are one folded row, pending until the minute is over
        JsonNode folded = entries.get(0);
        assertTrue(folded.path("id").isNull());
        assertTrue(folded.path("pending").asBoolean());
        assertEquals("unauthenticated", folded.path("actor").asText());
        assertEquals(401, folded.path("status").asInt());
        assertEquals(2, folded.path("count").asLong());
        assertEquals("127.0.0.1", folded.path("source").asText());
        JsonNode refused = entries.get(1);
        assertEquals("ci", refused.path("actor").asText());
        assertEquals("developer", refused.path("role").asText());
        assertEquals("DELETE /v1/routes/a", refused.path("action").asText());
        assertEquals(403, refused.path("status").asInt());
        assertEquals(1, refused.path("count").asLong());
        assertEquals("127.0.0.1", refused.path("source").asText());
        assertEquals("forbidden: role developer may not DELETE /v1/routes/a", refused.path("message").asText());
        JsonNode write = entries.get(2);
        assertEquals("PUT /v1/routes/a", write.path("action").asText());
        assertEquals(1, write.path("config_version").asLong());
        assertEquals("put route a", write.path("message").asText());
        assertEquals("POST /v1/tokens", entries.get(3).path("action").asText());
        assertEquals(1, admin.get("/v1/audit?limit=1").json().path("entries").size());
        assertEquals(0, admin.get("/v1/audit?before=" + write.path("id").asLong()).json().path("entries")
                .findValues("pending").size(), "paging shows stored rows only");
        assertEquals("before", admin.get("/v1/audit?before=x").json().path("details").get(0).path("path").asText());
        assertEquals(400, admin.get("/v1/audit?limit=5000").status());
        assertEquals("invalid_request", admin.get("/v1/audit?limit=0").error());
        // written as one row on shutdown
        node.auditLog().orElseThrow().flush(true);
        JsonNode stored = admin.get("/v1/audit?limit=1").json().path("entries").get(0);
        assertEquals(2, stored.path("count").asLong());
        assertFalse(stored.has("pending"));
    }

    @Test
    void filterRecordsCanBeReadAndDeleted() {
        assertEquals(0, admin.get("/v1/filters").json().path("filters").size());
        assertEquals(404, admin.get("/v1/filters/tagger").status());
        assertEquals(404, admin.get("/v1/filters/tagger/versions/1.0.0").status());
        assertEquals(404, admin.delete("/v1/filters/tagger/versions/1.0.0").status());
        node.registry().orElseThrow().store().addFilter(new io.sluice.registry.store.FilterRecord("tagger", "1.0.0",
                "js", "ab", "{\"type\":\"object\"}", java.time.Instant.now(), "dev"), new byte[]{1});
        assertEquals("1.0.0", admin.get("/v1/filters/tagger").json().path("latest").asText());
        assertEquals("object", admin.get("/v1/filters/tagger/versions/1.0.0").json().path("schema").path("type")
                .asText());
        assertEquals(204, admin.delete("/v1/filters/tagger/versions/1.0.0").status());
        assertEquals(404, admin.get("/v1/filters/tagger").status());
    }

    @Test
    void unknownEndpointIs404JsonButStillNeedsAToken() {
        Resp r = admin.get("/v1/nothing");
        assertEquals(404, r.status());
        assertEquals("not_found", r.error());
        assertEquals(401, admin.as(null).post("/v1/plugins", "x").status());
        assertEquals(404, admin.post("/v1/plugins", "x").status());
        JsonNode entries = admin.get("/v1/audit").json().path("entries");
        assertEquals("anonymous", entries.get(0).path("actor").asText(), "pending folded row");
        assertEquals("POST /v1/plugins", entries.get(1).path("action").asText());
        assertEquals(404, entries.get(1).path("status").asInt());
    }

    @Test
    void restartKeepsConfigAndTokens() throws Exception {
        admin.put("/v1/routes/a", route("/a"));
        admin.put("/v1/consumers/c1", "{}");
        node.close();
        node = start();
        assertTrue(node.generatedToken().isEmpty(), "no second bootstrap token");
        admin = new AdminClient(node.server().adminPort(), token);
        assertEquals(2, admin.get("/v1/config").json().path("version").asLong());
        assertEquals(200, proxy("/a"));
        assertEquals(200, admin.get("/v1/consumers/c1").status());
        Resp ready = new AdminClient(node.server().adminPort(), null).get("/ready");
        assertEquals(200, ready.status());
        assertEquals(2, ready.json().path("version").asLong());
    }
}
