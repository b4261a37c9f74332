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
 * Matches (method, host, path) to a route. A radix tree of path segments per host (plus one for routes without
 * hosts): literal children in a hash map, one parameter child, one trailing-wildcard slot. Lookup walks one
 * segment at a time, so its cost depends on the path's length, not on the number of routes.
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
        String[] segments = split(path);
        Search<R> search = new Search<>(method, segments);
        Node<R> hostTree = byHost.isEmpty() ? null : byHost.get(host);
        if (hostTree != null && search.walk(hostTree, 0)) {
            return search.found();
        }
        if (search.walk(anyHost, 0)) {
            return search.found();
        }
        if (search.allowed != null) {
            return new MethodNotAllowed<>(search.allowed);
        }
        return new NotFound<>();
    }

    private static String[] split(String path) {
        // "/" -> [], "/a/b" -> [a, b], "/a/" -> [a, ""]
        if (path.length() <= 1) {
            return new String[0];
        }
        int count = 1;
        for (int i = 1; i < path.length(); i++) {
            if (path.charAt(i) == '/') {
                count++;
            }
        }
        String[] out = new String[count];
        int start = 1;
        int k = 0;
        for (int i = 1; i <= path.length(); i++) {
            if (i == path.length() || path.charAt(i) == '/') {
                out[k++] = path.substring(start, i);
                start = i + 1;
            }
        }
        return out;
    }

    private static final class Search<R> {
        final String method;
        final String[] segments;
        final String[] values;
        Endpoint<R> hit;
        int hitDepth;
        Set<String> allowed;   // methods of the first (most specific) path-only match

        Search(String method, String[] segments) {
            this.method = method;
            this.segments = segments;
            this.values = new String[segments.length + 1];
        }

        boolean walk(Node<R> node, int depth) {
            return walk(node, depth, 0);
        }

        private boolean walk(Node<R> node, int i, int paramCount) {
            if (i == segments.length) {
                if (node.exact != null && accept(node.exact, paramCount, null)) {
                    return true;
                }
            } else {
                Node<R> lit = node.literals.get(segments[i]);
                if (lit != null && walk(lit, i + 1, paramCount)) {
                    return true;
                }
                if (node.param != null && !segments[i].isEmpty()) {
                    values[paramCount] = segments[i];
                    if (walk(node.param, i + 1, paramCount + 1)) {
                        return true;
                    }
                }
            }
            if (node.rest != null) {
                String rest = i >= segments.length ? "" : String.join("/", java.util.Arrays.copyOfRange(segments, i, segments.length));
                return accept(node.rest, paramCount, rest);
            }
            return false;
        }

        private boolean accept(Methods<R> methods, int paramCount, String rest) {
            Endpoint<R> e = methods.byMethod.get(method);
            if (e == null) {
                e = methods.any;
            }
            if (e == null && method.equals("HEAD")) {
                e = methods.byMethod.get("GET");   // HEAD is served wherever GET is
            }
            if (e != null) {
                hit = e;
                hitDepth = paramCount;
                if (rest != null) {
                    values[paramCount] = rest;
                }
                return true;
            }
            if (allowed == null) {
                allowed = new TreeSet<>(methods.byMethod.keySet());
                if (allowed.contains("GET")) {
                    allowed.add("HEAD");
                }
            }
            return false;
        }

        Found<R> found() {
            Map<String, String> params;
            String[] names = hit.paramNames;
            if (names.length == 0) {
                params = Map.of();
            } else {
                params = new HashMap<>(names.length * 2);
                for (int k = 0; k < names.length; k++) {
                    params.put(names[k], values[k]);
                }
            }
            return new Found<>(hit.route, params);
        }
    }

    private static final class Node<R> {
        final Map<String, Node<R>> literals = new HashMap<>();
        Node<R> param;
        Methods<R> exact;
        Methods<R> rest;
    }

    private static final class Methods<R> {
        final Map<String, Endpoint<R>> byMethod = new LinkedHashMap<>();
        Endpoint<R> any;
    }

    private record Endpoint<R>(R route, String[] paramNames) {
    }

    /**
     * Collects routes; {@link #build()} makes an immutable router.
     *
     * @param <R> the route type
     */
    public static final class Builder<R> {
        private final Map<String, Node<R>> byHost = new HashMap<>();
        private final Node<R> anyHost = new Node<>();

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
            List<Node<R>> roots = new ArrayList<>();
            if (hosts.isEmpty()) {
                roots.add(anyHost);
            } else {
                hosts.forEach(h -> roots.add(byHost.computeIfAbsent(h, k -> new Node<>())));
            }
            for (Node<R> root : roots) {
                insert(root, pattern, methods, route);
            }
            return this;
        }

        private void insert(Node<R> root, PathPattern pattern, List<String> methods, R route) {
            Node<R> node = root;
            List<String> names = new ArrayList<>();
            Methods<R> slot = null;
            for (PathPattern.Segment s : pattern.segments()) {
                switch (s) {
                    case PathPattern.Literal l -> node = node.literals.computeIfAbsent(l.value(), k -> new Node<>());
                    case PathPattern.Param p -> {
                        names.add(p.name());
                        if (node.param == null) {
                            node.param = new Node<>();
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
                    if (slot.byMethod.putIfAbsent(m, endpoint) != null) {
                        throw new IllegalArgumentException("path " + pattern.text() + " is taken for " + m);
                    }
                }
            }
        }

        /**
         * @return the router
         */
        public Router<R> build() {
            return new Router<>(Map.copyOf(byHost), anyHost);
        }
    }
}
