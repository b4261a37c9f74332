package io.sluice.registry.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import io.sluice.plugin.FilterDescriptor;
import io.sluice.registry.config.GatewayConfig.AggregateSpec;
import io.sluice.registry.config.GatewayConfig.ApiKeySpec;
import io.sluice.registry.config.GatewayConfig.CallSpec;
import io.sluice.registry.config.GatewayConfig.ConsumerSpec;
import io.sluice.registry.config.GatewayConfig.OnError;
import io.sluice.registry.config.GatewayConfig.PluginEntry;
import io.sluice.registry.config.GatewayConfig.RouteSpec;
import io.sluice.registry.config.GatewayConfig.Target;
import io.sluice.registry.config.GatewayConfig.UpstreamRef;
import io.sluice.registry.config.GatewayConfig.UpstreamSpec;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Turns YAML/JSON text into a validated {@link GatewayConfig}, or every problem with its field path and line.
 * Checks, in order: syntax, the document schema, path patterns, known plugins, each plugin's config against
 * that plugin's own JSON schema, duplicate ids and conflicting routes. Runs on the write path only, never per
 * request.
 */
public final class ConfigParser {
    /** Default TCP connect timeout. */
    public static final int DEFAULT_CONNECT_TIMEOUT_MS = 2_000;
    /** Default response timeout. */
    public static final int DEFAULT_TIMEOUT_MS = 30_000;
    /** Default whole-call timeout of an aggregate call. */
    public static final int DEFAULT_CALL_TIMEOUT_MS = 1_000;
    /** Default limit of one aggregate call's response body. */
    public static final int DEFAULT_CALL_MAX_BODY_BYTES = 1024 * 1024;
    /** The merged body's key for the failed calls' errors; no call may take it. */
    public static final String ERRORS_KEY = "errors";

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final JsonSchemaFactory SCHEMAS = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012);
    private static final JsonSchema DOCUMENT_SCHEMA = loadDocumentSchema();

    private final PluginCatalog catalog;
    // compiled plugin schemas, keyed by name@version (a name+version's schema never changes)
    private final Map<String, JsonSchema> pluginSchemas = new ConcurrentHashMap<>();

    /**
     * @param catalog the plugins configs may use
     */
    public ConfigParser(PluginCatalog catalog) {
        this.catalog = catalog;
    }

    /**
     * Parses and validates.
     *
     * @param text YAML or JSON
     * @return the config
     * @throws ConfigException with every problem found
     */
    public GatewayConfig parse(String text) throws ConfigException {
        return parse(SourceTree.parse(text));
    }

    /**
     * Validates an already parsed tree.
     *
     * @param tree the document
     * @return the config
     * @throws ConfigException with every problem found
     */
    public GatewayConfig parse(SourceTree tree) throws ConfigException {
        List<Problem> problems = new ArrayList<>();
        for (ValidationMessage m : DOCUMENT_SCHEMA.validate(tree.root())) {
            problems.add(toProblem(tree, "", m));
        }
        if (!problems.isEmpty()) {
            throw sorted(problems);
        }
        JsonNode root = tree.root();
        List<PluginEntry> globals = plugins(tree, root.path("global_plugins"), "global_plugins", problems);
        List<RouteSpec> routes = new ArrayList<>();
        JsonNode routesNode = root.path("routes");
        for (int i = 0; i < routesNode.size(); i++) {
            routes.add(route(tree, routesNode.get(i), "routes[" + i + "]", problems));
        }
        checkConflicts(tree, routes, problems);
        List<ConsumerSpec> consumers = consumers(tree, root.path("consumers"), problems);
        GatewayConfig.Settings settings = settings(tree, root.path("settings"), problems);
        List<UpstreamSpec> upstreams = upstreamEntities(tree, root.path("upstreams"), problems);
        checkReferences(tree, routes, upstreams, problems);
        List<GatewayConfig.CertificateSpec> certificates = certificates(tree, root.path("certificates"), problems);
        if (!problems.isEmpty()) {
            throw sorted(problems);
        }
        return new GatewayConfig(List.copyOf(globals), List.copyOf(routes), consumers, settings, upstreams,
                certificates);
    }

    /**
     * The TLS listener's certificates: each chain parses, its key matches the leaf, ids are unique, and a server
     * name belongs to one certificate only. An expired certificate is accepted (it may have been stored before it
     * expired; the expiry shows in {@code /metrics} and the log).
     */
    private static List<GatewayConfig.CertificateSpec> certificates(SourceTree tree, JsonNode list,
                                                                    List<Problem> problems) {
        List<GatewayConfig.CertificateSpec> out = new ArrayList<>();
        Map<String, Integer> ids = new HashMap<>();
        Map<String, String> owners = new HashMap<>();
        for (int i = 0; i < list.size(); i++) {
            JsonNode c = list.get(i);
            String at = "certificates[" + i + "]";
            String id = c.get("id").asText();
            Integer prev = ids.putIfAbsent(id, i);
            if (prev != null) {
                problems.add(tree.problem(at + ".id", "duplicate certificate id '" + id + "' (also certificates["
                        + prev + "])").asConflict());
            }
            List<String> snis = new ArrayList<>();
            JsonNode names = c.get("snis");
            for (int j = 0; j < names.size(); j++) {
                String sni = names.get(j).asText().toLowerCase(java.util.Locale.ROOT);
                String owner = owners.putIfAbsent(sni, id);
                if (owner != null && !owner.equals(id)) {
                    problems.add(tree.problem(at + ".snis[" + j + "]", "'" + sni + "' is already served by certificate '"
                            + owner + "'").asConflict());
                }
                snis.add(sni);
            }
            String key = c.get("key").asText();
            if (key.equals(SecretFields.REDACTED)) {
                problems.add(tree.problem(at + ".key", "is the placeholder reads show (" + SecretFields.REDACTED
                        + "): a certificate's key is never returned; send the PEM key again"));
                continue;
            }
            List<java.security.cert.X509Certificate> chain;
            try {
                chain = Pem.certificates("certificate", c.get("cert").asText());
            } catch (IllegalArgumentException e) {
                problems.add(tree.problem(at + ".cert", e.getMessage()));
                continue;
            }
            try {
                java.security.PrivateKey pk = Pem.privateKey("certificate key", key, "certificate",
                        chain.getFirst().getPublicKey());
                out.add(new GatewayConfig.CertificateSpec(id, c.get("cert").asText(), key, List.copyOf(snis),
                        List.copyOf(chain), pk));
            } catch (IllegalArgumentException e) {
                problems.add(tree.problem(at + ".key", e.getMessage()));
            }
        }
        return List.copyOf(out);
    }

    private static GatewayConfig.RouteTls routeTls(SourceTree tree, JsonNode t, String path, List<Problem> problems) {
        if (t == null || t.isMissingNode()) {
            return GatewayConfig.RouteTls.NONE;
        }
        String ca = t.path("client_ca").asText("");
        List<java.security.cert.X509Certificate> cas = List.of();
        if (!ca.isEmpty()) {
            try {
                cas = List.copyOf(Pem.certificates("client_ca", ca));
            } catch (IllegalArgumentException e) {
                problems.add(tree.problem(path + ".client_ca", e.getMessage()));
            }
        }
        return new GatewayConfig.RouteTls(t.path("https_redirect").asBoolean(false), ca,
                t.path("client_subject_header").asText("X-Client-Cert-Subject"), cas);
    }

    private static List<UpstreamSpec> upstreamEntities(SourceTree tree, JsonNode list, List<Problem> problems) {
        List<UpstreamSpec> out = new ArrayList<>();
        Map<String, Integer> ids = new HashMap<>();
        for (int i = 0; i < list.size(); i++) {
            String id = list.get(i).get("id").asText();
            Integer prev = ids.putIfAbsent(id, i);
            if (prev != null) {
                problems.add(tree.problem("upstreams[" + i + "].id", "duplicate upstream id '" + id
                        + "' (also upstreams[" + prev + "])").asConflict());
            }
            out.add(upstream(tree, list.get(i), "upstreams[" + i + "]", true, problems));
        }
        return List.copyOf(out);
    }

    /** Every upstream a route names must be in the document. */
    private static void checkReferences(SourceTree tree, List<RouteSpec> routes, List<UpstreamSpec> upstreams,
                                        List<Problem> problems) {
        Set<String> known = new java.util.HashSet<>();
        upstreams.forEach(u -> known.add(u.id().orElseThrow()));
        for (int i = 0; i < routes.size(); i++) {
            RouteSpec r = routes.get(i);
            String at = "routes[" + i + "]";
            if (r.upstream().orElse(null) instanceof GatewayConfig.Named n && !known.contains(n.id())) {
                problems.add(tree.problem(at + ".upstream", "unknown upstream '" + n.id()
                        + "': create it with PUT /v1/upstreams/" + n.id() + " or write the upstream inline"));
            }
            r.upstreams().forEach((group, ref) -> {
                if (ref instanceof GatewayConfig.Named n && !known.contains(n.id())) {
                    problems.add(tree.problem(at + ".upstreams." + group, "unknown upstream '" + n.id() + "'"));
                }
            });
        }
    }

    /** The edge settings; the document schema has checked their shape and ranges. */
    private static GatewayConfig.Settings settings(SourceTree tree, JsonNode s, List<Problem> problems) {
        GatewayConfig.Settings d = GatewayConfig.Settings.DEFAULTS;
        if (s.isMissingNode()) {
            return d;
        }
        List<String> proxies = strings(s.path("trusted_proxies"), false);
        for (int i = 0; i < proxies.size(); i++) {
            try {
                io.sluice.plugin.IpRanges.parse("trusted_proxies[" + i + "]", List.of(proxies.get(i)));
            } catch (IllegalArgumentException e) {
                String m = e.getMessage();
                problems.add(tree.problem("settings.trusted_proxies[" + i + "]",
                        m.substring(m.indexOf(": ") + 2)));
            }
        }
        JsonNode paths = s.path("paths");
        JsonNode clients = s.path("clients");
        return new GatewayConfig.Settings(List.copyOf(proxies),
                paths.path("escaped_slashes").asText("reject").equals("keep"),
                paths.path("semicolons").asText("reject").equals("keep"),
                clients.path("header_timeout_ms").asInt(d.headerTimeoutMs()),
                clients.path("body_idle_timeout_ms").asInt(d.bodyIdleTimeoutMs()),
                clients.path("keepalive_timeout_ms").asInt(d.keepaliveTimeoutMs()),
                clients.path("max_connections").asInt(d.maxConnections()),
                clients.path("max_connections_per_address").asInt(d.maxConnectionsPerAddress()),
                clients.path("websocket_idle_timeout_ms").asInt(d.websocketIdleTimeoutMs()),
                clients.path("websocket_max_frame_bytes").asInt(d.websocketMaxFrameBytes()));
    }

    private static List<ConsumerSpec> consumers(SourceTree tree, JsonNode list, List<Problem> problems) {
        List<ConsumerSpec> out = new ArrayList<>();
        Map<String, Integer> ids = new HashMap<>();
        Map<String, String> keyOwners = new HashMap<>();
        for (int i = 0; i < list.size(); i++) {
            JsonNode c = list.get(i);
            String id = c.get("id").asText();
            Integer prev = ids.putIfAbsent(id, i);
            if (prev != null) {
                problems.add(tree.problem("consumers[" + i + "].id", "duplicate consumer id '" + id
                        + "' (also consumers[" + prev + "])").asConflict());
            }
            List<ApiKeySpec> keys = new ArrayList<>();
            Map<String, Integer> keyIds = new HashMap<>();
            JsonNode k = c.path("api_keys");
            for (int j = 0; j < k.size(); j++) {
                ApiKeySpec key = new ApiKeySpec(k.get(j).get("id").asText(), k.get(j).get("hash").asText());
                Integer sameId = keyIds.putIfAbsent(key.id(), j);
                if (sameId != null) {
                    problems.add(tree.problem("consumers[" + i + "].api_keys[" + j + "].id", "duplicate API key id '"
                            + key.id() + "' (also api_keys[" + sameId + "])").asConflict());
                }
                String owner = keyOwners.putIfAbsent(key.hash(), id);
                if (owner != null) {
                    problems.add(tree.problem("consumers[" + i + "].api_keys[" + j + "].hash",
                            "the same key is already registered for consumer '" + owner + "'").asConflict());
                }
                keys.add(key);
            }
            out.add(new ConsumerSpec(id, strings(c.path("tags"), false), List.copyOf(keys)));
        }
        return List.copyOf(out);
    }

    private RouteSpec route(SourceTree tree, JsonNode r, String path, List<Problem> problems) {
        List<PathPattern> paths = new ArrayList<>();
        JsonNode pathsNode = r.get("paths");
        for (int i = 0; i < pathsNode.size(); i++) {
            try {
                paths.add(PathPattern.parse(pathsNode.get(i).asText()));
            } catch (IllegalArgumentException e) {
                problems.add(tree.problem(path + ".paths[" + i + "]", e.getMessage()));
            }
        }
        Optional<UpstreamRef> upstream = Optional.ofNullable(r.get("upstream"))
                .map(u -> reference(tree, u, path + ".upstream", problems));
        Optional<AggregateSpec> aggregate = Optional.ofNullable(r.get("aggregate"))
                .map(a -> aggregate(tree, a, path + ".aggregate", paths, problems));
        if (upstream.isPresent() && aggregate.isPresent()) {
            problems.add(tree.problem(path + ".aggregate", "a route has either upstream or aggregate, not both"));
        } else if (upstream.isEmpty() && aggregate.isEmpty()) {
            problems.add(tree.problem(path + ".upstream", "required: a route needs either upstream or aggregate"));
        }
        Map<String, UpstreamRef> groups = new LinkedHashMap<>();
        r.path("upstreams").properties().forEach(g -> groups.put(g.getKey(),
                reference(tree, g.getValue(), path + ".upstreams." + g.getKey(), problems)));
        if (aggregate.isPresent() && r.has("upstreams")) {
            problems.add(tree.problem(path + ".upstreams", "named upstream groups need an upstream to stand beside;"
                    + " an aggregate route has none"));
        }
        return new RouteSpec(r.get("id").asText(), List.copyOf(paths),
                strings(r.path("methods"), false), strings(r.path("hosts"), true),
                Optional.ofNullable(r.get("strip_prefix")).map(JsonNode::asText), upstream,
                Collections.unmodifiableMap(groups), aggregate,
                List.copyOf(plugins(tree, r.path("plugins"), path + ".plugins", problems)),
                routeTls(tree, r.get("tls"), path + ".tls", problems));
    }

    private static AggregateSpec aggregate(SourceTree tree, JsonNode a, String path, List<PathPattern> routePaths,
                                           List<Problem> problems) {
        List<CallSpec> calls = new ArrayList<>();
        Map<String, Integer> names = new HashMap<>();
        JsonNode list = a.get("calls");
        for (int i = 0; i < list.size(); i++) {
            JsonNode c = list.get(i);
            String at = path + ".calls[" + i + "]";
            String name = c.get("name").asText();
            Integer prev = names.putIfAbsent(name, i);
            if (prev != null) {
                problems.add(tree.problem(at + ".name", "duplicate call name '" + name + "' (also calls[" + prev + "])"));
            } else if (name.equals(ERRORS_KEY)) {
                problems.add(tree.problem(at + ".name", "'" + ERRORS_KEY
                        + "' is reserved: the merged response reports failed calls under it"));
            }
            UrlTemplate url = null;
            try {
                url = UrlTemplate.parse(c.get("url").asText());
            } catch (IllegalArgumentException e) {
                problems.add(tree.problem(at + ".url", "bad url: " + e.getMessage()));
            }
            if (url != null) {
                for (String param : url.params()) {
                    for (PathPattern p : routePaths) {
                        if (!p.segments().contains(new PathPattern.Param(param))) {
                            problems.add(tree.problem(at + ".url", "unknown path parameter '{" + param
                                    + "}': path '" + p.text() + "' of this route does not declare it"));
                            break;
                        }
                    }
                }
            }
            int timeout = c.path("timeout_ms").asInt(DEFAULT_CALL_TIMEOUT_MS);
            int connect = c.path("connect_timeout_ms").asInt(Math.min(timeout, DEFAULT_CONNECT_TIMEOUT_MS));
            if (connect > timeout) {
                problems.add(tree.problem(at + ".connect_timeout_ms", "must not exceed timeout_ms (" + timeout
                        + "), which covers the whole call"));
            }
            calls.add(new CallSpec(name, url, c.path("method").asText("GET"), timeout, connect,
                    c.path("required").asBoolean(false)));
        }
        return new AggregateSpec(List.copyOf(calls), a.path("max_body_bytes").asInt(DEFAULT_CALL_MAX_BODY_BYTES));
    }

    private static UpstreamRef reference(SourceTree tree, JsonNode up, String path, List<Problem> problems) {
        if (up.isTextual()) {
            return new GatewayConfig.Named(up.asText());
        }
        return upstream(tree, up, path, false, problems);
    }

    private static UpstreamSpec upstream(SourceTree tree, JsonNode up, String path, boolean shared,
                                         List<Problem> problems) {
        if (!shared && up.has("id")) {
            problems.add(tree.problem(path + ".id", "an inline upstream has no id; to use a shared upstream write "
                    + "\"upstream\": \"" + up.get("id").asText() + "\""));
        }
        List<Target> targets = new ArrayList<>();
        JsonNode t = up.path("targets");
        Set<String> urls = new java.util.HashSet<>();
        for (int i = 0; i < t.size(); i++) {
            String url = t.get(i).get("url").asText();
            try {
                URI uri = URI.create(url);
                if (uri.getHost() == null) {
                    throw new IllegalArgumentException("no host in " + url);
                }
                if (uri.getPort() == 0 || uri.getPort() > 65535) {
                    throw new IllegalArgumentException("port " + uri.getPort() + " is not in 1-65535 in " + url);
                }
                if (!urls.add(uri.toString())) {
                    problems.add(tree.problem(path + ".targets[" + i + "].url", "duplicate target " + url)
                            .asConflict());
                }
                targets.add(new Target(uri, t.get(i).path("weight").asInt(100)));
            } catch (IllegalArgumentException e) {
                problems.add(tree.problem(path + ".targets[" + i + "].url", "bad url: " + e.getMessage()));
            }
        }
        Optional<GatewayConfig.Discovery> discovery = Optional.ofNullable(up.get("discovery")).map(d ->
                new GatewayConfig.Discovery(d.get("dns").asText(), d.path("refresh_ms").asInt(5000),
                        d.path("scheme").asText("http")));
        discovery.ifPresent(d -> {
            String dns = d.dns();
            int colon = dns.indexOf(':');
            if (dns.startsWith("_") && colon >= 0) {
                problems.add(tree.problem(path + ".discovery.dns", "an SRV name (_service._proto.name) takes its "
                        + "ports from the records; drop ':" + dns.substring(colon + 1) + "'"));
            } else if (colon >= 0) {
                int port = Integer.parseInt(dns.substring(colon + 1));
                if (port < 1 || port > 65535) {
                    problems.add(tree.problem(path + ".discovery.dns", "port " + port + " is not in 1-65535"));
                }
            }
        });
        if (!shared && targets.isEmpty() && discovery.isEmpty()) {
            problems.add(tree.problem(path + ".targets", "required: at least one target, or discovery"));
        }
        if (!targets.isEmpty() && discovery.isEmpty() && targets.stream().allMatch(x -> x.weight() == 0)) {
            problems.add(tree.problem(path + ".targets", "at least one target needs a weight above 0"));
        }
        String balancer = up.path("balancer").asText("round_robin");
        Optional<GatewayConfig.HashOn> hashOn = Optional.ofNullable(up.get("hash_on"))
                .map(h -> new GatewayConfig.HashOn(h.get("by").asText(), h.path("name").asText("")));
        if (hashOn.isPresent() && !balancer.equals("consistent_hash")) {
            problems.add(tree.problem(path + ".hash_on", "only the consistent_hash balancer hashes; this upstream's "
                    + "balancer is " + balancer));
        }
        if (balancer.equals("consistent_hash") && hashOn.isEmpty()) {
            hashOn = Optional.of(new GatewayConfig.HashOn("ip", ""));
        }
        hashOn.ifPresent(h -> {
            boolean named = h.by().equals("header") || h.by().equals("cookie");
            if (named && h.name().isEmpty()) {
                problems.add(tree.problem(path + ".hash_on.name", "required: the " + h.by() + " to hash on"));
            } else if (!named && !h.name().isEmpty()) {
                problems.add(tree.problem(path + ".hash_on.name", "hashing on " + h.by() + " takes no name"));
            }
        });
        JsonNode a = up.path("health").path("active");
        Optional<GatewayConfig.ActiveCheck> active = a.isMissingNode() ? Optional.empty()
                : Optional.of(new GatewayConfig.ActiveCheck(a.path("path").asText("/health"),
                        a.path("interval_ms").asInt(5000),
                        a.path("timeout_ms").asInt(Math.min(1000, a.path("interval_ms").asInt(5000))),
                        a.path("healthy").asInt(2), a.path("unhealthy").asInt(3), ints(a.path("statuses"))));
        active.ifPresent(c -> {
            if (c.timeoutMs() > c.intervalMs()) {
                problems.add(tree.problem(path + ".health.active.timeout_ms", "must not exceed interval_ms ("
                        + c.intervalMs() + ")"));
            }
        });
        JsonNode p = up.path("health").path("passive");
        GatewayConfig.PassiveCheck d = GatewayConfig.PassiveCheck.DEFAULTS;
        GatewayConfig.PassiveCheck passive = p.isMissingNode() ? d : new GatewayConfig.PassiveCheck(
                p.path("consecutive_failures").asInt(d.consecutiveFailures()), p.path("eject_ms").asInt(d.ejectMs()),
                p.path("max_ejected_percent").asInt(d.maxEjectedPercent()),
                p.has("statuses") ? ints(p.get("statuses")) : d.statuses());
        JsonNode tl = up.path("tls");
        GatewayConfig.TlsSpec tls = new GatewayConfig.TlsSpec(tl.path("verify").asBoolean(true),
                tl.path("ca").asText(""), tl.path("sni").asText(""), tl.path("client_cert").asText(""),
                tl.path("client_key").asText(""));
        if (!tls.ca().isEmpty() && !tls.ca().contains("-----BEGIN CERTIFICATE-----")) {
            problems.add(tree.problem(path + ".tls.ca", "not a PEM certificate (-----BEGIN CERTIFICATE-----)"));
        }
        if (tls.clientKey().equals(SecretFields.REDACTED)) {
            problems.add(tree.problem(path + ".tls.client_key", "is the placeholder reads show (" + SecretFields.REDACTED
                    + "); write the key itself"));
        } else if (!tls.clientKey().isEmpty() && !tls.clientKey().contains("PRIVATE KEY-----")) {
            problems.add(tree.problem(path + ".tls.client_key", "not a PEM private key (-----BEGIN PRIVATE KEY-----)"));
        }
        if (!tls.clientCert().isEmpty() && !tls.clientCert().contains("-----BEGIN CERTIFICATE-----")) {
            problems.add(tree.problem(path + ".tls.client_cert", "not a PEM certificate (-----BEGIN CERTIFICATE-----)"));
        }
        if (tls.clientCert().isEmpty() != tls.clientKey().isEmpty()) {
            problems.add(tree.problem(path + ".tls." + (tls.clientCert().isEmpty() ? "client_cert" : "client_key"),
                    "required: mutual TLS needs both client_cert and client_key"));
        }
        String protocol = up.path("protocol").asText("http1");
        protocolProblems(tree, path, protocol, targets, discovery, problems);
        return new UpstreamSpec(shared ? Optional.of(up.get("id").asText()) : Optional.empty(), List.copyOf(targets),
                discovery, balancer, hashOn, up.path("retries").asInt(2), active, passive, tls,
                protocol,
                up.path("connect_timeout_ms").asInt(DEFAULT_CONNECT_TIMEOUT_MS),
                up.path("timeout_ms").asInt(DEFAULT_TIMEOUT_MS));
    }

    /**
     * The URL schemes a protocol can use: h2c is plain HTTP/2 (http:// only), h2 is HTTP/2 over TLS (https://
     * only); http1 and grpc take either (grpc picks h2c or h2 by the scheme).
     */
    private static void protocolProblems(SourceTree tree, String path, String protocol, List<Target> targets,
                                         Optional<GatewayConfig.Discovery> discovery, List<Problem> problems) {
        String only = switch (protocol) {
            case "h2c" -> "http";
            case "h2" -> "https";
            default -> null;
        };
        if (only == null) {
            return;
        }
        String why = only.equals("http") ? "h2c is HTTP/2 without TLS: targets are http://; use h2 for https://"
                : "h2 is HTTP/2 over TLS: targets are https://; use h2c for http://";
        for (int i = 0; i < targets.size(); i++) {
            if (!only.equalsIgnoreCase(targets.get(i).url().getScheme())) {
                problems.add(tree.problem(path + ".targets[" + i + "].url", why));
            }
        }
        discovery.filter(d -> !d.scheme().equals(only))
                .ifPresent(d -> problems.add(tree.problem(path + ".discovery.scheme", why)));
    }

    private static Set<Integer> ints(JsonNode list) {
        Set<Integer> out = new java.util.TreeSet<>();
        list.forEach(n -> out.add(n.asInt()));
        return Collections.unmodifiableSet(out);
    }

    private List<PluginEntry> plugins(SourceTree tree, JsonNode list, String path, List<Problem> problems) {
        List<PluginEntry> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            JsonNode p = list.get(i);
            String at = path + "[" + i + "]";
            String name = p.get("name").asText();
            Optional<String> version = Optional.ofNullable(p.get("version")).map(JsonNode::asText);
            JsonNode config = p.has("config") ? p.get("config") : MAPPER.createObjectNode();
            Optional<FilterDescriptor> d = catalog.describe(name, version);
            if (d.isEmpty()) {
                problems.add(tree.problem(at + ".name", "unknown plugin '" + name + "'"
                        + version.map(v -> " version " + v).orElse("")));
                continue;
            }
            problems.addAll(pluginProblems(tree, at + ".config", d.get(), config));
            OnError onError = "fail_open".equals(p.path("on_error").asText()) ? OnError.FAIL_OPEN : OnError.FAIL_CLOSED;
            Map<String, Object> limits = p.has("limits") ? toJava(p.get("limits")) : Map.of();
            out.add(new PluginEntry(name, version, toJava(config), onError, limits));
        }
        return out;
    }

    /**
     * A plugin config's problems: its schema (secrets may be {@code {"$env": "NAME"}}), and secrets written as
     * {@value SecretFields#REDACTED}, the placeholder reads show. Refusing that placeholder, rather than keeping
     * the stored value, is deliberate: a redacted export re-imported by someone who never saw the secret must
     * not silently re-apply it (routes may be renamed or reordered, so "the stored value" is a guess), and
     * must never make the literal placeholder the secret.
     */
    private List<Problem> pluginProblems(SourceTree tree, String at, FilterDescriptor d, JsonNode config) {
        SecretFields secrets = SecretFields.of(d.schema());
        List<Problem> out = new ArrayList<>();
        List<String> placeholders = new ArrayList<>();
        List<List<Object>> secretPaths = secrets.paths(config);
        for (List<Object> p : secretPaths) {
            if (SecretFields.REDACTED.equals(SecretFields.at(config, p).textValue())) {
                String path = SecretFields.format(at, p);
                placeholders.add(path);
                out.add(tree.problem(path, "is \"" + SecretFields.REDACTED + "\", the placeholder that reads show"
                        + " for secrets; send the secret itself or {\"$env\": \"NAME\"}"));
            }
        }
        for (ValidationMessage m : pluginSchema(d).validate(config)) {
            Problem problem = toProblem(tree, at, m);
            if (placeholders.contains(problem.path())) {
                continue;   // already explained above; "too short" would only confuse
            }
            List<Object> location = location(m);
            JsonNode value = SecretFields.at(config, location);
            if (value.isObject() && value.has(SecretFields.ENV) && !secretPaths.contains(location)) {
                problem = tree.problem(problem.path(), problem.message() + " ({\"" + SecretFields.ENV
                        + "\": …} is accepted only in fields the plugin's schema marks writeOnly)");
            }
            out.add(problem);
        }
        return out;
    }

    private static List<Object> location(ValidationMessage m) {
        com.networknt.schema.JsonNodePath location = m.getInstanceLocation();
        List<Object> path = new ArrayList<>();
        for (int i = 0; i < location.getNameCount(); i++) {
            Object e = location.getElement(i);
            path.add(e instanceof Number n ? Integer.valueOf(n.intValue()) : String.valueOf(e));
        }
        return path;
    }

    private void checkConflicts(SourceTree tree, List<RouteSpec> routes, List<Problem> problems) {
        Map<String, Integer> ids = new HashMap<>();
        // key: host|method|shape; a route without methods/hosts occupies the '*' slot
        Map<String, String> owners = new HashMap<>();
        for (int i = 0; i < routes.size(); i++) {
            RouteSpec r = routes.get(i);
            Integer prev = ids.putIfAbsent(r.id(), i);
            if (prev != null) {
                problems.add(tree.problem("routes[" + i + "].id", "duplicate route id '" + r.id()
                        + "' (also routes[" + prev + "])").asConflict());
                continue;
            }
            List<String> hosts = r.hosts().isEmpty() ? List.of("*") : r.hosts();
            List<String> methods = r.methods().isEmpty() ? List.of("*") : r.methods();
            for (int p = 0; p < r.paths().size(); p++) {
                for (String h : hosts) {
                    for (String m : methods) {
                        String key = h + "|" + m + "|" + r.paths().get(p).shape();
                        String owner = owners.putIfAbsent(key, r.id());
                        if (owner != null && !owner.equals(r.id())) {
                            problems.add(tree.problem("routes[" + i + "].paths[" + p + "]", "conflicts with route '"
                                    + owner + "': same path" + ("*".equals(m) ? "" : ", method " + m)
                                    + ("*".equals(h) ? "" : ", host " + h)).asConflict());
                        }
                    }
                }
            }
        }
    }

    /**
     * Checks a filter's config schema as an uploaded filter declares it: JSON, valid against the draft 2020-12
     * meta-schema, describing an object.
     *
     * @param schemaJson the schema text
     * @return problems, empty when usable
     */
    public static List<String> schemaProblems(String schemaJson) {
        JsonNode schema;
        try {
            schema = MAPPER.readTree(schemaJson);
        } catch (JsonProcessingException e) {
            return List.of("schema is not JSON: " + e.getOriginalMessage());
        }
        if (schema == null || !schema.isObject()) {
            return List.of("schema must be a JSON Schema object");
        }
        List<String> out = new ArrayList<>();
        JsonSchema meta = SCHEMAS.getSchema(com.networknt.schema.SchemaLocation.of(
                "https://json-schema.org/draft/2020-12/schema"));
        for (ValidationMessage m : meta.validate(schema)) {
            out.add("schema" + m.getInstanceLocation().toString().substring(1) + ": " + m.getMessage()
                    .replaceFirst("^\\$[^:]*: ", ""));
        }
        if (out.isEmpty() && schema.has("type") && !"object".equals(schema.path("type").asText())) {
            out.add("schema.type: a filter's config is an object");
        }
        return out;
    }

    private JsonSchema pluginSchema(FilterDescriptor d) {
        return pluginSchemas.computeIfAbsent(d.name() + "@" + d.version(), k -> {
            try {
                MAPPER.readTree(d.schema());
                return SCHEMAS.getSchema(SecretFields.of(d.schema()).schema());
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("plugin " + k + " declares a schema that is not JSON", e);
            }
        });
    }

    private static Problem toProblem(SourceTree tree, String prefix, ValidationMessage m) {
        String location = m.getInstanceLocation().toString();   // "$", "$.routes[0].id"
        String rel = location.equals("$") ? "" : location.substring(2);
        String property = m.getProperty();
        String path = join(prefix, rel);
        // "required" and "additionalProperties" point at the parent; name the field itself
        if (property != null && ("required".equals(m.getType()) || "additionalProperties".equals(m.getType()))) {
            path = join(path, property);
        }
        String message = m.getMessage();
        int colon = message.indexOf(": ");
        if (message.startsWith("$") && colon > 0) {
            message = message.substring(colon + 2);
        }
        return tree.problem(path, message);
    }

    private static String join(String a, String b) {
        if (a.isEmpty()) {
            return b;
        }
        if (b.isEmpty()) {
            return a;
        }
        return b.startsWith("[") ? a + b : a + "." + b;
    }

    private static ConfigException sorted(List<Problem> problems) {
        problems.sort(Comparator.comparingInt(Problem::line).thenComparing(Problem::path));
        return new ConfigException(problems);
    }

    private static List<String> strings(JsonNode arr, boolean lower) {
        List<String> out = new ArrayList<>();
        arr.forEach(n -> out.add(lower ? n.asText().toLowerCase(Locale.ROOT) : n.asText()));
        return List.copyOf(out);
    }

    /**
     * A JSON node as plain Java values (Map, List, String, Long/Double/BigInteger, Boolean, null).
     *
     * @param node JSON
     * @return Java value
     */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> toJava(JsonNode node) {
        return java.util.Collections.unmodifiableMap(MAPPER.convertValue(node, Map.class));
    }

    private static JsonSchema loadDocumentSchema() {
        try (InputStream in = ConfigParser.class.getResourceAsStream("sluice-config.schema.json")) {
            return SCHEMAS.getSchema(MAPPER.readTree(in));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
