package io.sluice.runtime.admin;

import io.sluice.registry.admin.AdminApi;
import io.sluice.registry.admin.AdminApi.EndpointInfo;
import io.sluice.registry.admin.OpenApiDocument;
import io.sluice.registry.admin.Role;
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
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every admin endpoint of the node's routing table ({@link AdminApi#endpoints()}) against every role: platform may
 * do everything, developer may read (not tokens) and manage filters, auditor may only read (tokens and audit
 * included). A refused request is 403 and changes nothing; no token at all is 401. An endpoint needs a sample
 * request in {@link #SAMPLES}; one without fails the test, so a new endpoint cannot go untested.
 */
class RoleMatrixIT {
    @TempDir
    static Path dir;
    static Node node;
    static AdminClient platform;
    static AdminClient developer;
    static AdminClient auditor;

    /**
     * A request to send to an endpoint.
     *
     * @param path concrete path (query included)
     * @param body request body, or null for none
     */
    record Sample(String path, String body) {
    }

    /** Sample requests by "METHOD /pattern", as in the routing table. */
    static final Map<String, List<Sample>> SAMPLES = new LinkedHashMap<>();

    /** A certificate entity's body: a real chain and key for {@code name}. */
    static String certificate(String name) {
        try {
            var leaf = io.sluice.runtime.testing.TestPki.leaf(name, io.sluice.runtime.testing.TestPki.ca("ca"), name);
            return new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode().put("cert", leaf.certPem())
                    .put("key", leaf.keyPem()).set("snis", com.fasterxml.jackson.databind.node.JsonNodeFactory.instance
                            .arrayNode().add(name)).toString();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static void sample(String endpoint, String path, String body) {
        SAMPLES.computeIfAbsent(endpoint, k -> new ArrayList<>()).add(new Sample(path, body));
    }

    static {
        sample("GET /v1/routes", "/v1/routes", null);
        sample("GET /v1/routes/{id}", "/v1/routes/r", null);
        sample("PUT /v1/routes/{id}", "/v1/routes/r2",
                "{\"paths\":[\"/r2\"],\"upstream\":{\"targets\":[{\"url\":\"http://127.0.0.1:1\"}]}}");
        sample("DELETE /v1/routes/{id}", "/v1/routes/nope", null);
        sample("GET /v1/upstreams", "/v1/upstreams", null);
        sample("GET /v1/upstreams/{id}", "/v1/upstreams/u", null);
        sample("PUT /v1/upstreams/{id}", "/v1/upstreams/u2", "{\"targets\":[{\"url\":\"http://127.0.0.1:1\"}]}");
        sample("DELETE /v1/upstreams/{id}", "/v1/upstreams/nope", null);
        sample("POST /v1/upstreams/{id}/targets", "/v1/upstreams/u/targets", "{\"url\":\"http://127.0.0.1:2\"}");
        sample("DELETE /v1/upstreams/{id}/targets", "/v1/upstreams/u/targets?url=http%3A%2F%2F127.0.0.1%3A9", null);
        sample("GET /v1/upstreams/{id}/health", "/v1/upstreams/u/health", null);
        sample("GET /v1/certificates", "/v1/certificates", null);
        sample("GET /v1/certificates/{id}", "/v1/certificates/c", null);
        sample("PUT /v1/certificates/{id}", "/v1/certificates/c2", certificate("two.example.test"));
        sample("DELETE /v1/certificates/{id}", "/v1/certificates/nope", null);
        sample("GET /v1/global-plugins", "/v1/global-plugins", null);
        sample("PUT /v1/global-plugins", "/v1/global-plugins", "{\"plugins\":[]}");
        sample("GET /v1/consumers", "/v1/consumers", null);
        sample("GET /v1/consumers/{id}", "/v1/consumers/c", null);
        sample("PUT /v1/consumers/{id}", "/v1/consumers/c2", "{}");
        sample("DELETE /v1/consumers/{id}", "/v1/consumers/nope", null);
        sample("POST /v1/consumers/{id}/api-keys", "/v1/consumers/c/api-keys", "");
        sample("DELETE /v1/consumers/{id}/api-keys/{key}", "/v1/consumers/c/api-keys/nope", null);
        sample("GET /v1/filters", "/v1/filters", null);
        sample("POST /v1/filters", "/v1/filters", "export default {}");
        sample("POST /v1/filters/{name}/versions/{version}/enable", "/v1/filters/f/versions/9.9.9/enable", null);
        sample("GET /v1/filters/{name}", "/v1/filters/f", null);
        sample("GET /v1/filters/{name}/versions/{version}", "/v1/filters/f/versions/1.0.0", null);
        sample("DELETE /v1/filters/{name}/versions/{version}", "/v1/filters/f/versions/9.9.9", null);
        sample("GET /v1/config", "/v1/config", null);
        sample("GET /v1/config/versions", "/v1/config/versions", null);
        sample("GET /v1/config/versions/{version}", "/v1/config/versions/1", null);
        sample("POST /v1/config/rollback", "/v1/config/rollback", "{\"version\":1}");
        sample("GET /v1/config/export", "/v1/config/export", null);
        sample("POST /v1/config/import", "/v1/config/import?dry_run=true", "{}");
        sample("POST /v1/config/import", "/v1/config/import", "{\"routes\":[]}");
        sample("GET /v1/tokens", "/v1/tokens", null);
        sample("POST /v1/tokens", "/v1/tokens", "{\"name\":\"n\",\"role\":\"auditor\"}");
        sample("DELETE /v1/tokens/{id}", "/v1/tokens/nope", null);
        sample("GET /v1/audit", "/v1/audit", null);
    }

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
        assertEquals(201, platform.put("/v1/upstreams/u", "{\"targets\":[{\"url\":\"http://127.0.0.1:1\"}]}")
                .status());
        assertEquals(201, platform.put("/v1/certificates/c", certificate("one.example.test")).status());
        node.registry().orElseThrow().store().addFilter(new io.sluice.registry.store.FilterRecord("f", "1.0.0",
                "js", "ab", "{}", java.time.Instant.now(), "dev"), new byte[]{1});
    }

    @AfterAll
    static void down() {
        node.close();
    }

    static List<EndpointInfo> endpoints() {
        List<EndpointInfo> table = node.adminApi().orElseThrow().endpoints();
        assertFalse(table.isEmpty(), "the routing table is empty");
        return table;
    }

    static String key(EndpointInfo e) {
        return e.method() + " " + e.path();
    }

    @Test
    void everyEndpointHasASampleAndEverySampleAnEndpoint() {
        List<String> wrong = new ArrayList<>();
        Set<String> table = new LinkedHashSet<>();
        for (EndpointInfo e : endpoints()) {
            table.add(key(e));
            List<Sample> samples = SAMPLES.get(key(e));
            if (samples == null) {
                wrong.add("no sample request for " + key(e) + ": add one to RoleMatrixIT.SAMPLES");
                continue;
            }
            Pattern pattern = Pattern.compile(e.path().replaceAll("\\{[^/]+}", "[^/]+"));
            for (Sample s : samples) {
                if (!pattern.matcher(s.path().replaceFirst("\\?.*", "")).matches()) {
                    wrong.add(key(e) + " sample path " + s.path() + " does not match it");
                }
            }
        }
        SAMPLES.keySet().stream().filter(k -> !table.contains(k))
                .forEach(k -> wrong.add("sample for " + k + ", which the routing table does not have"));
        assertEquals(List.of(), wrong);
    }

    @Test
    void theGrantsFollowThePolicy() {
        List<String> wrong = new ArrayList<>();
        for (EndpointInfo e : endpoints()) {
            boolean read = e.method().equals("GET");
            Set<Role> expected = EnumSet.of(Role.PLATFORM);
            if (read) {
                expected.add(Role.AUDITOR);
            }
            if ((read && !e.path().startsWith("/v1/tokens")) || e.path().startsWith("/v1/filters")) {
                expected.add(Role.DEVELOPER);
            }
            if (!expected.equals(e.roles())) {
                wrong.add(key(e) + " grants " + e.roles() + ", the policy " + expected);
            }
        }
        assertEquals(List.of(), wrong);
    }

    @Test
    void anyoneReadsTheOpenApiDocumentWithItsGeneratedComponents() {
        Resp r = platform.as(null).get("/openapi.yaml", "application/yaml");
        assertEquals(200, r.status(), r.toString());
        assertEquals(Optional.of("application/yaml"), r.header("Content-Type"));
        assertEquals(OpenApiDocument.yaml(), r.body());
        assertTrue(r.body().contains("\n    " + OpenApiDocument.DOCUMENT + ":\n"),
                "no generated " + OpenApiDocument.DOCUMENT);
    }

    @Test
    void everyEndpointChecksTheRole() {
        List<String> wrong = new ArrayList<>();
        for (EndpointInfo e : endpoints()) {
            List<Sample> samples = SAMPLES.get(key(e));
            if (samples == null) {
                wrong.add("no sample request for " + key(e) + ": add one to RoleMatrixIT.SAMPLES");
                continue;
            }
            for (Sample s : samples) {
                check(e, s, wrong);
            }
        }
        assertEquals(List.of(), wrong);
    }

    private static void check(EndpointInfo e, Sample s, List<String> wrong) {
        String request = e.method() + " " + s.path();
        // platform last: its requests change the config
        for (Role role : List.of(Role.DEVELOPER, Role.AUDITOR, Role.PLATFORM)) {
            AdminClient client = switch (role) {
                case DEVELOPER -> developer;
                case AUDITOR -> auditor;
                case PLATFORM -> platform;
            };
            long before = node.server().gateway().current().version();
            Resp r = client.send(e.method(), s.path(), s.body(), "application/json");
            boolean allowed = e.roles().contains(role);
            if (allowed ? (r.status() == 403 || r.status() == 401 || r.status() >= 500) : r.status() != 403) {
                wrong.add(role.wire() + " " + request + " -> " + r);
            }
            if (!allowed && node.server().gateway().current().version() != before) {
                wrong.add(role.wire() + " " + request + " changed the config");
            }
            if (!allowed && !"forbidden".equals(r.error())) {
                wrong.add(role.wire() + " " + request + " error code " + r.error());
            }
        }
        Resp anon = platform.as(null).send(e.method(), s.path(), s.body(), "application/json");
        if (anon.status() != 401) {
            wrong.add("anonymous " + request + " -> " + anon);
        }
    }
}
