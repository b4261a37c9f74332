package io.sluice.registry.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.HttpRules;
import io.helidon.webserver.http.HttpService;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import io.sluice.registry.admin.AdminAuth.Principal;
import io.sluice.registry.admin.Registry.Change;
import io.sluice.registry.admin.Registry.Committed;
import io.sluice.registry.config.ConfigException;
import io.sluice.registry.config.Problem;
import io.sluice.registry.config.SecretFields;
import io.sluice.registry.config.SourceTree;
import io.sluice.registry.model.EntityChange;
import io.sluice.registry.model.EntityKind;
import io.sluice.registry.model.EntitySet;
import io.sluice.registry.store.AuditEntry;
import io.sluice.registry.store.ConfigVersion;
import io.sluice.registry.store.FilterRecord;
import io.sluice.registry.store.Store;
import io.sluice.registry.store.StoreUnavailableException;
import io.sluice.registry.store.TokenRecord;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.Yaml;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The admin API ({@code /v1/**}) on the admin listener. Every request is authenticated by bearer token and
 * checked against its role; every change, and every refused request, is written to the audit log (refusals of
 * unauthenticated callers folded per source and minute, see {@link AuditLog}). Reads by roles other than
 * {@code platform} show plugin secrets as {@value SecretFields#REDACTED} (see {@link Redaction}). Writes go
 * through {@link Registry}, which validates the whole resulting config before committing a new version.
 * The contract is ADMIN-API.md; the details are in {@code openapi.yaml}, served at {@code /openapi.yaml} with its
 * schema components generated from the config schema (see {@link OpenApiDocument}).
 */
public final class AdminApi implements HttpService {
    private static final Logger LOG = Logger.getLogger(AdminApi.class.getName());
    private static final ObjectMapper MAPPER = Registry.mapper();
    private static final String JSON = "application/json";
    /** Response header carrying the config version a write created. */
    public static final String VERSION_HEADER = "Sluice-Config-Version";

    /** What an endpoint needs. */
    enum Need {
        READ, READ_TOKENS, WRITE_CONFIG, WRITE_FILTERS, WRITE_TOKENS
    }

    private static final Map<Role, Set<Need>> GRANTS = Map.of(
            Role.PLATFORM, EnumSet.allOf(Need.class),
            Role.DEVELOPER, EnumSet.of(Need.READ, Need.WRITE_FILTERS),
            Role.AUDITOR, EnumSet.of(Need.READ, Need.READ_TOKENS));

    private final Registry registry;
    private final AdminAuth auth;
    private final Store store;

    /**
     * @param registry config logic
     * @param auth     token checks
     */
    public AdminApi(Registry registry, AdminAuth auth) {
        this(registry, auth, Optional.empty());
    }

    /**
     * @param registry  config logic
     * @param auth      token checks
     * @param artifacts the runtime's inspector of uploaded filters (empty: uploads refused)
     */
    public AdminApi(Registry registry, AdminAuth auth, Optional<FilterArtifacts> artifacts) {
        this(registry, auth, artifacts, AuditLog.start(registry.store(), AuditLog.Retention.DEFAULT));
    }

    /**
     * @param registry  config logic
     * @param auth      token checks
     * @param artifacts the runtime's inspector of uploaded filters (empty: uploads refused)
     * @param auditLog  where audit rows go (the caller closes it, flushing folded rows)
     */
    public AdminApi(Registry registry, AdminAuth auth, Optional<FilterArtifacts> artifacts, AuditLog auditLog) {
        this.registry = registry;
        this.auth = auth;
        this.store = registry.store();
        this.artifacts = artifacts;
        this.auditLog = auditLog;
    }

    private final AuditLog auditLog;

    private final Optional<FilterArtifacts> artifacts;
    /** Largest artifact accepted. */
    static final int MAX_ARTIFACT_BYTES = 4 * 1024 * 1024;

    /**
     * One admin endpoint: the routing table's row.
     *
     * @param method   HTTP method
     * @param path     path pattern ({@code {name}} segments)
     * @param need     what the caller's role must grant
     * @param endpoint the handler
     */
    record Op(String method, String path, Need need, Endpoint endpoint) {
    }

    /**
     * A documented endpoint: what tests and the OpenAPI check enumerate.
     *
     * @param method HTTP method
     * @param path   path pattern
     * @param roles  the roles allowed to call it
     */
    public record EndpointInfo(String method, String path, Set<Role> roles) {
    }

    /** The routing table: every {@code /v1} endpoint, in registration order. */
    private List<Op> table() {
        List<Op> ops = new ArrayList<>();
        for (EntityKind k : EntityKind.values()) {
            k.resource().ifPresent(r -> {
                String base = "/v1/" + r;
                ops.add(new Op("GET", base, Need.READ, call -> listEntities(k, call)));
                ops.add(new Op("GET", base + "/{id}", Need.READ, call -> getEntity(k, call)));
                ops.add(new Op("PUT", base + "/{id}", Need.WRITE_CONFIG, call -> putEntity(k, call)));
                ops.add(new Op("DELETE", base + "/{id}", Need.WRITE_CONFIG, call -> deleteEntity(k, call)));
            });
        }
        ops.addAll(List.of(
                new Op("POST", "/v1/upstreams/{id}/targets", Need.WRITE_CONFIG, this::addTarget),
                new Op("DELETE", "/v1/upstreams/{id}/targets", Need.WRITE_CONFIG, this::removeTarget),
                new Op("GET", "/v1/upstreams/{id}/health", Need.READ, this::upstreamHealth),
                new Op("GET", "/v1/global-plugins", Need.READ, this::getGlobalPlugins),
                new Op("PUT", "/v1/global-plugins", Need.WRITE_CONFIG, this::putGlobalPlugins),
                new Op("GET", "/v1/consumers", Need.READ, this::listConsumers),
                new Op("GET", "/v1/consumers/{id}", Need.READ, this::getConsumer),
                new Op("PUT", "/v1/consumers/{id}", Need.WRITE_CONFIG, this::putConsumer),
                new Op("DELETE", "/v1/consumers/{id}", Need.WRITE_CONFIG, this::deleteConsumer),
                new Op("POST", "/v1/consumers/{id}/api-keys", Need.WRITE_CONFIG, this::addApiKey),
                new Op("DELETE", "/v1/consumers/{id}/api-keys/{key}", Need.WRITE_CONFIG, this::deleteApiKey),
                new Op("GET", "/v1/filters", Need.READ, this::listFilters),
                new Op("POST", "/v1/filters", Need.WRITE_FILTERS, this::uploadFilter),
                new Op("POST", "/v1/filters/{name}/versions/{version}/enable", Need.WRITE_FILTERS, this::enableFilter),
                new Op("GET", "/v1/filters/{name}", Need.READ, this::getFilter),
                new Op("GET", "/v1/filters/{name}/versions/{version}", Need.READ, this::getFilterVersion),
                new Op("DELETE", "/v1/filters/{name}/versions/{version}", Need.WRITE_FILTERS, this::deleteFilter),
                new Op("GET", "/v1/config", Need.READ, this::getConfig),
                new Op("GET", "/v1/config/versions", Need.READ, this::listVersions),
                new Op("GET", "/v1/config/versions/{version}", Need.READ, this::getVersion),
                new Op("POST", "/v1/config/rollback", Need.WRITE_CONFIG, this::rollback),
                new Op("GET", "/v1/config/export", Need.READ, this::export),
                new Op("POST", "/v1/config/import", Need.WRITE_CONFIG, this::importConfig),
                new Op("GET", "/v1/tokens", Need.READ_TOKENS, this::listTokens),
                new Op("POST", "/v1/tokens", Need.WRITE_TOKENS, this::createToken),
                new Op("DELETE", "/v1/tokens/{id}", Need.WRITE_TOKENS, this::revokeToken),
                new Op("GET", "/v1/audit", Need.READ, this::listAudit)));
        return ops;
    }

    /**
     * Every {@code /v1} endpoint this API serves, with the roles allowed to call it: the routing table itself, so
     * tests and documentation checks enumerate it instead of keeping their own lists.
     *
     * @return endpoints in registration order
     */
    public List<EndpointInfo> endpoints() {
        return table().stream().map(o -> new EndpointInfo(o.method(), o.path(), rolesFor(o.need()))).toList();
    }

    private static Set<Role> rolesFor(Need need) {
        Set<Role> roles = EnumSet.noneOf(Role.class);
        GRANTS.forEach((role, needs) -> {
            if (needs.contains(need)) {
                roles.add(role);
            }
        });
        return roles;
    }

    @Override
    public void routing(HttpRules rules) {
        rules.get("/openapi.yaml", (req, res) -> {
            res.header(HeaderNames.CONTENT_TYPE, "application/yaml");
            res.send(openApi());
        });
        for (Op op : table()) {
            io.helidon.webserver.http.Handler h = handler(op.need(), op.endpoint());
            switch (op.method()) {
                case "GET" -> rules.get(op.path(), h);
                case "PUT" -> rules.put(op.path(), h);
                case "POST" -> rules.post(op.path(), h);
                case "DELETE" -> rules.delete(op.path(), h);
                default -> throw new IllegalStateException("method " + op.method());
            }
        }
        rules
                // unknown endpoints still need a token, and are audited like the rest
                .any("/v1/*", handler(Need.READ, call -> {
                    throw new ApiError(404, "not_found", "no admin endpoint "
                            + call.req().prologue().method().text() + " " + call.req().path().path());
                }));
    }

    // ---- plumbing

    /** A parsed request with its caller. */
    record Call(ServerRequest req, Principal who) {
        String param(String name) {
            return req.path().pathParameters().get(name);
        }

        Optional<String> query(String name) {
            return req.query().first(name).asOptional();
        }

        String bodyText() {
            try (InputStream in = req.content().inputStream()) {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        JsonNode bodyJson() {
            String text = bodyText();
            if (text.isBlank()) {
                throw new ApiError(400, "invalid_json", "the request needs a JSON body");
            }
            try {
                return MAPPER.readTree(text);
            } catch (JsonProcessingException e) {
                // a broken limit (nesting depth, number or string length) has no location
                com.fasterxml.jackson.core.JsonLocation at = e.getLocation();
                throw new ApiError(400, "invalid_json", "body is not JSON: " + e.getOriginalMessage()
                        + (at == null ? "" : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")"));
            }
        }

        ObjectNode bodyObject() {
            JsonNode n = bodyJson();
            if (n instanceof ObjectNode o) {
                return o;
            }
            throw new ApiError(400, "invalid_json", "the body must be a JSON object");
        }
    }

    /** What an endpoint answers. */
    record Reply(int status, String contentType, String body, Optional<Long> version, String summary) {
        // summary: what the audit log says (the change, or "error_code: message")
        static Reply json(int status, JsonNode body) {
            return new Reply(status, JSON, body.toString(), Optional.empty(), "");
        }

        static Reply committed(int status, JsonNode body, Committed c) {
            if (c.version() == null) {
                return new Reply(status, JSON, body.toString(), Optional.empty(), "no change");
            }
            return new Reply(status, JSON, body.toString(), Optional.of(c.version().version()),
                    c.version().summary());
        }

        static Reply noContent(Committed c) {
            if (c.version() == null) {
                return new Reply(204, JSON, "", Optional.empty(), "no change");
            }
            return new Reply(204, JSON, "", Optional.of(c.version().version()), c.version().summary());
        }
    }

    @FunctionalInterface
    interface Endpoint {
        Reply handle(Call call);
    }

    private io.helidon.webserver.http.Handler handler(Need need, Endpoint endpoint) {
        return (req, res) -> {
            String action = req.prologue().method().text() + " " + req.path().path();
            boolean write = !"GET".equals(req.prologue().method().text());
            Principal who = null;
            Reply reply;
            Optional<String> authorization = req.headers().first(HeaderNames.AUTHORIZATION);
            try {
                who = auth.authenticate(authorization);
                if (!GRANTS.get(who.role()).contains(need)) {
                    throw new ApiError(403, "forbidden", "role " + who.role().wire() + " may not " + action);
                }
                reply = endpoint.handle(new Call(req, who));
            } catch (ApiError e) {
                reply = error(e);
            } catch (StoreUnavailableException e) {
                LOG.log(Level.WARNING, "admin request failed: store unavailable: " + e.getMessage());
                reply = error(new ApiError(503, "store_unavailable",
                        "the config store is unavailable; nothing was changed; try again later"));
            } catch (RuntimeException e) {
                LOG.log(Level.SEVERE, "admin request failed: " + action, e);
                reply = error(new ApiError(500, "internal_error", "unexpected error; see the gateway log"));
            }
            Optional<java.net.InetAddress> source = sourceOf(req);
            if (reply.status() == 401) {
                // anyone can cause these: counted per source and minute, not written one by one
                auditLog.refused(source, authorization.isPresent(), action, reply.summary());
            } else if (write || reply.status() == 403) {
                audit(who, action, reply, source);
            }
            if (reply.status() == 401) {
                res.header(HeaderNames.WWW_AUTHENTICATE, "Bearer realm=\"sluice-admin\"");
            }
            if (reply.status() == 503) {
                res.header(HeaderNames.RETRY_AFTER, "5");
            }
            reply.version().ifPresent(v -> res.header(VERSION_HEADER, Long.toString(v)));
            send(res, reply);
        };
    }

    private void audit(Principal who, String action, Reply reply, Optional<java.net.InetAddress> source) {
        String message = reply.summary().isEmpty() ? "ok" : reply.summary();
        auditLog.write(new AuditEntry(0, Instant.now(), who == null ? "anonymous" : who.name(),
                Optional.ofNullable(who).map(p -> p.role().wire()), action, reply.status(), reply.version(),
                message, source.map(AuditLog::sourceOf), 1));
    }

    private static Optional<java.net.InetAddress> sourceOf(ServerRequest req) {
        try {
            return req.remotePeer().address() instanceof java.net.InetSocketAddress a && a.getAddress() != null
                    ? Optional.of(a.getAddress()) : Optional.empty();
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    /**
     * What a caller may see of a document: everything for platform, secrets redacted for the others; certificate
     * keys for nobody.
     */
    private ObjectNode shown(Call call, ObjectNode doc) {
        ObjectNode out = Redaction.withoutCertificateKeys(doc);
        return call.who().role() == Role.PLATFORM ? out : Redaction.document(out, registry.catalog());
    }

    private static void send(ServerResponse res, Reply reply) {
        res.status(Status.create(reply.status()));
        if (reply.status() == 204) {
            res.send();
            return;
        }
        res.header(HeaderNames.CONTENT_TYPE, reply.contentType());
        res.send(reply.body().getBytes(StandardCharsets.UTF_8));
    }

    static Reply error(ApiError e) {
        ObjectNode body = MAPPER.createObjectNode();
        body.put("error", e.code());
        body.put("message", e.getMessage());
        if (!e.details().isEmpty()) {
            ArrayNode details = body.putArray("details");
            for (Problem p : e.details()) {
                ObjectNode d = details.addObject();
                d.put("path", p.path());
                d.put("message", p.message());
                if (p.line() > 0) {
                    d.put("line", p.line());
                }
            }
        }
        return new Reply(e.status(), JSON, body.toString(), Optional.empty(), e.code() + ": " + e.getMessage());
    }

    private static ApiError notFound(String what) {
        return new ApiError(404, "not_found", what + " does not exist");
    }

    // ---- documents of some entities

    private static ObjectNode section(EntityKind kind, List<JsonNode> elements) {
        ObjectNode doc = MAPPER.createObjectNode();
        ArrayNode arr = doc.putArray(kind.field());
        elements.forEach(arr::add);
        return doc;
    }

    // ---- entities with a generic resource (routes, and the kinds that come next)

    private Reply listEntities(EntityKind kind, Call call) {
        ObjectNode body = registry.read(v -> {
            ObjectNode b = MAPPER.createObjectNode();
            b.put("version", v.version());
            List<JsonNode> all = new ArrayList<>();
            v.entities().all(kind).keySet().forEach(id -> all.add(v.entities().element(kind, id)));
            b.set(kind.field(), shown(call, section(kind, all)).get(kind.field()));
            return b;
        });
        return Reply.json(200, body);
    }

    private Reply getEntity(EntityKind kind, Call call) {
        String id = call.param("id");
        ObjectNode entity = registry.read(v -> v.entities().element(kind, id));
        if (entity == null) {
            throw notFound(kind.wire() + " " + id);
        }
        return Reply.json(200, shown(call, section(kind, List.of(entity))).get(kind.field()).get(0));
    }

    private Reply putEntity(EntityKind kind, Call call) {
        String id = call.param("id");
        ObjectNode body = call.bodyObject();
        JsonNode bodyId = body.get("id");
        if (bodyId != null && !id.equals(bodyId.asText())) {
            throw new ApiError(400, "invalid_config", "the body's id differs from the path's",
                    List.of(new Problem("id", 0, "must equal '" + id + "' (the id in the path)")));
        }
        ObjectNode stored = withId(id, body);
        boolean[] created = new boolean[1];
        Committed c = registry.change(call.who().name(), call.who().role(), "put " + kind.wire() + " " + id, m -> {
            created[0] = m.get(kind, id) == null;
            return registry.set(m, kind, id, stored);
        }, path -> relativeTo(path, kind.field() + "[0]"));
        JsonNode shown = c.entityChanges().isEmpty() ? stored : EntitySet.tree(c.entityChanges().getFirst().after());
        return Reply.committed(created[0] ? 201 : 200, shown, c);
    }

    private static ObjectNode withId(String id, ObjectNode body) {
        ObjectNode stored = MAPPER.createObjectNode();
        stored.put("id", id);
        body.properties().forEach(e -> {
            if (!e.getKey().equals("id")) {
                stored.set(e.getKey(), e.getValue());
            }
        });
        return stored;
    }

    private Reply deleteEntity(EntityKind kind, Call call) {
        String id = call.param("id");
        Committed c = registry.change(call.who().name(), call.who().role(), "delete " + kind.wire() + " " + id, m -> {
            if (m.get(kind, id) == null) {
                throw notFound(kind.wire() + " " + id);
            }
            return registry.set(m, kind, id, null);
        }, p -> p);
        return Reply.noContent(c);
    }

    // ---- upstream targets and health

    /** Registers a target (or changes its weight): one entity write, the rest of the upstream untouched. */
    private Reply addTarget(Call call) {
        String id = call.param("id");
        ObjectNode body = call.bodyObject();
        JsonNode url = body.get("url");
        if (url == null || !url.isTextual()) {
            throw new ApiError(400, "invalid_config", "the body must be {\"url\": \"http://host:port\", \"weight\": 100}",
                    List.of(new Problem("url", 0, "required: the target's URL")));
        }
        for (String field : (Iterable<String>) body::fieldNames) {
            if (!field.equals("url") && !field.equals("weight")) {
                throw new ApiError(400, "invalid_config", "unknown field '" + field + "'",
                        List.of(new Problem(field, 0, "not allowed: a target has url and weight")));
            }
        }
        boolean[] created = new boolean[1];
        Committed c = registry.change(call.who().name(), call.who().role(), "register target " + url.asText()
                + " of upstream " + id, m -> {
            ObjectNode upstream = upstreamOf(m, id);
            ArrayNode targets = upstream.withArray("targets");
            int at = indexOfTarget(targets, url.asText());
            created[0] = at < 0;
            ObjectNode target = MAPPER.createObjectNode().put("url", url.asText());
            if (body.has("weight")) {
                target.set("weight", body.get("weight"));
            }
            if (at < 0) {
                targets.add(target);
            } else {
                targets.set(at, target);
            }
            return registry.set(m, EntityKind.UPSTREAM, id, upstream);
        }, path -> path.equals("upstreams[0].targets") ? "weight"   // no target left with a weight above 0
                : path.replaceFirst("^upstreams\\[0]\\.targets\\[\\d+]\\.?", "")   // the body's fields
                        .replaceFirst("^upstreams\\[0]\\.", ""));   // the upstream's own (an https target's tls)
        return Reply.committed(created[0] ? 201 : 200, shownUpstream(call, id), c);
    }

    /** Deregisters a target: {@code DELETE /v1/upstreams/{id}/targets?url=...}. */
    private Reply removeTarget(Call call) {
        String id = call.param("id");
        String url = call.query("url").filter(u -> !u.isBlank()).orElseThrow(() -> new ApiError(400, "invalid_request",
                "say which target: DELETE /v1/upstreams/" + id + "/targets?url=http://host:port"));
        Committed c = registry.change(call.who().name(), call.who().role(), "deregister target " + url
                + " of upstream " + id, m -> {
            ObjectNode upstream = upstreamOf(m, id);
            ArrayNode targets = upstream.withArray("targets");
            int at = indexOfTarget(targets, url);
            if (at < 0) {
                throw notFound("target " + url + " of upstream " + id);
            }
            targets.remove(at);
            return registry.set(m, EntityKind.UPSTREAM, id, upstream);
        }, p -> p);
        return Reply.noContent(c);
    }

    private static ObjectNode upstreamOf(EntitySet m, String id) {
        ObjectNode upstream = m.element(EntityKind.UPSTREAM, id);
        if (upstream == null) {
            throw notFound("upstream " + id);
        }
        return upstream;
    }

    // a target is the same when its URL is, ignoring a trailing slash and the scheme's and host's case
    private static int indexOfTarget(ArrayNode targets, String url) {
        String wanted = sameTarget(url);
        for (int i = 0; i < targets.size(); i++) {
            if (sameTarget(targets.get(i).path("url").asText()).equals(wanted)) {
                return i;
            }
        }
        return -1;
    }

    private static String sameTarget(String url) {
        String u = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
        int slash = u.indexOf('/', u.indexOf("//") + 2);
        return slash < 0 ? u.toLowerCase(java.util.Locale.ROOT)
                : u.substring(0, slash).toLowerCase(java.util.Locale.ROOT) + u.substring(slash);
    }

    private JsonNode shownUpstream(Call call, String id) {
        ObjectNode entity = registry.read(v -> v.entities().element(EntityKind.UPSTREAM, id));
        return shown(call, section(EntityKind.UPSTREAM, List.of(entity))).get(EntityKind.UPSTREAM.field()).get(0);
    }

    private volatile java.util.function.Function<String, Optional<JsonNode>> upstreamHealth;

    /**
     * Where {@code GET /v1/upstreams/{id}/health} reads from: the data plane in this process. Health is judged
     * per data plane (like Envoy's), so a control plane without a proxy has none to show.
     *
     * @param source the upstream's per-target health by id, empty when this data plane does not use it
     */
    public void upstreamHealth(java.util.function.Function<String, Optional<JsonNode>> source) {
        this.upstreamHealth = source;
    }

    private Reply upstreamHealth(Call call) {
        String id = call.param("id");
        if (registry.read(v -> v.entities().get(EntityKind.UPSTREAM, id)) == null) {
            throw notFound("upstream " + id);
        }
        java.util.function.Function<String, Optional<JsonNode>> source = upstreamHealth;
        if (source == null) {
            throw new ApiError(409, "no_data_plane", "health is judged by each data plane; this node is a control "
                    + "plane only: ask a data plane's admin port, GET /upstreams/" + id + "/health");
        }
        return Reply.json(200, source.apply(id).orElseGet(() -> MAPPER.createObjectNode().put("id", id)
                .put("version", registry.version()).put("note", "no route uses this upstream yet")
                .set("targets", MAPPER.createArrayNode())));
    }

    // rewrites "routes[0].plugins[0].name" to "plugins[0].name": problems of one changed entity
    private static String relativeTo(String path, String prefix) {
        if (path.equals(prefix)) {
            return "";
        }
        if (path.startsWith(prefix + ".")) {
            return path.substring(prefix.length() + 1);
        }
        return path;
    }

    // ---- global plugins

    private Reply getGlobalPlugins(Call call) {
        ObjectNode body = MAPPER.createObjectNode();
        ObjectNode doc = MAPPER.createObjectNode();
        String stored = registry.read(v -> v.entities().get(EntityKind.GLOBAL_PLUGINS, EntityKind.SINGLE));
        doc.set("global_plugins", stored == null ? MAPPER.createArrayNode() : EntitySet.tree(stored));
        body.set("plugins", shown(call, doc).get("global_plugins"));
        return Reply.json(200, body);
    }

    private Reply putGlobalPlugins(Call call) {
        ObjectNode body = call.bodyObject();
        JsonNode plugins = body.get("plugins");
        if (!(plugins instanceof ArrayNode) || body.size() != 1) {
            throw new ApiError(400, "invalid_config", "the body must be {\"plugins\": [...]}",
                    List.of(new Problem("plugins", 0, "required: an array of plugin entries")));
        }
        Committed c = registry.change(call.who().name(), call.who().role(), "put global plugins",
                m -> registry.set(m, EntityKind.GLOBAL_PLUGINS, EntityKind.SINGLE, plugins.isEmpty() ? null : plugins),
                p -> p.startsWith("global_plugins") ? "plugins" + p.substring(14) : p);
        return Reply.committed(200, body, c);
    }

    // ---- consumers

    private static ObjectNode publicConsumer(JsonNode c) {
        ObjectNode out = MAPPER.createObjectNode();
        out.put("id", c.path("id").asText());
        out.set("tags", c.has("tags") ? c.get("tags") : MAPPER.createArrayNode());
        ArrayNode keys = out.putArray("api_keys");
        c.path("api_keys").forEach(k -> keys.addObject().put("id", k.path("id").asText()));
        return out;
    }

    private Reply listConsumers(Call call) {
        ObjectNode body = registry.read(v -> {
            ObjectNode b = MAPPER.createObjectNode();
            ArrayNode out = b.putArray("consumers");
            v.entities().all(EntityKind.CONSUMER).keySet()
                    .forEach(id -> out.add(publicConsumer(v.entities().element(EntityKind.CONSUMER, id))));
            return b;
        });
        return Reply.json(200, body);
    }

    private Reply getConsumer(Call call) {
        String id = call.param("id");
        ObjectNode c = registry.read(v -> v.entities().element(EntityKind.CONSUMER, id));
        if (c == null) {
            throw notFound("consumer " + id);
        }
        return Reply.json(200, publicConsumer(c));
    }

    private Reply putConsumer(Call call) {
        String id = call.param("id");
        ObjectNode body = call.bodyObject();
        if (body.has("api_keys")) {
            throw new ApiError(400, "invalid_config", "API keys are created with POST /v1/consumers/{id}/api-keys",
                    List.of(new Problem("api_keys", 0, "not allowed here")));
        }
        if (body.has("id") && !id.equals(body.get("id").asText())) {
            throw new ApiError(400, "invalid_config", "the body's id differs from the path's",
                    List.of(new Problem("id", 0, "must equal '" + id + "' (the id in the path)")));
        }
        ObjectNode stored = withId(id, body);
        boolean[] created = new boolean[1];
        ObjectNode[] result = new ObjectNode[1];
        Committed c = registry.change(call.who().name(), call.who().role(), "put consumer " + id, m -> {
            created[0] = m.get(EntityKind.CONSUMER, id) == null;
            List<EntityChange> changes = registry.set(m, EntityKind.CONSUMER, id, stored);
            result[0] = stored.deepCopy();
            ArrayNode keys = result[0].putArray("api_keys");
            m.keysOf(id).forEach(k -> keys.add(EntitySet.tree(m.get(EntityKind.API_KEY, k))));
            return changes;
        }, path -> relativeTo(path, "consumers[0]"));
        return Reply.committed(created[0] ? 201 : 200, publicConsumer(result[0]), c);
    }

    private Reply deleteConsumer(Call call) {
        String id = call.param("id");
        Committed c = registry.change(call.who().name(), call.who().role(), "delete consumer " + id, m -> {
            if (m.get(EntityKind.CONSUMER, id) == null) {
                throw notFound("consumer " + id);
            }
            List<EntityChange> changes = new ArrayList<>();
            m.keysOf(id).forEach(k -> changes.addAll(registry.set(m, EntityKind.API_KEY, k, null)));
            changes.addAll(registry.set(m, EntityKind.CONSUMER, id, null));
            return changes;
        }, p -> p);
        return Reply.noContent(c);
    }

    private Reply addApiKey(Call call) {
        String id = call.param("id");
        String key = Secrets.generate("sk_");
        String keyId = Secrets.id();
        ObjectNode stored = MAPPER.createObjectNode().put("id", keyId).put("hash", Secrets.hash(key));
        Committed c = registry.change(call.who().name(), call.who().role(), "add api key " + keyId + " to consumer "
                + id, m -> {
                    if (m.get(EntityKind.CONSUMER, id) == null) {
                        throw notFound("consumer " + id);
                    }
                    return registry.set(m, EntityKind.API_KEY, id + "/" + keyId, stored);
                }, p -> p);
        ObjectNode body = MAPPER.createObjectNode();
        body.put("id", keyId);
        body.put("key", key);
        body.put("consumer", id);
        return Reply.committed(201, body, c);
    }

    private Reply deleteApiKey(Call call) {
        String id = call.param("id");
        String keyId = call.param("key");
        Committed c = registry.change(call.who().name(), call.who().role(), "revoke api key " + keyId
                + " of consumer " + id, m -> {
                    if (m.get(EntityKind.CONSUMER, id) == null) {
                        throw notFound("consumer " + id);
                    }
                    if (m.get(EntityKind.API_KEY, id + "/" + keyId) == null) {
                        throw notFound("api key " + keyId);
                    }
                    return registry.set(m, EntityKind.API_KEY, id + "/" + keyId, null);
                }, p -> p);
        return Reply.noContent(c);
    }

    // ---- filters (metadata; uploads arrive with the hot-loading work)

    private static ObjectNode filterJson(FilterRecord f, boolean withSchema) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("name", f.name());
        n.put("version", f.version());
        n.put("kind", f.kind());
        n.put("sha256", f.sha256());
        n.put("created_at", f.createdAt().toString());
        n.put("created_by", f.createdBy());
        if (withSchema) {
            try {
                n.set("schema", MAPPER.readTree(f.schemaJson()));
            } catch (JsonProcessingException e) {
                n.put("schema", f.schemaJson());
            }
        }
        return n;
    }

    private Reply listFilters(Call call) {
        ObjectNode body = MAPPER.createObjectNode();
        ArrayNode out = body.putArray("filters");
        store.filters().forEach(f -> out.add(filterJson(f, false)));
        return Reply.json(200, body);
    }

    private Reply getFilter(Call call) {
        String name = call.param("name");
        List<FilterRecord> versions = store.filters().stream().filter(f -> f.name().equals(name)).toList();
        if (versions.isEmpty()) {
            throw notFound("filter " + name);
        }
        ObjectNode body = MAPPER.createObjectNode();
        body.put("name", name);
        body.put("latest", versions.getLast().version());
        ArrayNode out = body.putArray("versions");
        versions.forEach(f -> out.add(filterJson(f, false)));
        return Reply.json(200, body);
    }

    private Reply getFilterVersion(Call call) {
        FilterRecord f = store.filter(call.param("name"), call.param("version"))
                .orElseThrow(() -> notFound("filter " + call.param("name") + " version " + call.param("version")));
        ObjectNode n = filterJson(f, true);
        n.put("quarantined", artifacts.map(a -> a.quarantined(f.name(), f.version())).orElse(false));
        return Reply.json(200, n);
    }

    private Reply uploadFilter(Call call) {
        FilterArtifacts a = artifacts.orElseThrow(() -> new ApiError(501, "not_supported",
                "this node does not load uploaded filters"));
        String type = call.req().headers().contentType().map(t -> t.mediaType().text().toLowerCase(Locale.ROOT))
                .orElse("");
        byte[] content;
        try (InputStream in = call.req().content().inputStream()) {
            content = in.readNBytes(MAX_ARTIFACT_BYTES + 1);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (content.length > MAX_ARTIFACT_BYTES) {
            throw new ApiError(413, "payload_too_large", "a filter artifact may be at most "
                    + MAX_ARTIFACT_BYTES + " bytes");
        }
        if (content.length == 0) {
            throw new ApiError(400, "invalid_filter", "the request body must be the filter (a JavaScript module)");
        }
        // a jar's code runs with the gateway's rights: a developer's jar must carry a trusted signature, checked
        // before any of its code runs (inspection included)
        Optional<JarTrust.Signer> signer = JarTrust.isJar(type) && call.who().role() == Role.DEVELOPER
                ? Optional.of(JarTrust.admit(content, JarTrust.trusted(registry.read(v -> {
                    ObjectNode d = MAPPER.createObjectNode();
                    String t = v.entities().get(EntityKind.TRUSTED_JAR_SIGNERS, EntityKind.SINGLE);
                    if (t != null) {
                        d.set(JarTrust.FIELD, EntitySet.tree(t));
                    }
                    return d;
                }))))
                : Optional.empty();
        FilterArtifacts.Inspected i;
        try {
            i = a.inspect(type, content);
        } catch (FilterArtifacts.Invalid e) {
            throw new ApiError(400, "invalid_filter", "the filter does not load: " + e.getMessage(), e.problems());
        } catch (FilterArtifacts.InspectionFailed e) {
            throw new ApiError(e.status(), e.code(), e.getMessage());
        }
        boolean uploadedBefore = store.filters().stream().anyMatch(f -> f.name().equals(i.name()));
        if (!uploadedBefore && registry.catalog().describe(i.name(), Optional.empty()).isPresent()) {
            throw new ApiError(409, "conflict", "'" + i.name() + "' is the name of a built-in filter");
        }
        String sha = Secrets.hash(content).substring("sha256:".length());
        FilterRecord r = new FilterRecord(i.name(), i.version(), i.kind(), sha, i.schema(), java.time.Instant.now(),
                call.who().name());
        if (!store.addFilter(r, content)) {
            FilterRecord existing = store.filter(i.name(), i.version()).orElseThrow();
            if (!existing.sha256().equals(sha)) {
                throw new ApiError(409, "conflict", "filter " + i.name() + " " + i.version()
                        + " was uploaded before with different content (sha256 " + existing.sha256()
                        + "); versions are immutable, upload a new version");
            }
            return Reply.json(200, filterJson(existing, true));
        }
        return new Reply(201, JSON, filterJson(r, true).toString(), Optional.empty(),
                "uploaded filter " + i.name() + " " + i.version() + " (" + i.kind() + ", sha256 " + sha
                        + signer.map(x -> ", signed by " + x.label()).orElse("") + ")");
    }

    private Reply enableFilter(Call call) {
        String name = call.param("name");
        String version = call.param("version");
        store.filter(name, version).orElseThrow(() -> notFound("filter " + name + " version " + version));
        boolean was = artifacts.map(a -> a.release(name, version)).orElse(false);
        ObjectNode n = MAPPER.createObjectNode();
        n.put("name", name);
        n.put("version", version);
        n.put("quarantined", false);
        n.put("was_quarantined", was);
        return new Reply(200, JSON, n.toString(), Optional.empty(),
                (was ? "re-enabled quarantined filter " : "enabled filter ") + name + " " + version);
    }

    private Reply deleteFilter(Call call) {
        String name = call.param("name");
        String version = call.param("version");
        store.filter(name, version).orElseThrow(() -> notFound("filter " + name + " version " + version));
        List<String> users = registry.read(v -> usersOf(v.entities(), name, version));
        if (!users.isEmpty()) {
            throw new ApiError(409, "filter_in_use", "filter " + name + " " + version + " is used by "
                    + String.join(", ", users) + "; detach it first");
        }
        store.deleteFilter(name, version);
        return new Reply(204, JSON, "", Optional.empty(), "deleted filter " + name + " " + version);
    }

    private static List<String> usersOf(EntitySet entities, String name, String version) {
        List<String> users = new ArrayList<>();
        String globals = entities.get(EntityKind.GLOBAL_PLUGINS, EntityKind.SINGLE);
        if (globals != null) {
            EntitySet.tree(globals).forEach(p -> {
                if (uses(p, name, version)) {
                    users.add("global_plugins");
                }
            });
        }
        entities.all(EntityKind.ROUTE).forEach((id, body) -> {
            if (body.contains(name)) {   // cheap pre-check before parsing
                EntitySet.tree(body).path("plugins").forEach(p -> {
                    if (uses(p, name, version)) {
                        users.add("route " + id);
                    }
                });
            }
        });
        return users;
    }

    private static boolean uses(JsonNode plugin, String name, String version) {
        return name.equals(plugin.path("name").asText()) && version.equals(plugin.path("version").asText());
    }

    // ---- config versions

    private static ObjectNode versionJson(ConfigVersion v) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("version", v.version());
        n.put("author", v.author());
        n.put("role", v.role());
        n.put("created_at", v.createdAt().toString());
        n.put("summary", v.summary());
        n.put("changes", v.changes());
        return n;
    }

    private Reply getConfig(Call call) {
        ObjectNode body = registry.read(v -> {
            ObjectNode b = MAPPER.createObjectNode();
            b.put("version", v.version());
            if (v.latest() != null) {
                b.put("updated_at", v.latest().createdAt().toString());
                b.put("author", v.latest().author());
                b.put("summary", v.latest().summary());
            } else {
                b.putNull("updated_at");
            }
            return b;
        });
        return Reply.json(200, body);
    }

    private Reply listVersions(Call call) {
        int limit = intQuery(call, "limit", 100, 1, Store.KEPT_VERSIONS);
        ObjectNode body = MAPPER.createObjectNode();
        ArrayNode out = body.putArray("versions");
        store.history(limit).forEach(v -> out.add(versionJson(v)));
        return Reply.json(200, body);
    }

    private Reply getVersion(Call call) {
        long n = parseVersion(call.param("version"), "version");
        ConfigVersion v = store.version(n).orElseThrow(() -> notFound("config version " + n));
        EntitySet at = registry.at(n).orElseThrow(() -> notFound("config version " + n));
        ObjectNode body = versionJson(v);
        body.set("config", shown(call, at.document()));
        return Reply.json(200, body);
    }

    private Reply rollback(Call call) {
        JsonNode target = call.bodyObject().get("version");
        if (target == null || !target.canConvertToLong() || !target.isIntegralNumber() || target.asLong() < 1) {
            throw new ApiError(400, "invalid_request", "the body must be {\"version\": N}",
                    List.of(new Problem("version", 0, "required: a version number ≥ 1")));
        }
        long n = target.asLong();
        Committed c = registry.rollback(n, call.who().name(), call.who().role());
        ObjectNode body = MAPPER.createObjectNode();
        body.put("version", c.version() == null ? registry.version() : c.version().version());
        body.put("rolled_back_to", n);
        body.set("changes", changesJson(c.changes()));
        return Reply.committed(200, body, c);
    }

    private Reply export(Call call) {
        ObjectNode doc = shown(call, registry.document());
        String accept = call.req().headers().first(HeaderNames.ACCEPT).orElse("");
        if (accept.contains("application/json")) {
            return Reply.json(200, doc);
        }
        return new Reply(200, "application/yaml", yaml(doc), Optional.empty(), "");
    }

    /**
     * The document as block-style YAML, the shape {@code --config} reads.
     *
     * @param doc the document
     * @return YAML text
     */
    public static String yaml(JsonNode doc) {
        DumperOptions o = new DumperOptions();
        o.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
        o.setIndent(2);
        o.setIndicatorIndent(0);
        o.setWidth(120);
        Object tree = MAPPER.convertValue(doc, Object.class);
        return new Yaml(o).dump(tree == null ? new LinkedHashMap<>() : tree);
    }

    private Reply importConfig(Call call) {
        boolean dryRun = call.query("dry_run").map(v -> v.equals("true") || v.equals("1")).orElse(false);
        String text = call.bodyText();
        SourceTree tree;
        try {
            tree = SourceTree.parse(text.isBlank() ? "{}" : text);
        } catch (ConfigException e) {
            throw Registry.invalid(e, p -> p);
        }
        if (!(tree.root() instanceof ObjectNode)) {
            throw new ApiError(400, "invalid_config", "the document must be a mapping with routes, "
                    + "global_plugins and consumers");
        }
        // the whole document is validated against the uploaded text, so details carry its line numbers
        if (dryRun) {
            List<EntityChange> changes;
            try {
                changes = registry.validateImport(tree);
            } catch (ConfigException e) {
                throw Registry.invalid(e, p -> p);
            }
            ObjectNode body = MAPPER.createObjectNode();
            body.put("dry_run", true);
            body.put("valid", true);
            body.put("base_version", registry.version());
            body.set("changes", changesJson(Registry.publicChanges(changes)));
            return Reply.json(200, body);
        }
        Committed c = registry.importDocument(tree, call.who().name(), call.who().role(), "import");
        ObjectNode body = MAPPER.createObjectNode();
        body.put("version", c.version() == null ? registry.version() : c.version().version());
        body.set("changes", changesJson(c.changes()));
        if (c.version() == null) {
            return new Reply(200, JSON, body.toString(), Optional.empty(), "import: no changes");
        }
        return Reply.committed(200, body, c);
    }

    private static ArrayNode changesJson(List<Change> changes) {
        ArrayNode out = MAPPER.createArrayNode();
        changes.forEach(ch -> out.addObject().put("kind", ch.kind()).put("id", ch.id()).put("change", ch.change()));
        return out;
    }

    // ---- tokens

    private static ObjectNode tokenJson(TokenRecord t) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("id", t.id());
        n.put("name", t.name());
        n.put("role", t.role());
        n.put("created_at", t.createdAt().toString());
        n.put("created_by", t.createdBy());
        return n;
    }

    private Reply listTokens(Call call) {
        ObjectNode body = MAPPER.createObjectNode();
        ArrayNode out = body.putArray("tokens");
        store.tokens().forEach(t -> out.add(tokenJson(t)));
        return Reply.json(200, body);
    }

    private Reply createToken(Call call) {
        ObjectNode body = call.bodyObject();
        List<Problem> problems = new ArrayList<>();
        String name = body.path("name").asText("");
        if (!name.matches("[A-Za-z0-9][A-Za-z0-9 ._@-]{0,99}")) {
            problems.add(new Problem("name", 0, "required: 1-100 letters, digits, space, . _ @ -"));
        }
        Optional<Role> role = Role.parse(body.path("role").asText(""));
        if (role.isEmpty()) {
            problems.add(new Problem("role", 0, "must be one of platform, developer, auditor"));
        }
        body.fieldNames().forEachRemaining(f -> {
            if (!f.equals("name") && !f.equals("role")) {
                problems.add(new Problem(f, 0, "unknown field"));
            }
        });
        if (!problems.isEmpty()) {
            throw new ApiError(400, "invalid_request", "a token needs a name and a role", problems);
        }
        AdminAuth.NewToken t = auth.create(name, role.get(), call.who().name());
        ObjectNode out = tokenJson(t.record());
        out.put("token", t.token());
        return new Reply(201, JSON, out.toString(), Optional.empty(), "created " + role.get().wire() + " token "
                + t.record().id() + " (" + name + ")");
    }

    private Reply revokeToken(Call call) {
        String id = call.param("id");
        TokenRecord t = store.tokens().stream().filter(x -> x.id().equals(id)).findFirst()
                .orElseThrow(() -> notFound("token " + id));
        if (t.role().equals(Role.PLATFORM.wire()) && !auth.hasEnvToken()
                && store.tokens().stream().filter(x -> x.role().equals(Role.PLATFORM.wire())).count() == 1) {
            throw new ApiError(409, "last_platform_token", "token " + id + " is the only platform token; create"
                    + " another one first (or set SLUICE_ADMIN_TOKEN)");
        }
        store.deleteToken(id);
        return new Reply(204, JSON, "", Optional.empty(), "revoked token " + id + " (" + t.name() + ")");
    }

    // ---- audit

    private Reply listAudit(Call call) {
        int limit = intQuery(call, "limit", 100, 1, 1000);
        long before = call.query("before").map(b -> parseVersion(b, "before")).orElse(Long.MAX_VALUE);
        ObjectNode body = MAPPER.createObjectNode();
        ArrayNode out = body.putArray("entries");
        List<AuditEntry> entries = new ArrayList<>();
        if (call.query("before").isEmpty()) {
            // folded refusals of the current minute, not written yet: shown so a flood is visible while it lasts
            entries.addAll(auditLog.pending().stream().limit(limit).toList());
        }
        entries.addAll(store.audit(limit - entries.size(), before));
        for (AuditEntry e : entries) {
            ObjectNode n = out.addObject();
            if (e.id() == 0) {
                n.putNull("id");
                n.put("pending", true);
            } else {
                n.put("id", e.id());
            }
            n.put("at", e.at().toString());
            n.put("actor", e.actor());
            if (e.role().isPresent()) {
                n.put("role", e.role().get());
            } else {
                n.putNull("role");
            }
            n.put("action", e.action());
            n.put("status", e.status());
            if (e.configVersion().isPresent()) {
                n.put("config_version", e.configVersion().get());
            } else {
                n.putNull("config_version");
            }
            n.put("message", e.message());
            if (e.source().isPresent()) {
                n.put("source", e.source().get());
            } else {
                n.putNull("source");
            }
            n.put("count", e.count());
        }
        return Reply.json(200, body);
    }

    // ---- helpers

    private static int intQuery(Call call, String name, int dflt, int min, int max) {
        Optional<String> v = call.query(name);
        if (v.isEmpty()) {
            return dflt;
        }
        try {
            int n = Integer.parseInt(v.get());
            if (n < min || n > max) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new ApiError(400, "invalid_request", name + " must be a number " + min + "-" + max,
                    List.of(new Problem(name, 0, "must be a number " + min + "-" + max)));
        }
    }

    private static long parseVersion(String s, String field) {
        try {
            long n = Long.parseLong(s);
            if (n < 0) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new ApiError(400, "invalid_request", field + " must be a non-negative number",
                    List.of(new Problem(field, 0, "must be a non-negative number")));
        }
    }

    // openapi.yaml with components.schemas generated from the config schema (see OpenApiDocument)
    private static String openApi() {
        return OpenApiDocument.yaml();
    }
}
