package io.sluice.registry.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.sluice.registry.config.ConfigException;
import io.sluice.registry.config.SourceTree;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.nodes.Tag;
import org.yaml.snakeyaml.representer.Representer;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The admin API's OpenAPI document as served at {@code /openapi.yaml}: the hand-written {@code openapi.yaml}
 * (endpoints, parameters, responses, error bodies, the API's own shapes) with {@code components.schemas}
 * completed from the config document's JSON Schema, {@code sluice-config.schema.json}, so the shapes of routes,
 * consumers, plugins and the rest have one source of truth.
 *
 * <p>Every {@code $defs} entry {@code x_y} becomes the component {@code XY} ({@link #componentName}), with
 * {@code $ref: "#/$defs/x_y"} rewritten to {@code #/components/schemas/XY}; the whole document becomes
 * {@value #DOCUMENT}. A {@code $defs} entry that requires an {@code id} also becomes {@code XYBody}, the same
 * schema with {@code id} optional: the body of a {@code PUT} whose path names the id. OpenAPI 3.1 schemas are
 * JSON Schema 2020-12, so the definitions are used as they are. The hand-written document must not define these
 * names itself.
 *
 * <p>The document is derived once, on first use, and cached.
 */
public final class OpenApiDocument {
    /** Component name of the whole config document. */
    public static final String DOCUMENT = "ConfigDocument";
    /** Suffix of the id-optional body variant of an entity with an id. */
    public static final String BODY_SUFFIX = "Body";
    private static final String SCHEMA_RESOURCE = "/io/sluice/registry/config/sluice-config.schema.json";
    private static final String OPENAPI_RESOURCE = "openapi.yaml";
    private static final String COMPONENTS = "#/components/schemas/";
    private static final ObjectMapper MAPPER = Registry.mapper();

    private OpenApiDocument() {
    }

    /** Derived on first use (the holder idiom: thread-safe, once). */
    private static final class Cached {
        static final ObjectNode TREE = derive(handWritten(), configSchema());
        static final String YAML = yaml(TREE);
    }

    /**
     * The served document.
     *
     * @return YAML text
     */
    public static String yaml() {
        return Cached.YAML;
    }

    /**
     * The served document as a tree.
     *
     * @return a copy the caller may change
     */
    public static ObjectNode tree() {
        return Cached.TREE.deepCopy();
    }

    /**
     * The config document's JSON Schema, as the config parser validates against it.
     *
     * @return a fresh copy
     */
    public static ObjectNode configSchema() {
        try (InputStream in = OpenApiDocument.class.getResourceAsStream(SCHEMA_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("resource " + SCHEMA_RESOURCE + " is missing");
            }
            return (ObjectNode) MAPPER.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The component name of a {@code $defs} entry: its {@code _}- or {@code -}-separated words capitalised and
     * joined ({@code route} → {@code Route}, {@code trusted_jar_signer} → {@code TrustedJarSigner}).
     *
     * @param def the {@code $defs} key
     * @return the name under {@code components.schemas}
     */
    public static String componentName(String def) {
        StringBuilder b = new StringBuilder();
        for (String word : def.split("[_-]")) {
            if (!word.isEmpty()) {
                b.append(word.substring(0, 1).toUpperCase(Locale.ROOT)).append(word.substring(1));
            }
        }
        return b.toString();
    }

    /**
     * Completes a hand-written OpenAPI document with components generated from a config schema.
     *
     * @param openApi      the hand-written document (not changed)
     * @param configSchema the config document's JSON Schema (not changed)
     * @return the completed document
     * @throws IllegalStateException if the hand-written document defines a generated name itself
     */
    static ObjectNode derive(ObjectNode openApi, ObjectNode configSchema) {
        Map<String, JsonNode> generated = new LinkedHashMap<>();
        configSchema.path("$defs").properties().forEach(e -> {
            String name = componentName(e.getKey());
            JsonNode schema = rewriteRefs(e.getValue().deepCopy());
            generated.put(name, schema);
            if (schema instanceof ObjectNode o && requiresId(o)) {
                generated.put(name + BODY_SUFFIX, idOptional(o));
            }
        });
        ObjectNode document = configSchema.deepCopy();
        document.remove(List.of("$schema", "$id", "$defs"));
        generated.put(DOCUMENT, rewriteRefs(document));

        ObjectNode out = openApi.deepCopy();
        ObjectNode schemas = out.withObjectProperty("components").withObjectProperty("schemas");
        generated.forEach((name, schema) -> {
            if (schemas.has(name)) {
                throw new IllegalStateException("openapi.yaml defines components.schemas." + name
                        + ", which is generated from sluice-config.schema.json; remove it there");
            }
            schemas.set(name, schema);
        });
        return out;
    }

    private static boolean requiresId(ObjectNode schema) {
        for (JsonNode r : schema.path("required")) {
            if (r.asText().equals("id")) {
                return true;
            }
        }
        return false;
    }

    private static ObjectNode idOptional(ObjectNode schema) {
        ObjectNode body = schema.deepCopy();
        ArrayNode required = MAPPER.createArrayNode();
        schema.path("required").forEach(r -> {
            if (!r.asText().equals("id")) {
                required.add(r);
            }
        });
        if (required.isEmpty()) {
            body.remove("required");
        } else {
            body.set("required", required);
        }
        String said = schema.path("description").asText("");
        body.put("description", (said.isEmpty() ? "" : said.strip() + "\n\n") + "As a PUT body: `id` may be left"
                + " out (the path's id is used); when given, it must equal the path's.");
        return body;
    }

    /** Points the config schema's references at the generated components (in place). */
    private static JsonNode rewriteRefs(JsonNode node) {
        if (node instanceof ObjectNode o) {
            o.properties().forEach(e -> {
                if (e.getKey().equals("$ref") && e.getValue().isTextual()) {
                    e.setValue(TextNode.valueOf(reference(e.getValue().asText())));
                } else {
                    rewriteRefs(e.getValue());
                }
            });
        } else if (node instanceof ArrayNode a) {
            a.forEach(OpenApiDocument::rewriteRefs);
        }
        return node;
    }

    private static String reference(String ref) {
        if (ref.startsWith("#/$defs/")) {
            String rest = ref.substring("#/$defs/".length());
            int slash = rest.indexOf('/');
            return slash < 0 ? COMPONENTS + componentName(rest)
                    : COMPONENTS + componentName(rest.substring(0, slash)) + rest.substring(slash);
        }
        if (ref.equals("#")) {
            return COMPONENTS + DOCUMENT;
        }
        if (ref.startsWith("#/")) {
            return COMPONENTS + DOCUMENT + ref.substring(1);
        }
        return ref;
    }

    private static ObjectNode handWritten() {
        try (InputStream in = OpenApiDocument.class.getResourceAsStream(OPENAPI_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("resource " + OPENAPI_RESOURCE + " is missing");
            }
            JsonNode root = SourceTree.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8)).root();
            if (!(root instanceof ObjectNode o)) {
                throw new IllegalStateException(OPENAPI_RESOURCE + " is not a mapping");
            }
            return o;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (ConfigException e) {
            throw new IllegalStateException(OPENAPI_RESOURCE + ": " + e.getMessage(), e);
        }
    }

    /** Block-style YAML; text of several lines as literal blocks, so descriptions stay readable. */
    private static String yaml(JsonNode doc) {
        DumperOptions o = new DumperOptions();
        o.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
        o.setIndent(2);
        o.setIndicatorIndent(0);
        o.setWidth(120);
        o.setSplitLines(true);
        Representer representer = new Representer(o) {
            {
                representers.put(String.class, data -> {
                    String s = (String) data;
                    return s.indexOf('\n') >= 0 ? representScalar(Tag.STR, s, DumperOptions.ScalarStyle.LITERAL)
                            : representScalar(Tag.STR, s);
                });
            }
        };
        Object tree = MAPPER.convertValue(doc, Object.class);
        return new Yaml(representer, o).dump(tree);
    }
}
