package io.sluice.runtime.admin;

import io.sluice.runtime.Node;
import io.sluice.runtime.SluiceServer.Listeners;
import io.sluice.runtime.testing.AdminClient;
import io.sluice.runtime.testing.AdminClient.Resp;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Every admin endpoint against every role: platform may do everything, developer may read (not tokens) and
 * manage filters, auditor may only read (tokens and audit included). A refused request is 403 and changes
 * nothing; no token at all is 401.
 */
class RoleMatrixIT {
    @TempDir
    static Path dir;
    static Node node;
    static AdminClient platform;
    static AdminClient developer;
    static AdminClient auditor;

    record Endpoint(String method, String path, String body, Set<String> roles) {
    }

    static final Set<String> ALL = Set.of("platform", "developer", "auditor");
    static final Set<String> PLATFORM = Set.of("platform");

    static final List<Endpoint> ENDPOINTS = List.of(
            new Endpoint("GET", "/v1/routes", null, ALL),
            new Endpoint("GET", "/v1/routes/r", null, ALL),
            new Endpoint("PUT", "/v1/routes/r2", "{\"paths\":[\"/r2\"],\"upstream\":{\"targets\":[{\"url\":\"http://127.0.0.1:1\"}]}}", PLATFORM),
            new Endpoint("DELETE", "/v1/routes/nope", null, PLATFORM),
            new Endpoint("GET", "/v1/global-plugins", null, ALL),
            new Endpoint("PUT", "/v1/global-plugins", "{\"plugins\":[]}", PLATFORM),
            new Endpoint("GET", "/v1/consumers", null, ALL),
            new Endpoint("GET", "/v1/consumers/c", null, ALL),
            new Endpoint("PUT", "/v1/consumers/c2", "{}", PLATFORM),
            new Endpoint("DELETE", "/v1/consumers/nope", null, PLATFORM),
            new Endpoint("POST", "/v1/consumers/c/api-keys", "", PLATFORM),
            new Endpoint("DELETE", "/v1/consumers/c/api-keys/nope", null, PLATFORM),
            new Endpoint("GET", "/v1/filters", null, ALL),
            new Endpoint("GET", "/v1/filters/f", null, ALL),
            new Endpoint("GET", "/v1/filters/f/versions/1.0.0", null, ALL),
            new Endpoint("DELETE", "/v1/filters/f/versions/9.9.9", null, Set.of("platform", "developer")),
            new Endpoint("POST", "/v1/filters/f/versions/9.9.9/enable", null, Set.of("platform", "developer")),
            new Endpoint("POST", "/v1/filters", "export default {}", Set.of("platform", "developer")),
            new Endpoint("GET", "/v1/config", null, ALL),
            new Endpoint("GET", "/v1/config/versions", null, ALL),
            new Endpoint("GET", "/v1/config/versions/1", null, ALL),
            new Endpoint("POST", "/v1/config/rollback", "{\"version\":1}", PLATFORM),
            new Endpoint("GET", "/v1/config/export", null, ALL),
            new Endpoint("POST", "/v1/config/import?dry_run=true", "{}", PLATFORM),
            new Endpoint("POST", "/v1/config/import", "{\"routes\":[]}", PLATFORM),
            new Endpoint("GET", "/v1/tokens", null, Set.of("platform", "auditor")),
            new Endpoint("POST", "/v1/tokens", "{\"name\":\"n\",\"role\":\"auditor\"}", PLATFORM),
            new Endpoint("DELETE", "/v1/tokens/nope", null, PLATFORM),
            new Endpoint("GET", "/v1/audit", null, ALL));

    @BeforeAll
    static void up() throws Exception {
        node = Node.start(new Node.Options("standalone", dir.resolve("data"),
                new Listeners("127.0.0.1", 0, "127.0.0.1", 0, true), Optional.empty(), Optional.empty(),
                Optional.of("platform-secret"), Duration.ofSeconds(5)));
        platform = new AdminClient(node.server().adminPort(), "platform-secret");
        developer = platform.as(platform.post("/v1/tokens", "{\"name\":\"dev\",\"role\":\"developer\"}").json()
                .path("token").asText());
        auditor = platform.as(platform.post("/v1/tokens", "{\"name\":\"aud\",\"role\":\"auditor\"}").json()
                .path("token").asText());
        assertEquals(201, platform.put("/v1/routes/r", "{\"paths\":[\"/r\"],\"upstream\":{\"targets\":"
                + "[{\"url\":\"http://127.0.0.1:1\"}]}}").status());
        assertEquals(201, platform.put("/v1/consumers/c", "{}").status());
        node.registry().orElseThrow().store().addFilter(new io.sluice.registry.store.FilterRecord("f", "1.0.0",
                "js", "ab", "{}", java.time.Instant.now(), "dev"), new byte[]{1});
    }

    @AfterAll
    static void down() {
        node.close();
    }

    @Test
    void everyEndpointChecksTheRole() {
        List<String> wrong = new ArrayList<>();
        for (Endpoint e : ENDPOINTS) {
            for (String role : List.of("developer", "auditor", "platform")) {
                AdminClient client = switch (role) {
                    case "developer" -> developer;
                    case "auditor" -> auditor;
                    default -> platform;
                };
                long before = node.server().gateway().current().version();
                Resp r = client.send(e.method(), e.path(), e.body(), "application/json");
                boolean allowed = e.roles().contains(role);
                if (allowed ? (r.status() == 403 || r.status() == 401 || r.status() >= 500) : r.status() != 403) {
                    wrong.add(role + " " + e.method() + " " + e.path() + " -> " + r);
                }
                if (!allowed && node.server().gateway().current().version() != before) {
                    wrong.add(role + " " + e.method() + " " + e.path() + " changed the config");
                }
                if (!allowed && !"forbidden".equals(r.error())) {
                    wrong.add(role + " " + e.method() + " " + e.path() + " error code " + r.error());
                }
            }
            Resp anon = platform.as(null).send(e.method(), e.path(), e.body(), "application/json");
            if (anon.status() != 401) {
                wrong.add("anonymous " + e.method() + " " + e.path() + " -> " + anon);
            }
        }
        assertEquals(List.of(), wrong);
    }
}
