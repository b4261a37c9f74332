package io.sluice.builtin.transform;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.Headers;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * JSON body rules of one side: set, remove, mask fields addressed by dot-separated paths. Bodies that are not
 * JSON (by Content-Type, or because they do not parse) pass untouched.
 */
record BodyRules(Map<String[], JsonNode> set, List<String[]> remove, List<String[]> mask) {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final BodyRules NONE = new BodyRules(Map.of(), List.of(), List.of());

    static BodyRules from(Optional<FilterConfig> side) {
        Optional<FilterConfig> body = side.flatMap(s -> s.object("body"));
        if (body.isEmpty()) {
            return NONE;
        }
        FilterConfig b = body.get();
        Map<String[], JsonNode> set = new LinkedHashMap<>();
        b.object("set").ifPresent(o -> o.values().forEach((k, v) -> set.put(k.split("\\."), JSON.valueToTree(v))));
        return new BodyRules(set, paths(b.list("remove")), paths(b.list("mask")));
    }

    private static List<String[]> paths(List<Object> list) {
        return list.stream().map(p -> ((String) p).split("\\.")).toList();
    }

    boolean isEmpty() {
        return set.isEmpty() && remove.isEmpty() && mask.isEmpty();
    }

    /**
     * Applies the rules.
     *
     * @return the new body, or empty when the body is not JSON (left as it was)
     */
    Optional<byte[]> apply(Headers headers, byte[] body) {
        String type = headers.firstOrNull("Content-Type");
        if (type == null || !isJson(type) || body.length == 0) {
            return Optional.empty();
        }
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (IOException e) {
            return Optional.empty();   // says JSON, is not: pass it on as it came
        }
        if (!(root instanceof ObjectNode object)) {
            return Optional.empty();
        }
        remove.forEach(p -> parent(object, p, false).ifPresent(o -> o.remove(p[p.length - 1])));
        mask.forEach(p -> parent(object, p, false).ifPresent(o -> {
            JsonNode v = o.get(p[p.length - 1]);
            if (v != null && (v.isTextual() || v.isNumber())) {
                o.put(p[p.length - 1], masked(v.asText()));
            }
        }));
        set.forEach((p, v) -> parent(object, p, true).ifPresent(o -> o.set(p[p.length - 1], v.deepCopy())));
        try {
            return Optional.of(JSON.writeValueAsBytes(object));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static boolean isJson(String contentType) {
        String t = contentType.toLowerCase(Locale.ROOT);
        int semi = t.indexOf(';');
        String mime = (semi < 0 ? t : t.substring(0, semi)).strip();
        return mime.equals("application/json") || mime.endsWith("+json");
    }

    private static Optional<ObjectNode> parent(ObjectNode root, String[] path, boolean create) {
        ObjectNode node = root;
        for (int i = 0; i < path.length - 1; i++) {
            JsonNode next = node.get(path[i]);
            if (next instanceof ObjectNode o) {
                node = o;
            } else if (create && (next == null || next.isNull())) {
                node = node.putObject(path[i]);
            } else {
                return Optional.empty();
            }
        }
        return Optional.of(node);
    }

    static String masked(String v) {
        return v.length() > 8 ? "****" + v.substring(v.length() - 4) : "****";
    }
}
