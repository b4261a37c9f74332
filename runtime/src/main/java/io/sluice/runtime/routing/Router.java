package io.sluice.runtime.routing;

import io.sluice.registry.config.PathPattern;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Matches (method, host, path) to a route. A compressed radix tree of path segments per host (plus one for
 * routes without hosts): chains of literal segments are merged into one edge, literal edges are found by the hash
 * of their first segment, then one parameter child, then one trailing-wildcard slot. Lookup walks the raw path in
 * place (no splitting, no copies), so its cost depends on the path, not on the number of routes.
 *
 * <p>Precedence: routes naming the request's host before host-less ones; then per segment literal over
 * {@code {param}} over {@code **}, which also makes longer matches beat shorter ones. A path that matches only
 * with another method gives {@link Result.MethodNotAllowed} with the methods that would match.
 *
 * @param <R> the route type
 */
public final class Router<R> {
    private final Map<String, Node<R>> byHost;
    private final Node<R> anyHost;

    private Router(Map<String, Node<R>> byHost, Node<R> anyHost) {
        this.byHost = byHost;
        this.anyHost = anyHost;
    }

    /** What a lookup found. */
    public sealed interface Result<R> {
    }

    /**
     * A route matched.
     *
     * @param route  the route
     * @param params path parameters by name; {@code **} holds the wildcard rest
     */
    public record Found<R>(R route, Map<String, String> params) implements Result<R> {
    }

    /**
     * The path matched but not the method.
     *
     * @param allowed methods that would match, for the {@code Allow} header
     */
    public record MethodNotAllowed<R>(Set<String> allowed) implements Result<R> {
    }

    /** Nothing matched. */
    public record NotFound<R>() implements Result<R> {
    }

    /**
     * Starts a router.
     *
     * @param <R> the route type
     * @return a builder
     */
    public static <R> Builder<R> builder() {
        return new Builder<>();
    }

    /**
     * Finds the route for a request.
     *
     * @param method request method
     * @param host   lower-case host without port, or empty
     * @param path   raw path starting with {@code /}
     * @return the result
     */
    public Result<R> lookup(String method, String host, String path) {
        Search<R> search = new Search<>(method, path);
        int start = path.length() <= 1 ? NO_MORE : 1;
        Node<R> hostTree = byHost.isEmpty() ? null : byHost.get(host);
        if (hostTree != null && search.walk(hostTree, start, 0)) {
            return search.found();
        }
        if (search.walk(anyHost, start, 0)) {
            return search.found();
        }
        if (search.allowed != null) {
            return new MethodNotAllowed<>(search.allowed);
        }
        return new NotFound<>();
    }

    /** Position meaning "every segment consumed" (distinct from an empty last segment after a trailing slash). */
    private static final int NO_MORE = -1;
    private static final int MAX_PARAMS = 32;

    private static final class Search<R> {
        final String method;
        final String path;
        final int[] spans = new int[MAX_PARAMS * 2];   // start/end of captured values
        Endpoint<R> hit;
        String rest;
        Set<String> allowed;   // methods of the first (most specific) path-only match

        Search(String method, String path) {
            this.method = method;
            this.path = path;
        }

        /** @param i start of the next segment, or NO_MORE */
        boolean walk(Node<R> node, int i, int params) {
            if (i == NO_MORE) {
                if (node.exact != null && accept(node.exact, params, null)) {
                    return true;
                }
            } else {
                int len = path.length();
                int end = i;
                int hash = 0;
                while (end < len) {
                    char c = path.charAt(end);
                    if (c == '/') {
                        break;
                    }
                    hash = 31 * hash + c;
                    end++;
                }
                Edge<R> edge = node.literals.find(path, i, end, hash);
                if (edge != null) {
                    int labelEnd = i + edge.label.length();
                    // the edge's first segment matched; the rest of a merged edge must match too, whole segments
                    if (labelEnd == end || labelEnd <= len && path.regionMatches(end, edge.label, end - i, labelEnd - end)
                            && (labelEnd == len || path.charAt(labelEnd) == '/')) {
                        int next = labelEnd == len ? NO_MORE : labelEnd + 1;
                        if (walk(edge.child, next, params)) {
                            return true;
                        }
                    }
                }
                if (node.param != null && end > i && params < MAX_PARAMS) {
                    spans[2 * params] = i;
                    spans[2 * params + 1] = end;
                    if (walk(node.param, end == len ? NO_MORE : end + 1, params + 1)) {
                        return true;
                    }
                }
            }
            if (node.rest != null) {
                return accept(node.rest, params, i == NO_MORE ? "" : path.substring(i));
            }
            return false;
        }

        private boolean accept(Methods<R> methods, int params, String restValue) {
            Endpoint<R> e = methods.find(method);
            if (e != null) {
                hit = e;
                rest = restValue;
                return true;
            }
            if (allowed == null) {
                allowed = methods.allowed();
            }
            return false;
        }

        Found<R> found() {
            String[] names = hit.paramNames;
            int n = names.length;
            if (n == 0) {
                return new Found<>(hit.route, Map.of());
            }
            if (n == 1) {
                return new Found<>(hit.route, Map.of(names[0], value(0)));
            }
            Map<String, String> params = new HashMap<>(n * 2);
            for (int k = 0; k < n; k++) {
                params.put(names[k], value(k));
            }
            return new Found<>(hit.route, Map.copyOf(params));
        }

        private String value(int k) {
            if (hit.paramNames[k].equals("**")) {
                return rest;
            }
            return path.substring(spans[2 * k], spans[2 * k + 1]);
        }
    }

    /** A literal edge: {@code label} is one or more whole segments ("a" or, merged, "a/b/c"). */
    private record Edge<R>(String label, int firstHash, Node<R> child) {
    }

    /** Literal edges of a node, found by the hash of their first segment; open addressing, immutable once built. */
    private static final class Literals<R> {
        private static final Literals<?> EMPTY = new Literals<>(new ArrayList<>());
        private final int[] hashes;
        private final Edge<R>[] edges;
        private final int mask;

        @SuppressWarnings("unchecked")
        Literals(List<Edge<R>> list) {
            if (list.size() <= 8) {   // small: a linear scan over packed hashes
                hashes = new int[list.size()];
                edges = list.toArray(new Edge[0]);
                for (int k = 0; k < edges.length; k++) {
                    hashes[k] = edges[k].firstHash;
                }
                mask = -1;
                return;
            }
            int cap = Integer.highestOneBit(list.size() * 2 - 1) << 1;
            hashes = new int[cap];
            edges = new Edge[cap];
            mask = cap - 1;
            for (Edge<R> e : list) {
                int slot = spread(e.firstHash) & mask;
                while (edges[slot] != null) {
                    slot = (slot + 1) & mask;
                }
                hashes[slot] = e.firstHash;
                edges[slot] = e;
            }
        }

        @SuppressWarnings("unchecked")
        static <R> Literals<R> empty() {
            return (Literals<R>) EMPTY;
        }

        Edge<R> find(String path, int start, int end, int hash) {
            int segLen = end - start;
            if (mask < 0) {
                for (int k = 0; k < hashes.length; k++) {
                    if (hashes[k] == hash && firstSegmentEquals(edges[k].label, path, start, segLen)) {
                        return edges[k];
                    }
                }
                return null;
            }
            int slot = spread(hash) & mask;
            Edge<R> e;
            while ((e = edges[slot]) != null) {
                if (hashes[slot] == hash && firstSegmentEquals(e.label, path, start, segLen)) {
                    return e;
                }
                slot = (slot + 1) & mask;
            }
            return null;
        }

        private static boolean firstSegmentEquals(String label, String path, int start, int segLen) {
            return (label.length() == segLen || label.length() > segLen && label.charAt(segLen) == '/')
                    && label.regionMatches(0, path, start, segLen);
        }

        private static int spread(int h) {
            return h ^ (h >>> 16);
        }
    }

    private static final class Node<R> {
        Literals<R> literals = Literals.empty();
        Node<R> param;
        Methods<R> exact;
        Methods<R> rest;
    }

    private static final class Methods<R> {
        private String[] methods = new String[0];
        private Endpoint<R>[] endpoints = newArray(0);
        Endpoint<R> any;

        @SuppressWarnings("unchecked")
        private static <R> Endpoint<R>[] newArray(int n) {
            return new Endpoint[n];
        }

        Endpoint<R> find(String method) {
            for (int k = 0; k < methods.length; k++) {
                if (methods[k].equals(method)) {
                    return endpoints[k];
                }
            }
            if (any != null) {
                return any;
            }
            if (method.equals("HEAD")) {
                return find("GET");   // HEAD is served wherever GET is
            }
            return null;
        }

        boolean add(String method, Endpoint<R> e) {
            if (find0(method) != null) {
                return false;
            }
            int n = methods.length;
            methods = java.util.Arrays.copyOf(methods, n + 1);
            endpoints = java.util.Arrays.copyOf(endpoints, n + 1);
            methods[n] = method;
            endpoints[n] = e;
            return true;
        }

        private Endpoint<R> find0(String method) {
            for (int k = 0; k < methods.length; k++) {
                if (methods[k].equals(method)) {
                    return endpoints[k];
                }
            }
            return null;
        }

        Set<String> allowed() {
            Set<String> out = new TreeSet<>(List.of(methods));
            if (out.contains("GET")) {
                out.add("HEAD");
            }
            return out;
        }
    }

    private record Endpoint<R>(R route, String[] paramNames) {
    }

    /** Build-time node: uncompressed, mutable. */
    private static final class Draft<R> {
        final Map<String, Draft<R>> literals = new LinkedHashMap<>();
        Draft<R> param;
        Methods<R> exact;
        Methods<R> rest;

        boolean isChainLink() {
            return literals.size() == 1 && param == null && exact == null && rest == null;
        }

        Node<R> compile() {
            Node<R> node = new Node<>();
            List<Edge<R>> edges = new ArrayList<>();
            for (Map.Entry<String, Draft<R>> e : literals.entrySet()) {
                StringBuilder label = new StringBuilder(e.getKey());
                Draft<R> child = e.getValue();
                while (child.isChainLink()) {   // merge single-child chains into one edge
                    Map.Entry<String, Draft<R>> only = child.literals.entrySet().iterator().next();
                    label.append('/').append(only.getKey());
                    child = only.getValue();
                }
                edges.add(new Edge<>(label.toString(), e.getKey().hashCode(), child.compile()));
            }
            if (!edges.isEmpty()) {
                node.literals = new Literals<>(edges);
            }
            node.param = param == null ? null : param.compile();
            node.exact = exact;
            node.rest = rest;
            return node;
        }
    }

    /**
     * Collects routes; {@link #build()} makes an immutable router.
     *
     * @param <R> the route type
     */
    public static final class Builder<R> {
        private final Map<String, Draft<R>> byHost = new HashMap<>();
        private final Draft<R> anyHost = new Draft<>();

        private Builder() {
        }

        /**
         * Adds a route under one path pattern.
         *
         * @param pattern path pattern
         * @param methods methods, empty for any
         * @param hosts   hosts, empty for any
         * @param route   the route
         * @return this
         * @throws IllegalArgumentException if the same pattern, method and host are taken already
         */
        public Builder<R> add(PathPattern pattern, List<String> methods, List<String> hosts, R route) {
            List<Draft<R>> roots = new ArrayList<>();
            if (hosts.isEmpty()) {
                roots.add(anyHost);
            } else {
                hosts.forEach(h -> roots.add(byHost.computeIfAbsent(h, k -> new Draft<>())));
            }
            for (Draft<R> root : roots) {
                insert(root, pattern, methods, route);
            }
            return this;
        }

        private void insert(Draft<R> root, PathPattern pattern, List<String> methods, R route) {
            Draft<R> node = root;
            List<String> names = new ArrayList<>();
            Methods<R> slot = null;
            for (PathPattern.Segment s : pattern.segments()) {
                switch (s) {
                    case PathPattern.Literal l -> node = node.literals.computeIfAbsent(l.value(), k -> new Draft<>());
                    case PathPattern.Param p -> {
                        names.add(p.name());
                        if (node.param == null) {
                            node.param = new Draft<>();
                        }
                        node = node.param;
                    }
                    case PathPattern.Rest r -> {
                        names.add("**");
                        if (node.rest == null) {
                            node.rest = new Methods<>();
                        }
                        slot = node.rest;
                    }
                }
            }
            if (names.size() > MAX_PARAMS) {
                throw new IllegalArgumentException("more than " + MAX_PARAMS + " parameters in " + pattern.text());
            }
            if (slot == null) {
                if (node.exact == null) {
                    node.exact = new Methods<>();
                }
                slot = node.exact;
            }
            Endpoint<R> endpoint = new Endpoint<>(route, names.toArray(String[]::new));
            if (methods.isEmpty()) {
                if (slot.any != null) {
                    throw new IllegalArgumentException("path " + pattern.text() + " is taken for all methods");
                }
                slot.any = endpoint;
            } else {
                for (String m : methods) {
                    if (!slot.add(m, endpoint)) {
                        throw new IllegalArgumentException("path " + pattern.text() + " is taken for " + m);
                    }
                }
            }
        }

        /**
         * @return the router
         */
        public Router<R> build() {
            Map<String, Node<R>> hosts = new HashMap<>();
            byHost.forEach((h, d) -> hosts.put(h, d.compile()));
            return new Router<>(Map.copyOf(hosts), anyHost.compile());
        }
    }
}
