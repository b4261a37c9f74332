package io.sluice.builtin.transform;

import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.Headers;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The header rules of one side, bound once from config.
 */
record HeaderRules(List<String> remove, Map<String, String> rename, Map<String, String> set,
                   Map<String, String> add) {

    static final HeaderRules NONE = new HeaderRules(List.of(), Map.of(), Map.of(), Map.of());

    static HeaderRules from(Optional<FilterConfig> side) {
        Optional<FilterConfig> headers = side.flatMap(s -> s.object("headers"));
        if (headers.isEmpty()) {
            return NONE;
        }
        FilterConfig h = headers.get();
        return new HeaderRules(h.list("remove").stream().map(String.class::cast).toList(),
                strings(h, "rename"), strings(h, "set"), strings(h, "add"));
    }

    private static Map<String, String> strings(FilterConfig c, String key) {
        return c.object(key).map(o -> {
            var out = new java.util.LinkedHashMap<String, String>();
            o.values().forEach((k, v) -> out.put(k, (String) v));
            return java.util.Collections.unmodifiableMap(out);
        }).orElse(Map.of());
    }

    boolean isEmpty() {
        return remove.isEmpty() && rename.isEmpty() && set.isEmpty() && add.isEmpty();
    }

    void apply(Headers headers) {
        remove.forEach(headers::remove);
        rename.forEach((from, to) -> {
            List<String> values = headers.all(from);
            if (!values.isEmpty()) {
                headers.remove(from);
                values.forEach(v -> headers.add(to, v));
            }
        });
        set.forEach(headers::set);
        add.forEach(headers::add);
    }
}
