package io.sluice.docs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.plugin.FilterDescriptor;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A built-in's reference page, generated from its descriptor and JSON schema: one row per field (nested objects
 * with dotted names, array items with {@code []}), with its type, default, constraints, whether it is required and
 * whether it is a secret ({@code writeOnly}: redacted on export, may be {@code {"$env": NAME}}).
 */
final class PluginReference {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One row of the table. */
    record Field(String path, String type, String dflt, String constraints, boolean required, boolean secret,
                 String description) {
    }

    private PluginReference() {
    }

    static List<Field> fields(String schemaText) throws Exception {
        JsonNode schema = JSON.readTree(schemaText);
        List<Field> out = new ArrayList<>();
        walk(schema, schema, "", out, 0);
        return out;
    }

    private static JsonNode resolve(JsonNode root, JsonNode node) {
        JsonNode ref = node.get("$ref");
        if (ref != null && ref.asText().startsWith("#/$defs/")) {
            JsonNode target = root.path("$defs").path(ref.asText().substring("#/$defs/".length()));
            if (!target.isMissingNode()) {
                return resolve(root, target);
            }
        }
        return node;
    }

    private static void walk(JsonNode root, JsonNode schema, String prefix, List<Field> out, int depth) {
        JsonNode s = resolve(root, schema);
        JsonNode props = s.get("properties");
        if (props == null || depth > 6) {
            return;
        }
        Set<String> required = new TreeSet<>();
        s.path("required").forEach(r -> required.add(r.asText()));
        for (Iterator<Map.Entry<String, JsonNode>> it = props.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String path = prefix + e.getKey();
            JsonNode raw = e.getValue();
            JsonNode p = resolve(root, raw);
            out.add(new Field(path, type(root, p), p.has("default") ? p.get("default").toString()
                    : raw.has("default") ? raw.get("default").toString() : "",
                    constraints(root, p), required.contains(e.getKey()),
                    raw.path("writeOnly").asBoolean(false) || p.path("writeOnly").asBoolean(false),
                    raw.path("description").asText(p.path("description").asText(""))));
            if (p.has("properties")) {
                walk(root, p, path + ".", out, depth + 1);
            }
            JsonNode items = p.has("items") ? resolve(root, p.get("items")) : null;
            if (items != null && items.has("properties")) {
                walk(root, items, path + "[].", out, depth + 1);
            }
        }
    }

    static String type(JsonNode root, JsonNode p) {
        if (p.has("oneOf") || p.has("anyOf")) {
            List<String> kinds = new ArrayList<>();
            (p.has("oneOf") ? p.get("oneOf") : p.get("anyOf")).forEach(o -> kinds.add(type(root, resolve(root, o))));
            return String.join(" or ", kinds);
        }
        if (p.has("const")) {
            return "const " + p.get("const");
        }
        String t = p.path("type").isArray() ? join(p.get("type")) : p.path("type").asText(inferred(p));
        if (t.equals("array") && p.has("items")) {
            return "array of " + type(root, resolve(root, p.get("items")));
        }
        if (t.equals("object") && !p.has("properties") && p.path("additionalProperties").isObject()) {
            return "map of " + type(root, resolve(root, p.get("additionalProperties")));
        }
        return t;
    }

    /** The type of an untyped enum: that of its values. */
    private static String inferred(JsonNode p) {
        if (p.has("enum") && p.get("enum").size() > 0) {
            JsonNode v = p.get("enum").get(0);
            return v.isTextual() ? "string" : v.isIntegralNumber() ? "integer" : v.isNumber() ? "number"
                    : v.isBoolean() ? "boolean" : "any";
        }
        return "any";
    }

    private static String join(JsonNode arr) {
        List<String> l = new ArrayList<>();
        arr.forEach(x -> l.add(x.asText()));
        return String.join(" or ", l);
    }

    static String constraints(JsonNode root, JsonNode p) {
        List<String> c = new ArrayList<>();
        if (p.has("enum")) {
            List<String> v = new ArrayList<>();
            p.get("enum").forEach(x -> v.add(x.isTextual() ? x.asText() : x.toString()));
            c.add("one of " + String.join(", ", v));
        }
        for (String k : List.of("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "minLength",
                "maxLength", "minItems", "maxItems", "minProperties", "maxProperties")) {
            if (p.has(k)) {
                c.add(switch (k) {
                    case "minimum" -> "≥ " + p.get(k);
                    case "exclusiveMinimum" -> "> " + p.get(k);
                    case "maximum" -> "≤ " + p.get(k);
                    case "exclusiveMaximum" -> "< " + p.get(k);
                    default -> k + " " + p.get(k);
                });
            }
        }
        if (p.has("pattern")) {
            c.add("pattern `" + p.get("pattern").asText() + "`");
        }
        if (p.path("uniqueItems").asBoolean(false)) {
            c.add("unique items");
        }
        if (p.has("format")) {
            c.add("format " + p.get("format").asText());
        }
        if (p.path("items").isObject()) {
            String inner = constraints(root, resolve(root, p.get("items")));
            if (!inner.isEmpty()) {
                c.add("items: " + inner);
            }
        }
        return String.join("; ", c);
    }

    /** Markdown table cells: no pipes or line breaks. */
    private static String cell(String s) {
        return s.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("<", "&lt;");
    }

    static String page(FilterDescriptor d, String examples) throws Exception {
        StringBuilder b = new StringBuilder();
        b.append("# ").append(d.name()).append("\n\n");
        b.append("<!-- generated by docs-site PluginReference from the built-in's descriptor and JSON schema -->\n\n");
        b.append(d.description().strip()).append("\n\n");
        b.append("Version `").append(d.version())
                .append("`. Use it in a route's (or `global_plugins`') `plugins` list as ")
                .append("`{name: ").append(d.name()).append(", config: {…}}`; ")
                .append("the config is validated against the schema below when it is written.\n\n");
        b.append("## Fields\n\n");
        List<Field> fields = fields(d.schema());
        if (fields.isEmpty()) {
            b.append("No fields: `config` is `{}` or left out.\n\n");
        } else {
            b.append("| field | type | default | constraints | required | secret | description |\n");
            b.append("|---|---|---|---|---|---|---|\n");
            for (Field f : fields) {
                b.append("| `").append(cell(f.path())).append("` | ").append(cell(f.type())).append(" | ")
                        .append(f.dflt().isEmpty() ? "" : "`" + cell(f.dflt()) + "`").append(" | ")
                        .append(cell(f.constraints().replace("`", ""))).append(" | ")
                        .append(f.required() ? "yes" : "").append(" | ")
                        .append(f.secret() ? "**secret**" : "").append(" | ")
                        .append(cell(f.description())).append(" |\n");
            }
            b.append("\n");
            if (fields.stream().anyMatch(Field::secret)) {
                b.append("A **secret** field (`writeOnly` in the schema) is never shown by the admin API or in an ")
                        .append("export, and may be written as `{$env: NAME}` so that each gateway reads it from ")
                        .append("its own environment: see [security](../security.md#secrets-in-plugin-config).\n\n");
            }
        }
        b.append("## Examples\n\n");
        b.append(examples.isBlank() ? "See [plugins](../plugins.md).\n\n" : examples.strip() + "\n\n");
        b.append("## Schema\n\n```json\n").append(JSON.writerWithDefaultPrettyPrinter()
                .writeValueAsString(JSON.readTree(d.schema()))).append("\n```\n");
        return b.toString();
    }
}
