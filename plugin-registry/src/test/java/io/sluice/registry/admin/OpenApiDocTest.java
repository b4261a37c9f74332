package io.sluice.registry.admin;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.registry.admin.AdminApi.EndpointInfo;
import io.sluice.registry.store.Store;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The served {@code /openapi.yaml} ({@link OpenApiDocument}) documents every endpoint of {@link AdminApi}'s routing
 * table ({@link AdminApi#endpoints()}) with its roles, and nothing else; its schema components include one for every
 * {@code $defs} entry of the config schema; every {@code $ref} in it resolves.
 */
class OpenApiDocTest {
    private static final String RESOURCE = "io/sluice/registry/admin/openapi.yaml";

    @TempDir
    static Path dir;
    static Store store;
    /** Every "METHOD /path" of the routing table, with the roles it grants, in registration order. */
    static Map<String, List<String>> endpoints;

    @BeforeAll
    static void table() {
        store = Store.embedded(dir);
        AdminApi api = new AdminApi(new Registry(store, (name, version) -> Optional.empty(), config -> {
        }), new AdminAuth(store, Optional.empty()), Optional.empty(),
                new AuditLog(store, Clock.systemUTC(), 1, AuditLog.Retention.DEFAULT));
        endpoints = new LinkedHashMap<>();
        for (EndpointInfo e : api.endpoints()) {
            List<String> roles = e.roles().stream().sorted().map(Role::wire).toList();
            assertEquals(null, endpoints.put(e.method() + " " + e.path(), roles), "twice in the table: " + e);
        }
        assertFalse(endpoints.isEmpty());
    }

    @AfterAll
    static void close() {
        store.close();
    }

    /** Served without a token (SluiceServer's /health and /ready, AdminApi's /openapi.yaml). */
    private static final Set<String> UNAUTHENTICATED = Set.of("GET /health", "GET /ready", "GET /metrics", "GET /openapi.yaml");

    private static final Set<String> METHODS = Set.of("get", "put", "post", "delete", "patch", "head", "options",
            "trace");

    /** The served document, parsed back from its text. */
    @SuppressWarnings("unchecked")
    private static Map<String, Object> load() {
        Object doc = new Yaml().load(OpenApiDocument.yaml());
        return (Map<String, Object>) assertInstanceOf(Map.class, doc, "the document must be a mapping");
    }

    /** The hand-written part, as in the resource. */
    @SuppressWarnings("unchecked")
    private static Map<String, Object> handWritten() throws IOException {
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
    void parsesAsOpenApi31() {
        Map<String, Object> doc = load();
        assertTrue(String.valueOf(doc.get("openapi")).startsWith("3.1"), "openapi: " + doc.get("openapi"));
        assertNotNull(map(doc.get("components"), "components").get("securitySchemes"));
    }

    @Test
    void documentsEveryEndpointAdminApiServes() {
        Map<String, Map<String, Object>> ops = operations(load());
        List<String> missing = new ArrayList<>();
        for (String endpoint : endpoints.keySet()) {
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
    void documentsNoEndpointThatIsNotServed() {
        List<String> extra = new ArrayList<>();
        for (String endpoint : operations(load()).keySet()) {
            if (!endpoints.containsKey(endpoint) && !UNAUTHENTICATED.contains(endpoint)) {
                extra.add(endpoint);
            }
        }
        assertEquals(List.of(), extra, "in openapi.yaml but not served by AdminApi ");
    }

    @Test
    void everyAuthenticatedOperationHas401() {
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
    void unauthenticatedOperationsNeedNoToken() {
        Map<String, Map<String, Object>> ops = operations(load());
        for (String endpoint : UNAUTHENTICATED) {
            assertEquals(List.of(), ops.get(endpoint).get("security"), endpoint + " must set security: []");
        }
    }

    @Test
    void rolesMatchTheGrants() {
        Map<String, Map<String, Object>> ops = operations(load());
        endpoints.forEach((endpoint, roles) -> {
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
    void everyReferenceResolves() {
        Map<String, Object> doc = load();
        List<String> refs = new ArrayList<>();
        collectRefs(doc, refs);
        assertTrue(refs.size() > 10, "expected shared components to be used through $ref");
        for (String ref : refs) {
            assertTrue(ref.startsWith("#/"), "only local references: " + ref);
            assertFalse(ref.startsWith("#/$defs/"), "not rewritten: " + ref);
            Object at = doc;
            for (String part : ref.substring(2).split("/")) {
                at = map(at, ref).get(part.replace("~1", "/").replace("~0", "~"));
                assertNotNull(at, "unresolved $ref " + ref);
            }
        }
    }

    @Test
    void everyConfigSchemaDefinitionIsAComponent() {
        Map<String, Object> schemas = map(map(load().get("components"), "components").get("schemas"), "schemas");
        JsonNode config = OpenApiDocument.configSchema();
        List<String> missing = new ArrayList<>();
        config.path("$defs").properties().forEach(def -> {
            String name = OpenApiDocument.componentName(def.getKey());
            Object component = schemas.get(name);
            if (component == null) {
                missing.add(def.getKey() + " -> " + name);
            } else if (!def.getValue().has("properties")) {
                // a composition (upstream_ref: an id or an upstream; upstream_entity: an upstream with an id)
                assertEquals(def.getValue().has("allOf"), map(component, name).containsKey("allOf"), name);
            } else {
                assertEquals(fieldNames(def.getValue().path("properties")),
                        map(map(component, name).get("properties"), name + " properties").keySet(), name);
                assertEquals(def.getValue().path("required").isEmpty(), !map(component, name).containsKey("required"),
                        name + " required");
            }
        });
        assertEquals(List.of(), missing, "$defs entries without a component");
        Map<String, Object> document = map(schemas.get(OpenApiDocument.DOCUMENT), OpenApiDocument.DOCUMENT);
        assertEquals(fieldNames(config.path("properties")), map(document.get("properties"), "properties").keySet());
        assertFalse(document.containsKey("$defs"), "the definitions are components, not nested");
    }

    @Test
    void componentNamesAreTheDefinitionsInPascalCase() {
        assertEquals("Route", OpenApiDocument.componentName("route"));
        assertEquals("TrustedJarSigner", OpenApiDocument.componentName("trusted_jar_signer"));
        assertEquals("ApiKey", OpenApiDocument.componentName("api-key"));
    }

    @Test
    void entitiesWithAnIdHaveABodyWithTheIdOptional() {
        Map<String, Object> schemas = map(map(load().get("components"), "components").get("schemas"), "schemas");
        Map<String, Object> route = map(schemas.get("Route"), "Route");
        Map<String, Object> body = map(schemas.get("RouteBody"), "RouteBody");
        assertEquals(List.of("id", "paths"), route.get("required"));
        assertEquals(List.of("paths"), body.get("required"));
        assertEquals(route.get("properties"), body.get("properties"));
        assertFalse(map(schemas.get("ConsumerBody"), "ConsumerBody").containsKey("required"),
                "a consumer requires only its id");
    }

    @Test
    void theHandWrittenPartDefinesNoGeneratedComponent() throws IOException {
        Map<String, Object> hand = map(map(handWritten().get("components"), "components").get("schemas"), "schemas");
        Map<String, Object> served = map(map(load().get("components"), "components").get("schemas"), "schemas");
        for (String name : served.keySet()) {
            if (!hand.containsKey(name)) {
                assertTrue(name.equals(OpenApiDocument.DOCUMENT) || OpenApiDocument.configSchema().path("$defs")
                        .has(defOf(name)), name + " is neither hand-written nor generated");
            }
        }
        var doc = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
        doc.putObject("components").putObject("schemas").putObject("Route").put("type", "object");
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> OpenApiDocument.derive(doc, OpenApiDocument.configSchema()));
        assertTrue(e.getMessage().contains("Route"), e.getMessage());
    }

    private static String defOf(String component) {
        String name = component.endsWith(OpenApiDocument.BODY_SUFFIX)
                ? component.substring(0, component.length() - OpenApiDocument.BODY_SUFFIX.length()) : component;
        return name.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toLowerCase(java.util.Locale.ROOT);
    }

    private static Set<String> fieldNames(JsonNode object) {
        Set<String> names = new java.util.LinkedHashSet<>();
        object.fieldNames().forEachRemaining(names::add);
        return names;
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
