package io.sluice.registry.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * The secret fields of one plugin's config: the values its JSON schema marks {@code "writeOnly": true}.
 *
 * <p>Three things follow from that one mark, so they live together:
 * <ul>
 *   <li>validation: a secret may be written as {@code {"$env": "NAME"}} instead of its value; {@link #schema()}
 *       is the plugin's schema with each writeOnly subschema widened to accept exactly that shape (and nothing
 *       else gains it);</li>
 *   <li>reads by roles that may not see secrets: {@link #redact} puts {@value #REDACTED} in their place;</li>
 *   <li>the data plane: {@link #resolve} replaces each {@code $env} reference by the variable's value when the
 *       filter is built, so the secret itself never reaches the store.</li>
 * </ul>
 *
 * <p>Secret positions are found by walking the config alongside the schema through {@code properties},
 * {@code patternProperties}, {@code additionalProperties}, {@code items}, {@code prefixItems}, local
 * {@code $ref}s and every branch of {@code allOf}/{@code anyOf}/{@code oneOf}/{@code if}/{@code then}/{@code else}
 * and {@code dependentSchemas}: a value any branch calls writeOnly is treated as secret (redacting too much is
 * the safe error).
 */
public final class SecretFields {
    /** What reads show in place of a secret. */
    public static final String REDACTED = "<redacted>";
    /** The key of an environment reference. */
    public static final String ENV = "$env";
    /** Names an environment reference may use. */
    public static final Pattern ENV_NAME = Pattern.compile("[A-Z_][A-Z0-9_]*");
    /** Longest variable name accepted. */
    public static final int ENV_NAME_MAX = 128;

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final int MAX_DEPTH = 100;
    private static final Map<String, SecretFields> CACHE = new ConcurrentHashMap<>();
    private static final Set<String> SCHEMA_MAPS = Set.of("properties", "patternProperties", "$defs",
            "definitions", "dependentSchemas");
    private static final Set<String> NOT_SCHEMAS = Set.of("const", "enum", "default", "examples", "required",
            "description", "title", "$comment", "$id", "$schema", "$anchor", "type", "pattern", "format");

    private final JsonNode root;
    private final boolean any;
    private final JsonNode envAware;

    private SecretFields(JsonNode root) {
        this.root = root;
        this.any = mentionsWriteOnly(root);
        this.envAware = any ? widen(root) : root;
    }

    /**
     * The secret fields a schema declares (compiled once per schema text).
     *
     * @param schemaJson the plugin's JSON schema
     * @return its secret fields
     */
    public static SecretFields of(String schemaJson) {
        SecretFields cached = CACHE.get(schemaJson);
        if (cached != null) {
            return cached;
        }
        JsonNode schema;
        try {
            schema = MAPPER.readTree(schemaJson);
        } catch (JsonProcessingException e) {
            schema = MAPPER.createObjectNode();
        }
        SecretFields s = new SecretFields(schema == null ? MAPPER.createObjectNode() : schema);
        if (CACHE.size() < 10_000) {   // a name+version's schema never changes; the bound is only a backstop
            CACHE.put(schemaJson, s);
        }
        return s;
    }

    /** @return whether the schema marks any field writeOnly */
    public boolean any() {
        return any;
    }

    /**
     * The schema to validate configs with: the plugin's own, where each writeOnly subschema {@code S} becomes
     * {@code if {"type":"object","required":["$env"]} then <env reference> else S}, so a secret is either a
     * value {@code S} accepts or a well-formed {@code {"$env": "NAME"}}, and error messages stay those of
     * {@code S} or of the reference.
     *
     * @return the schema
     */
    public JsonNode schema() {
        return envAware;
    }

    /**
     * Where the secrets of a config are.
     *
     * @param config a plugin config
     * @return the paths of its secret values, as path segments (String keys, Integer indexes), in document order
     */
    public List<List<Object>> paths(JsonNode config) {
        if (!any) {
            return List.of();
        }
        Map<String, List<Object>> found = new LinkedHashMap<>();
        walk(root, config, new ArrayList<>(), found, 0);
        return List.copyOf(found.values());
    }

    /**
     * A copy with every secret value replaced by {@value #REDACTED}. References to environment variables are
     * kept: they name a variable, not a secret, and a re-import needs them.
     *
     * @param config a plugin config
     * @return the redacted copy
     */
    public JsonNode redact(JsonNode config) {
        JsonNode out = config.deepCopy();
        for (List<Object> p : paths(out)) {
            if (envName(at(out, p)).isEmpty()) {
                set(out, p, TextNode.valueOf(REDACTED));
            }
        }
        return out;
    }

    /**
     * Replaces each {@code $env} reference in a secret field by the variable's value.
     *
     * @param config a validated plugin config
     * @param env    the node's environment
     * @return the resolved copy (the same node when nothing refers to the environment)
     * @throws MissingVariables naming every variable that is not set
     */
    public JsonNode resolve(JsonNode config, Function<String, Optional<String>> env) throws MissingVariables {
        List<List<Object>> paths = paths(config);
        if (paths.stream().allMatch(p -> envName(at(config, p)).isEmpty())) {
            return config;
        }
        JsonNode out = config.deepCopy();
        List<String> missing = new ArrayList<>();
        for (List<Object> p : paths) {
            Optional<String> name = envName(at(out, p));
            if (name.isEmpty()) {
                continue;
            }
            Optional<String> value = env.apply(name.get());
            if (value.isPresent()) {
                set(out, p, TextNode.valueOf(value.get()));
            } else if (!missing.contains(name.get())) {
                missing.add(name.get());
            }
        }
        if (!missing.isEmpty()) {
            throw new MissingVariables(missing);
        }
        return out;
    }

    /** Environment variables a config refers to are not set on this node. */
    public static final class MissingVariables extends Exception {
        private final List<String> names;

        /**
         * @param names the unset variables
         */
        public MissingVariables(List<String> names) {
            super("environment variable" + (names.size() == 1 ? " " : "s ") + String.join(", ", names)
                    + (names.size() == 1 ? " is" : " are") + " not set on this node");
            this.names = List.copyOf(names);
        }

        /** @return the unset variables */
        public List<String> names() {
            return names;
        }
    }

    /**
     * The variable a value refers to, when it is a well-formed reference.
     *
     * @param value a config value
     * @return the name, or empty
     */
    public static Optional<String> envName(JsonNode value) {
        if (value instanceof ObjectNode o && o.size() == 1 && o.get(ENV) instanceof TextNode t
                && t.asText().length() <= ENV_NAME_MAX && ENV_NAME.matcher(t.asText()).matches()) {
            return Optional.of(t.asText());
        }
        return Optional.empty();
    }

    /**
     * A path as the config's problem paths spell it: {@code a.b[2].c}.
     *
     * @param prefix the path of the config itself, e.g. {@code routes[0].plugins[1].config}
     * @param path   segments
     * @return the joined path
     */
    public static String format(String prefix, List<Object> path) {
        StringBuilder b = new StringBuilder(prefix);
        for (Object s : path) {
            if (s instanceof Integer i) {
                b.append('[').append(i).append(']');
            } else {
                if (!b.isEmpty()) {
                    b.append('.');
                }
                b.append(s);
            }
        }
        return b.toString();
    }

    /**
     * The value at a path.
     *
     * @param node a config
     * @param path segments
     * @return the value, or a missing node
     */
    public static JsonNode at(JsonNode node, List<Object> path) {
        JsonNode n = node;
        for (Object s : path) {
            n = s instanceof Integer i ? n.path(i) : n.path((String) s);
        }
        return n;
    }

    private static void set(JsonNode root, List<Object> path, JsonNode value) {
        if (path.isEmpty()) {
            return;   // the whole config is never one secret value in practice; nothing sensible to replace
        }
        JsonNode parent = at(root, path.subList(0, path.size() - 1));
        Object last = path.getLast();
        if (parent instanceof ObjectNode o && last instanceof String k) {
            o.set(k, value);
        } else if (parent instanceof ArrayNode a && last instanceof Integer i) {
            a.set(i, value);
        }
    }

    // ---- walking config and schema together

    private void walk(JsonNode schema, JsonNode value, List<Object> path, Map<String, List<Object>> found,
                      int depth) {
        if (depth > MAX_DEPTH || !(schema instanceof ObjectNode s) || value == null || value.isMissingNode()) {
            return;
        }
        if (s.path("writeOnly").asBoolean(false)) {
            found.putIfAbsent(path.toString(), List.copyOf(path));
            return;
        }
        if (s.get("$ref") instanceof TextNode ref && ref.asText().startsWith("#")) {
            walk(root.at(ref.asText().substring(1)), value, path, found, depth + 1);
        }
        for (String k : List.of("allOf", "anyOf", "oneOf")) {
            s.path(k).forEach(branch -> walk(branch, value, path, found, depth + 1));
        }
        for (String k : List.of("if", "then", "else")) {
            walk(s.get(k), value, path, found, depth + 1);
        }
        s.path("dependentSchemas").forEach(branch -> walk(branch, value, path, found, depth + 1));
        if (value instanceof ObjectNode o) {
            JsonNode props = s.path("properties");
            JsonNode patterns = s.path("patternProperties");
            o.properties().forEach(e -> {
                boolean matched = false;
                if (props.has(e.getKey())) {
                    matched = true;
                    walk(props.get(e.getKey()), e.getValue(), plus(path, e.getKey()), found, depth + 1);
                }
                Iterator<Map.Entry<String, JsonNode>> it = patterns.fields();
                while (it.hasNext()) {
                    Map.Entry<String, JsonNode> p = it.next();
                    if (matches(p.getKey(), e.getKey())) {
                        matched = true;
                        walk(p.getValue(), e.getValue(), plus(path, e.getKey()), found, depth + 1);
                    }
                }
                if (!matched) {
                    walk(s.get("additionalProperties"), e.getValue(), plus(path, e.getKey()), found, depth + 1);
                }
            });
        } else if (value instanceof ArrayNode a) {
            JsonNode prefix = s.path("prefixItems");
            for (int i = 0; i < a.size(); i++) {
                JsonNode item = i < prefix.size() ? prefix.get(i) : s.get("items");
                walk(item, a.get(i), plus(path, i), found, depth + 1);
            }
        }
    }

    private static boolean matches(String regex, String key) {
        try {
            return Pattern.compile(regex).matcher(key).find();
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static List<Object> plus(List<Object> path, Object segment) {
        List<Object> out = new ArrayList<>(path);
        out.add(segment);
        return out;
    }

    private static boolean mentionsWriteOnly(JsonNode n) {
        if (n instanceof ObjectNode o) {
            if (o.path("writeOnly").asBoolean(false)) {
                return true;
            }
            for (Map.Entry<String, JsonNode> e : o.properties()) {
                if (SCHEMA_MAPS.contains(e.getKey())) {
                    for (JsonNode sub : e.getValue()) {
                        if (mentionsWriteOnly(sub)) {
                            return true;
                        }
                    }
                } else if (!NOT_SCHEMAS.contains(e.getKey()) && mentionsWriteOnly(e.getValue())) {
                    return true;
                }
            }
        } else if (n instanceof ArrayNode a) {
            for (JsonNode x : a) {
                if (mentionsWriteOnly(x)) {
                    return true;
                }
            }
        }
        return false;
    }

    // copies a schema, wrapping each writeOnly subschema so that it also accepts an environment reference
    private static JsonNode widen(JsonNode n) {
        if (n instanceof ArrayNode a) {
            ArrayNode out = MAPPER.createArrayNode();
            a.forEach(x -> out.add(widen(x)));
            return out;
        }
        if (!(n instanceof ObjectNode o)) {
            return n;
        }
        ObjectNode copy = MAPPER.createObjectNode();
        o.properties().forEach(e -> {
            if (SCHEMA_MAPS.contains(e.getKey()) && e.getValue() instanceof ObjectNode map) {
                ObjectNode m = copy.putObject(e.getKey());
                map.properties().forEach(x -> m.set(x.getKey(), widen(x.getValue())));
            } else {
                copy.set(e.getKey(), NOT_SCHEMAS.contains(e.getKey()) ? e.getValue().deepCopy() : widen(e.getValue()));
            }
        });
        if (!o.path("writeOnly").asBoolean(false)) {
            return copy;
        }
        ObjectNode wrapped = MAPPER.createObjectNode();
        wrapped.put("writeOnly", true);
        ObjectNode when = wrapped.putObject("if");
        when.put("type", "object");
        when.putArray("required").add(ENV);
        wrapped.set("then", reference());
        wrapped.set("else", copy);
        return wrapped;
    }

    private static ObjectNode reference() {
        ObjectNode r = MAPPER.createObjectNode();
        r.put("type", "object");
        r.putArray("required").add(ENV);
        r.put("additionalProperties", false);
        ObjectNode name = r.putObject("properties").putObject(ENV);
        name.put("type", "string");
        name.put("maxLength", ENV_NAME_MAX);
        name.put("pattern", "^" + ENV_NAME.pattern() + "$");
        return r;
    }
}
