package io.sluice.builtin.transform;

import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.Query;
import io.sluice.plugin.Request;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Path template and query rules of the request side.
 *
 * @param pathTemplate new path with {@code {name}} / {@code {**}} placeholders, or empty
 * @param queryRemove  parameters removed
 * @param queryAdd     parameters appended
 */
record RequestRewrite(Optional<String> pathTemplate, List<String> queryRemove, Map<String, String> queryAdd) {
    private static final Pattern PLACEHOLDER = Pattern.compile("\\{([A-Za-z_][A-Za-z0-9_]*|\\*\\*)}");

    static RequestRewrite from(Optional<FilterConfig> side) {
        Optional<String> path = side.flatMap(s -> s.string("path"));
        Optional<FilterConfig> query = side.flatMap(s -> s.object("query"));
        List<String> remove = query.map(q -> q.list("remove").stream().map(String.class::cast).toList())
                .orElse(List.of());
        Map<String, String> add = new java.util.LinkedHashMap<>();
        query.flatMap(q -> q.object("add")).ifPresent(a -> a.values().forEach((k, v) -> add.put(k, (String) v)));
        return new RequestRewrite(path, remove, Map.copyOf(add));
    }

    boolean isEmpty() {
        return pathTemplate.isEmpty() && queryRemove.isEmpty() && queryAdd.isEmpty();
    }

    /** Placeholders the template uses that a route must provide. */
    List<String> placeholders() {
        List<String> out = new ArrayList<>();
        pathTemplate.ifPresent(t -> {
            Matcher m = PLACEHOLDER.matcher(t);
            while (m.find()) {
                out.add(m.group(1));
            }
        });
        return out;
    }

    void apply(Request request, Map<String, String> params) {
        pathTemplate.ifPresent(t -> {
            Matcher m = PLACEHOLDER.matcher(t);
            StringBuilder b = new StringBuilder();
            while (m.find()) {
                // values are raw path text already; a missing one (the route has no such parameter) becomes empty
                m.appendReplacement(b, Matcher.quoteReplacement(params.getOrDefault(m.group(1), "")));
            }
            m.appendTail(b);
            request.path(b.toString());
        });
        if (!queryRemove.isEmpty() || !queryAdd.isEmpty()) {
            StringBuilder q = new StringBuilder(Query.remove(request.query(), queryRemove));
            queryAdd.forEach((k, v) -> q.append(q.isEmpty() ? "" : "&")
                    .append(URLEncoder.encode(k, StandardCharsets.UTF_8)).append('=')
                    .append(URLEncoder.encode(v, StandardCharsets.UTF_8)));
            request.query(q.toString());
        }
    }
}
