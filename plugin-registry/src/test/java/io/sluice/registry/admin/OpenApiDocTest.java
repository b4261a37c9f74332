package io.sluice.registry.admin;

import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The served {@code openapi.yaml} documents every endpoint {@link AdminApi#routing} registers. When an endpoint is
 * added there, add it to {@link #ENDPOINTS} (with the roles its {@code Need} grants) and to the document.
 */
class OpenApiDocTest {
    private static final String RESOURCE = "io/sluice/registry/admin/openapi.yaml";
    private static final List<String> ALL = List.of("platform", "developer", "auditor");
    private static final List<String> PLATFORM = List.of("platform");

    /** Every "METHOD /path" AdminApi.routing() registers, with the roles AdminApi.GRANTS allow. */
    private static final Map<String, List<String>> ENDPOINTS = new LinkedHashMap<>();

    static {
        ENDPOINTS.put("GET /v1/routes", ALL);
        ENDPOINTS.put("GET /v1/routes/{id}", ALL);
        ENDPOINTS.put("PUT /v1/routes/{id}", PLATFORM);
        ENDPOINTS.put("DELETE /v1/routes/{id}", PLATFORM);
        ENDPOINTS.put("GET /v1/global-plugins", ALL);
        ENDPOINTS.put("PUT /v1/global-plugins", PLATFORM);
        ENDPOINTS.put("GET /v1/consumers", ALL);
        ENDPOINTS.put("GET /v1/consumers/{id}", ALL);
        ENDPOINTS.put("PUT /v1/consumers/{id}", PLATFORM);
        ENDPOINTS.put("DELETE /v1/consumers/{id}", PLATFORM);
        ENDPOINTS.put("POST /v1/consumers/{id}/api-keys", PLATFORM);
        ENDPOINTS.put("DELETE /v1/consumers/{id}/api-keys/{key}", PLATFORM);
        ENDPOINTS.put("GET /v1/filters", ALL);
        ENDPOINTS.put("GET /v1/filters/{name}", ALL);
        ENDPOINTS.put("GET /v1/filters/{name}/versions/{version}", ALL);
        ENDPOINTS.put("DELETE /v1/filters/{name}/versions/{version}", List.of("platform", "developer"));
        ENDPOINTS.put("POST /v1/filters", List.of("platform", "developer"));
        ENDPOINTS.put("POST /v1/filters/{name}/versions/{version}/enable", List.of("platform", "developer"));
        ENDPOINTS.put("GET /v1/config", ALL);
        ENDPOINTS.put("GET /v1/config/versions", ALL);
        ENDPOINTS.put("GET /v1/config/versions/{version}", ALL);
        ENDPOINTS.put("POST /v1/config/rollback", PLATFORM);
        ENDPOINTS.put("GET /v1/config/export", ALL);
        ENDPOINTS.put("POST /v1/config/import", PLATFORM);
        ENDPOINTS.put("GET /v1/tokens", List.of("platform", "auditor"));
        ENDPOINTS.put("POST /v1/tokens", PLATFORM);
        ENDPOINTS.put("DELETE /v1/tokens/{id}", PLATFORM);
        ENDPOINTS.put("GET /v1/audit", ALL);
    }

    /** Served without a token (SluiceServer's /health and /ready, AdminApi's /openapi.yaml). */
    private static final Set<String> UNAUTHENTICATED = Set.of("GET /health", "GET /ready", "GET /metrics", "GET /openapi.yaml");

    private static final Set<String> METHODS = Set.of("get", "put", "post", "delete", "patch", "head", "options",
            "trace");

    @SuppressWarnings("unchecked")
    private static Map<String, Object> load() throws IOException {
        try (InputStream in = Thread.currentThread().getContextClassLoader().getResourceAsStream(RESOURCE)) {
            assertNotNull(in, "classpath resource " + RESOURCE + " is missing");
            Object doc = new Yaml().load(new String(in.readAllBytes(), StandardCharsets.UTF_8));
            return (Map<String, Object>) assertInstanceOf(Map.class, doc, "the document must be a mapping");
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object o, String what) {
        return (Map<String, Object>) assertInstanceOf(Map.class, o, what + " must be a mapping");
    }

    /** Every operation in the document, as "METHOD /path". */
    private static Map<String, Map<String, Object>> operations(Map<String, Object> doc) {
        Map<String, Map<String, Object>> out = new LinkedHashMap<>();
        map(doc.get("paths"), "paths").forEach((path, item) -> map(item, path).forEach((method, op) -> {
            if (METHODS.contains(method)) {
                out.put(method.toUpperCase() + " " + path, map(op, method + " " + path));
            }
        }));
        return out;
    }

    @Test
    void parsesAsOpenApi31() throws IOException {
        Map<String, Object> doc = load();
        assertTrue(String.valueOf(doc.get("openapi")).startsWith("3.1"), "openapi: " + doc.get("openapi"));
        assertNotNull(map(doc.get("components"), "components").get("securitySchemes"));
    }

    @Test
    void documentsEveryEndpointAdminApiServes() throws IOException {
        Map<String, Map<String, Object>> ops = operations(load());
        List<String> missing = new ArrayList<>();
        for (String endpoint : ENDPOINTS.keySet()) {
            if (!ops.containsKey(endpoint)) {
                missing.add(endpoint);
            }
        }
        for (String endpoint : UNAUTHENTICATED) {
            if (!ops.containsKey(endpoint)) {
                missing.add(endpoint);
            }
        }
        assertEquals(List.of(), missing, "endpoints served but not in openapi.yaml");
    }

    @Test
    void documentsNoEndpointThatIsNotServed() throws IOException {
        List<String> extra = new ArrayList<>();
        for (String endpoint : operations(load()).keySet()) {
            if (!ENDPOINTS.containsKey(endpoint) && !UNAUTHENTICATED.contains(endpoint)) {
                extra.add(endpoint);
            }
        }
        assertEquals(List.of(), extra, "in openapi.yaml but not served by AdminApi ");
    }

    @Test
    void everyAuthenticatedOperationHas401() throws IOException {
        List<String> without = new ArrayList<>();
        operations(load()).forEach((endpoint, op) -> {
            if (!UNAUTHENTICATED.contains(endpoint)
                    && !map(op.get("responses"), endpoint + " responses").containsKey("401")) {
                without.add(endpoint);
            }
        });
        assertEquals(List.of(), without, "operations without a 401 response");
    }

    @Test
    void unauthenticatedOperationsNeedNoToken() throws IOException {
        Map<String, Map<String, Object>> ops = operations(load());
        for (String endpoint : UNAUTHENTICATED) {
            assertEquals(List.of(), ops.get(endpoint).get("security"), endpoint + " must set security: []");
        }
    }

    @Test
    void rolesMatchTheGrants() throws IOException {
        Map<String, Map<String, Object>> ops = operations(load());
        ENDPOINTS.forEach((endpoint, roles) -> {
            Map<String, Object> op = ops.get(endpoint);
            if (op != null) {
                assertEquals(roles, op.get("x-sluice-roles"), endpoint + " x-sluice-roles");
                String description = String.valueOf(op.get("description"));
                String prefix = "Roles: " + String.join(", ", roles);
                assertTrue(description.startsWith(prefix) && !description.startsWith(prefix + ","),
                        endpoint + " description must start with its roles: " + description);
            }
        });
    }

    @Test
    void everyReferenceResolves() throws IOException {
        Map<String, Object> doc = load();
        List<String> refs = new ArrayList<>();
        collectRefs(doc, refs);
        assertTrue(refs.size() > 10, "expected shared components to be used through $ref");
        for (String ref : refs) {
            assertTrue(ref.startsWith("#/"), "only local references: " + ref);
            Object at = doc;
            for (String part : ref.substring(2).split("/")) {
                at = map(at, ref).get(part.replace("~1", "/").replace("~0", "~"));
                assertNotNull(at, "unresolved $ref " + ref);
            }
        }
    }

    private static void collectRefs(Object node, List<String> out) {
        if (node instanceof Map<?, ?> m) {
            m.forEach((k, v) -> {
                if ("$ref".equals(k)) {
                    out.add(String.valueOf(v));
                } else {
                    collectRefs(v, out);
                }
            });
        } else if (node instanceof List<?> l) {
            l.forEach(v -> collectRefs(v, out));
        }
    }
}
