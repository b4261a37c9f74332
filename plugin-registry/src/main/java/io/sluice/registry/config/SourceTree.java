package io.sluice.registry.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

import java.io.StringReader;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A YAML or JSON document as a JSON tree, remembering the source line of every field so that errors can say
 * {@code file:line}. JSON is read by the same parser (JSON is YAML 1.2 flow style).
 *
 * @param root  the document as JSON
 * @param lines field path to 1-based line
 */
public record SourceTree(JsonNode root, Map<String, Integer> lines) {

    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

    /**
     * Parses text.
     *
     * @param text YAML or JSON
     * @return the tree
     * @throws ConfigException on syntax errors or duplicate keys
     */
    public static SourceTree parse(String text) throws ConfigException {
        SourceTree json = parseJson(text);
        if (json != null) {
            return json;
        }
        LoaderOptions options = new LoaderOptions();
        options.setAllowDuplicateKeys(false);
        options.setMaxAliasesForCollections(10);
        options.setCodePointLimit(16 * 1024 * 1024);
        options.setNestingDepthLimit(50);   // SnakeYAML's default, pinned: convert() below recurses once per level
        Node node;
        try {
            node = new Yaml(new SafeConstructor(options)).compose(new StringReader(text));
        } catch (MarkedYAMLException e) {
            int line = e.getProblemMark() == null ? 1 : e.getProblemMark().getLine() + 1;
            throw new ConfigException(List.of(new Problem("", line, "syntax error: " + e.getProblem())));
        } catch (YAMLException e) {
            throw new ConfigException(List.of(new Problem("", 1, "syntax error: " + e.getMessage())));
        } catch (IllegalArgumentException e) {
            // SnakeYAML throws this, not a YAMLException, for a malformed tag such as "!%a" (found by fuzzing)
            throw new ConfigException(List.of(new Problem("", 1, "syntax error: " + e.getMessage())));
        }
        Map<String, Integer> lines = new HashMap<>();
        List<Problem> problems = new ArrayList<>();
        JsonNode root = node == null ? JSON.objectNode()
                : convert(node, "", lines, problems, Collections.newSetFromMap(new IdentityHashMap<>()));
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        return new SourceTree(root, lines);
    }

    private static final int MAX_DEPTH = 50;
    private static final com.fasterxml.jackson.core.JsonFactory JSON_FACTORY = com.fasterxml.jackson.core.JsonFactory
            .builder().streamReadConstraints(com.fasterxml.jackson.core.StreamReadConstraints.builder()
                    .maxNestingDepth(MAX_DEPTH).maxStringLength(16 * 1024 * 1024).build()).build();

    /**
     * The fast path for JSON (what the admin API, exports and data planes exchange): a streaming parse, some ten
     * times faster than composing YAML, giving the same tree (integers as longs, like the YAML path) and lines.
     * Anything that is not strict JSON (YAML flow style, comments, a syntax error) returns null and goes the YAML
     * way, so problems read the same whichever way a document came.
     */
    private static SourceTree parseJson(String text) {
        int i = 0;
        while (i < text.length() && Character.isWhitespace(text.charAt(i))) {
            i++;
        }
        if (i == text.length() || text.charAt(i) != '{') {
            return null;
        }
        Map<String, Integer> lines = new HashMap<>();
        try (com.fasterxml.jackson.core.JsonParser p = JSON_FACTORY.createParser(text)) {
            p.nextToken();
            JsonNode root = readJson(p, "", lines);
            if (p.nextToken() != null) {
                return null;   // trailing content: let the YAML path explain it
            }
            return new SourceTree(root, lines);
        } catch (java.io.IOException | RuntimeException e) {
            return null;
        }
    }

    /** Reads the value at the parser's current token; null on a duplicate key (the YAML path reports it). */
    private static JsonNode readJson(com.fasterxml.jackson.core.JsonParser p, String path, Map<String, Integer> lines)
            throws java.io.IOException {
        lines.putIfAbsent(path, p.currentTokenLocation().getLineNr());
        switch (p.currentToken()) {
            case START_OBJECT -> {
                ObjectNode out = JSON.objectNode();
                while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
                    String key = p.currentName();
                    String child = path.isEmpty() ? key : path + "." + key;
                    if (out.has(key)) {
                        throw new IllegalStateException("duplicate key");
                    }
                    lines.put(child, p.currentTokenLocation().getLineNr());
                    p.nextToken();
                    out.set(key, readJson(p, child, lines));
                }
                return out;
            }
            case START_ARRAY -> {
                ArrayNode out = JSON.arrayNode();
                int n = 0;
                while (p.nextToken() != com.fasterxml.jackson.core.JsonToken.END_ARRAY) {
                    out.add(readJson(p, path + "[" + n++ + "]", lines));
                }
                return out;
            }
            case VALUE_STRING -> {
                return JSON.textNode(p.getText());
            }
            case VALUE_NUMBER_INT -> {
                BigInteger big = p.getBigIntegerValue();
                return big.bitLength() < 63 ? JSON.numberNode(big.longValue()) : JSON.numberNode(big);
            }
            case VALUE_NUMBER_FLOAT -> {
                return JSON.numberNode(Double.parseDouble(p.getText()));
            }
            case VALUE_TRUE -> {
                return JSON.booleanNode(true);
            }
            case VALUE_FALSE -> {
                return JSON.booleanNode(false);
            }
            case VALUE_NULL -> {
                return JSON.nullNode();
            }
            default -> throw new IllegalStateException("unexpected " + p.currentToken());
        }
    }

    /**
     * The line of a field, or of its nearest enclosing field that has one.
     *
     * @param path field path
     * @return 1-based line, or 0 if unknown
     */
    public int lineOf(String path) {
        String p = path;
        while (true) {
            Integer line = lines.get(p);
            if (line != null) {
                return line;
            }
            if (p.isEmpty()) {
                return 0;
            }
            int cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
            p = cut < 0 ? "" : p.substring(0, cut);
        }
    }

    /**
     * A problem at a path, with the line filled in.
     *
     * @param path    field path
     * @param message what is wrong
     * @return the problem
     */
    public Problem problem(String path, String message) {
        return new Problem(path, lineOf(path), message);
    }

    private static JsonNode convert(Node node, String path, Map<String, Integer> lines, List<Problem> problems,
                                    Set<Node> enclosing) {
        lines.putIfAbsent(path, node.getStartMark().getLine() + 1);
        // SnakeYAML composes an alias inside its own anchor ("&a [*a]") into a cycle; walking it would never end
        if (!(node instanceof ScalarNode) && !enclosing.add(node)) {
            problems.add(new Problem(path, node.getStartMark().getLine() + 1, "recursive alias"));
            return JSON.nullNode();
        }
        try {
            return convertIn(node, path, lines, problems, enclosing);
        } finally {
            enclosing.remove(node);
        }
    }

    private static JsonNode convertIn(Node node, String path, Map<String, Integer> lines, List<Problem> problems,
                                      Set<Node> enclosing) {
        if (node instanceof MappingNode map) {
            ObjectNode out = JSON.objectNode();
            Set<String> seen = new HashSet<>();
            for (NodeTuple t : map.getValue()) {
                if (!(t.getKeyNode() instanceof ScalarNode key)) {
                    problems.add(new Problem(path, t.getKeyNode().getStartMark().getLine() + 1,
                            "keys must be plain strings"));
                    continue;
                }
                String child = path.isEmpty() ? key.getValue() : path + "." + key.getValue();
                if (!seen.add(key.getValue())) {
                    problems.add(new Problem(child, key.getStartMark().getLine() + 1, "duplicate key"));
                    continue;
                }
                lines.put(child, key.getStartMark().getLine() + 1);
                out.set(key.getValue(), convert(t.getValueNode(), child, lines, problems, enclosing));
            }
            return out;
        }
        if (node instanceof SequenceNode seq) {
            ArrayNode out = JSON.arrayNode();
            List<Node> items = seq.getValue();
            for (int i = 0; i < items.size(); i++) {
                out.add(convert(items.get(i), path + "[" + i + "]", lines, problems, enclosing));
            }
            return out;
        }
        ScalarNode s = (ScalarNode) node;
        Tag tag = s.getTag();
        String v = s.getValue();
        try {
            if (Tag.NULL.equals(tag)) {
                return JSON.nullNode();
            } else if (Tag.BOOL.equals(tag)) {
                return JSON.booleanNode(v.equalsIgnoreCase("true") || v.equalsIgnoreCase("yes")
                        || v.equalsIgnoreCase("on"));
            } else if (Tag.INT.equals(tag)) {
                BigInteger big = new BigInteger(v.replace("_", ""));
                return big.bitLength() < 63 ? JSON.numberNode(big.longValue()) : JSON.numberNode(big);
            } else if (Tag.FLOAT.equals(tag)) {
                return JSON.numberNode(Double.parseDouble(v.replace("_", "")));
            }
        } catch (NumberFormatException e) {
            problems.add(new Problem(path, s.getStartMark().getLine() + 1, "not a number: " + v));
        }
        return JSON.textNode(v);
    }
}
