package io.sluice.runtime.admin;

import com.auth0.jwt.JWT;
import com.auth0.jwt.algorithms.Algorithm;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.registry.config.SecretFields;
import io.sluice.runtime.FilterCatalog;
import io.sluice.runtime.Node;
import io.sluice.runtime.SluiceServer.Listeners;
import io.sluice.runtime.testing.AdminClient;
import io.sluice.runtime.testing.AdminClient.Resp;
import io.sluice.runtime.testing.EchoUpstream;
import io.sluice.runtime.testing.Nodes;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Secrets in plugin config through the real admin API and proxy: what each role reads, that a platform export
 * round-trips and a redacted one is refused, {@code $env} secrets resolved on the node (and failing closed when
 * the variable is missing), and malformed references refused with their path.
 */
class SecretsIT {
    static final String LITERAL = "literal-hs256-secret-0123456789abcdef";
    static final String FROM_ENV = "env-hs256-secret-fedcba9876543210-xyz";
    static final String REDIS_PASSWORD = "hunter2-redis-password";
    static final ObjectMapper MAPPER = new ObjectMapper();

    @TempDir
    static Path dir;
    static Node node;
    static EchoUpstream upstream;
    static AdminClient platform;
    static AdminClient developer;
    static AdminClient auditor;

    @BeforeAll
    static void up() throws Exception {
        upstream = EchoUpstream.start("up");
        Map<String, String> env = Map.of("SLUICE_TEST_JWT_SECRET", FROM_ENV);
        node = Node.start(new Node.Options("standalone", dir.resolve("data"),
                new Listeners("127.0.0.1", 0, "127.0.0.1", 0, true), Optional.empty(), Optional.empty(),
                Optional.of("platform-secret"), Duration.ofSeconds(5))
                .withEnv(name -> Optional.ofNullable(env.get(name))));
        platform = new AdminClient(node.server().adminPort(), "platform-secret");
        developer = platform.as(platform.post("/v1/tokens", "{\"name\":\"dev\",\"role\":\"developer\"}").json()
                .path("token").asText());
        auditor = platform.as(platform.post("/v1/tokens", "{\"name\":\"aud\",\"role\":\"auditor\"}").json()
                .path("token").asText());
        assertEquals(201, platform.put("/v1/routes/literal", jwtRoute("/literal", "\"" + LITERAL + "\"", ""))
                .status());
        assertEquals(201, platform.put("/v1/routes/env", jwtRoute("/env",
                "{\"$env\": \"SLUICE_TEST_JWT_SECRET\"}", "")).status());
        // on_error fail_open must not turn a missing key into an open door
        Resp missing = platform.put("/v1/routes/missing", jwtRoute("/missing",
                "{\"$env\": \"SLUICE_TEST_NOT_SET\"}", ", \"on_error\": \"fail_open\""));
        assertEquals(201, missing.status(), missing.toString());
        assertEquals(200, platform.put("/v1/global-plugins", """
                {"plugins": [{"name": "rate-limit", "config": {"rate": 100000, "by": "route", "policy": "local",
                  "redis_url": "redis://:%s@127.0.0.1:6379"}}]}""".formatted(REDIS_PASSWORD)).status());
    }

    @AfterAll
    static void down() {
        node.close();
        upstream.close();
    }

    static String jwtRoute(String path, String secret, String extra) {
        return """
                {"paths": ["%s"], "upstream": {"targets": [{"url": "%s"}]},
                 "plugins": [{"name": "jwt-auth", "config": {"algorithm": "HS256", "secret": %s}%s}]}"""
                .formatted(path, upstream.url(), secret, extra);
    }

    static String token(String secret) {
        return JWT.create().withIssuer("me").withExpiresAt(Instant.now().plusSeconds(60))
                .sign(Algorithm.HMAC256(secret));
    }

    static String latestVersionPath() {
        return "/v1/config/versions/" + platform.get("/v1/config").json().path("version").asLong();
    }

    static List<Resp> reads(AdminClient c) {
        return List.of(c.get("/v1/routes"), c.get("/v1/routes/literal"), c.get("/v1/global-plugins"),
                c.get("/v1/config/export", "application/yaml"), c.get("/v1/config/export", "application/json"),
                c.get(latestVersionPath()));
    }

    @Test
    void developerAndAuditorReadSecretsRedacted() {
        for (AdminClient c : List.of(developer, auditor)) {
            for (Resp r : reads(c)) {
                assertEquals(200, r.status(), r.toString());
                assertFalse(r.body().contains(LITERAL), r.body());
                assertFalse(r.body().contains(REDIS_PASSWORD), r.body());
                assertTrue(r.body().contains(SecretFields.REDACTED), r.body());
            }
            JsonNode route = c.get("/v1/routes/literal").json();
            assertEquals(SecretFields.REDACTED, route.at("/plugins/0/config/secret").asText());
            assertEquals("HS256", route.at("/plugins/0/config/algorithm").asText(), "only secrets are hidden");
            // a reference names a variable, not a secret: shown as written
            assertEquals("SLUICE_TEST_JWT_SECRET", c.get("/v1/routes/env").json()
                    .at("/plugins/0/config/secret/$env").asText());
            assertEquals(SecretFields.REDACTED, c.get("/v1/global-plugins").json()
                    .at("/plugins/0/config/redis_url").asText());
            String yaml = c.get("/v1/config/export", "application/yaml").body();
            assertTrue(yaml.matches("(?s).*secret: '?<redacted>'?\n.*"), yaml);
        }
    }

    @Test
    void platformReadsSecretsAndItsExportRoundTrips() {
        for (Resp r : reads(platform)) {
            assertEquals(200, r.status(), r.toString());
            assertTrue(r.body().contains(LITERAL) || r.body().contains(REDIS_PASSWORD), r.body());
            assertFalse(r.body().contains(SecretFields.REDACTED), r.body());
        }
        for (String accept : List.of("application/yaml", "application/json")) {
            String doc = platform.get("/v1/config/export", accept).body();
            Resp again = platform.send("POST", "/v1/config/import", doc, "application/json",
                    accept.endsWith("json") ? "application/json" : "application/yaml");
            assertEquals(200, again.status(), again.toString());
            assertEquals(0, again.json().path("changes").size(), "the export equals the config: " + again);
        }
    }

    @Test
    void aRedactedExportIsRefusedOnImport() {
        long before = node.server().gateway().current().version();
        for (String accept : List.of("application/yaml", "application/json")) {
            String doc = developer.get("/v1/config/export", accept).body();
            for (String path : List.of("/v1/config/import?dry_run=true", "/v1/config/import")) {
                Resp r = platform.send("POST", path, doc, "application/json",
                        accept.endsWith("json") ? "application/json" : "application/yaml");
                assertEquals(400, r.status(), r.toString());
                assertEquals("invalid_config", r.error());
                List<String> paths = r.json().path("details").findValuesAsText("path");
                assertTrue(paths.contains("global_plugins[0].config.redis_url"), paths.toString());
                assertTrue(paths.stream().anyMatch(p -> p.matches("routes\\[\\d].plugins\\[0].config.secret")),
                        paths.toString());
                assertTrue(r.json().path("details").get(0).path("message").asText()
                        .contains("the placeholder that reads show for secrets"), r.toString());
            }
        }
        Resp put = platform.put("/v1/routes/literal", jwtRoute("/literal", "\"<redacted>\"", ""));
        assertEquals(400, put.status());
        assertEquals("invalid_config", put.error());
        assertEquals("plugins[0].config.secret", put.json().path("details").get(0).path("path").asText());
        assertEquals(before, node.server().gateway().current().version(), "nothing applied");
    }

    @Test
    void anEnvSecretIsResolvedOnTheNodeAndNeverStored() throws Exception {
        HttpResponse<String> ok = Nodes.get(node, "/env", "Authorization", "Bearer " + token(FROM_ENV));
        assertEquals(200, ok.statusCode(), ok.body());
        assertEquals(401, Nodes.get(node, "/env", "Authorization", "Bearer " + token(LITERAL)).statusCode());
        assertEquals(200, Nodes.get(node, "/literal", "Authorization", "Bearer " + token(LITERAL)).statusCode());
        String stored = node.registry().orElseThrow().store().load().entities().document().toString();
        assertFalse(stored.contains(FROM_ENV), "the secret stays out of the store");
        assertTrue(stored.contains("{\"$env\":\"SLUICE_TEST_JWT_SECRET\"}"), stored);
    }

    @Test
    void aMissingVariableFailsThatFilterClosedAndNothingElse() throws Exception {
        HttpResponse<String> r = Nodes.get(node, "/missing", "Authorization", "Bearer " + token(FROM_ENV));
        assertEquals(500, r.statusCode());
        assertEquals("filter_error", MAPPER.readTree(r.body()).path("error").asText());
        assertFalse(r.body().contains("SLUICE_TEST_NOT_SET"), "the variable's name stays in the log");
        assertEquals(500, Nodes.get(node, "/missing").statusCode(), "no token: still closed, not skipped");
        assertEquals(200, Nodes.get(node, "/env", "Authorization", "Bearer " + token(FROM_ENV)).statusCode());
    }

    @Test
    void malformedEnvReferencesAre400WithTheirPath() {
        Map<String, String> cases = Map.of(
                "{\"$env\": \"JWT_SECRET\", \"default\": \"x\"}", "plugins[0].config.secret.default",
                "{\"$env\": \"jwt_secret\"}", "plugins[0].config.secret.$env",
                "{\"$env\": \"9LIVES\"}", "plugins[0].config.secret.$env",
                "{\"$env\": \"A;rm -rf\"}", "plugins[0].config.secret.$env",
                "{\"$env\": 12}", "plugins[0].config.secret.$env",
                "{\"$env\": [\"A\"]}", "plugins[0].config.secret.$env",
                "{\"$env\": {\"$env\": \"A\"}}", "plugins[0].config.secret.$env",
                "{\"$ENV\": \"A\"}", "plugins[0].config.secret");
        long before = node.server().gateway().current().version();
        cases.forEach((secret, path) -> {
            Resp r = platform.put("/v1/routes/bad", jwtRoute("/bad", secret, ""));
            assertEquals(400, r.status(), secret + " -> " + r);
            assertEquals("invalid_config", r.error(), secret);
            assertEquals(List.of(path), r.json().path("details").findValuesAsText("path"), secret + " -> " + r);
        });
        // $env only where the schema marks a secret
        Resp r = platform.put("/v1/routes/bad", """
                {"paths": ["/bad"], "upstream": {"targets": [{"url": "%s"}]},
                 "plugins": [{"name": "jwt-auth", "config": {"algorithm": "HS256", "secret": "%s",
                              "issuer": {"$env": "ISSUER"}}}]}""".formatted(upstream.url(), LITERAL));
        assertEquals(400, r.status(), r.toString());
        assertEquals("invalid_config", r.error());
        assertEquals("plugins[0].config.issuer", r.json().path("details").get(0).path("path").asText());
        assertTrue(r.json().path("details").get(0).path("message").asText().contains("writeOnly"), r.toString());
        assertEquals(before, node.server().gateway().current().version());
    }

    @Test
    void builtInCredentialFieldsAreMarkedSecret() throws Exception {
        FilterCatalog catalog = FilterCatalog.builtins();
        JsonNode kafka = MAPPER.readTree("""
                {"bootstrap_servers": "k:9092", "topic": "t", "producer": {"sasl.jaas.config": "user pass",
                 "ssl.key.password": "a", "ssl.keystore.password": "b", "ssl.truststore.password": "c",
                 "ssl.keystore.key": "d", "sasl.oauthbearer.client.credentials.client.secret": "e",
                 "security.protocol": "SASL_SSL", "linger.ms": 5}}""");
        JsonNode r = SecretFields.of(catalog.describe("kafka-logger", Optional.empty()).orElseThrow().schema())
                .redact(kafka);
        r.path("producer").properties().forEach(e -> assertEquals(
                !List.of("security.protocol", "linger.ms").contains(e.getKey()),
                SecretFields.REDACTED.equals(e.getValue().asText()), e.getKey()));
        assertEquals(List.of(List.of("secret")), SecretFields.of(catalog.describe("jwt-auth", Optional.empty())
                .orElseThrow().schema()).paths(MAPPER.readTree("{\"secret\": \"s\", \"issuer\": \"i\"}")));
        assertEquals(List.of(List.of("redis_url")), SecretFields.of(catalog.describe("rate-limit", Optional.empty())
                .orElseThrow().schema()).paths(MAPPER.readTree("{\"rate\": 1, \"redis_url\": \"redis://h\"}")));
    }
}
