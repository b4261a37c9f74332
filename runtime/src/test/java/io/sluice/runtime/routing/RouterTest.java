package io.sluice.runtime.routing;

import io.sluice.registry.config.PathPattern;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

class RouterTest {

    private static Router.Builder<String> add(Router.Builder<String> b, String path, String id) {
        return b.add(PathPattern.parse(path), List.of(), List.of(), id);
    }

    private static String route(Router<String> r, String method, String host, String path) {
        return switch (r.lookup(method, host, path)) {
            case Router.Found<String> f -> f.route();
            case Router.MethodNotAllowed<String> m -> "405" + m.allowed();
            case Router.NotFound<String> n -> "404";
        };
    }

    @Test
    void literalBeatsParamBeatsWildcard() {
        Router.Builder<String> b = Router.builder();
        add(b, "/api/**", "wild");
        add(b, "/api/users/{id}", "param");
        add(b, "/api/users/me", "literal");
        add(b, "/api/users/{id}/posts/**", "posts");
        Router<String> r = b.build();
        assertEquals("literal", route(r, "GET", "", "/api/users/me"));
        assertEquals("param", route(r, "GET", "", "/api/users/42"));
        assertEquals("posts", route(r, "GET", "", "/api/users/42/posts/7/comments"));
        assertEquals("posts", route(r, "GET", "", "/api/users/42/posts"));
        assertEquals("wild", route(r, "GET", "", "/api/users/42/likes"));
        assertEquals("wild", route(r, "GET", "", "/api"));
        assertEquals("404", route(r, "GET", "", "/other"));
    }

    @Test
    void backtracksWhenTheLiteralBranchDeadEnds() {
        Router.Builder<String> b = Router.builder();
        add(b, "/a/b/c", "abc");
        add(b, "/a/{x}/d", "axd");
        Router<String> r = b.build();
        assertEquals("axd", route(r, "GET", "", "/a/b/d"));
        assertEquals("abc", route(r, "GET", "", "/a/b/c"));
    }

    @Test
    void mergedLiteralChainsMatchWholeSegmentsOnly() {
        Router.Builder<String> b = Router.builder();
        add(b, "/a/b/c/d", "abcd");
        add(b, "/a/{p}/c/e", "apce");
        add(b, "/ab/**", "ab");
        add(b, "/a/**", "a");
        Router<String> r = b.build();
        assertEquals("abcd", route(r, "GET", "", "/a/b/c/d"));
        assertEquals("apce", route(r, "GET", "", "/a/b/c/e"), "the merged edge a/b/c/d fails at d, backtrack to {p}");
        assertEquals("a", route(r, "GET", "", "/a/b/c/dd"));
        assertEquals("a", route(r, "GET", "", "/a/b/c"));
        assertEquals("ab", route(r, "GET", "", "/ab/c"));
        assertEquals("a", route(r, "GET", "", "/a/bc/d"));
    }

    @Test
    void paramsAndWildcardRestAreCaptured() {
        Router.Builder<String> b = Router.builder();
        add(b, "/u/{user}/files/**", "files");
        Router.Found<String> f = assertInstanceOf(Router.Found.class,
                b.build().lookup("GET", "", "/u/ann/files/a/b.txt"));
        assertEquals(Map.of("user", "ann", "**", "a/b.txt"), f.params());
    }

    @Test
    void emptySegmentsDoNotMatchParams() {
        Router.Builder<String> b = Router.builder();
        add(b, "/u/{id}", "u");
        Router<String> r = b.build();
        assertEquals("404", route(r, "GET", "", "/u/"));
        assertEquals("u", route(r, "GET", "", "/u/1"));
    }

    @Test
    void trailingSlashIsDistinctAndRootMatches() {
        Router.Builder<String> b = Router.builder();
        add(b, "/", "root");
        add(b, "/a", "a");
        add(b, "/a/", "a-slash");
        Router<String> r = b.build();
        assertEquals("root", route(r, "GET", "", "/"));
        assertEquals("a", route(r, "GET", "", "/a"));
        assertEquals("a-slash", route(r, "GET", "", "/a/"));
    }

    @Test
    void methodsSelectRoutesAndMismatchIsMethodNotAllowed() {
        Router.Builder<String> b = Router.builder();
        b.add(PathPattern.parse("/items"), List.of("GET"), List.of(), "list");
        b.add(PathPattern.parse("/items"), List.of("POST"), List.of(), "create");
        b.add(PathPattern.parse("/other/**"), List.of("DELETE"), List.of(), "del");
        Router<String> r = b.build();
        assertEquals("list", route(r, "GET", "", "/items"));
        assertEquals("list", route(r, "HEAD", "", "/items"));
        assertEquals("create", route(r, "POST", "", "/items"));
        assertEquals("405" + Set.of("GET", "HEAD", "POST").stream().sorted().toList(), route(r, "PUT", "", "/items"));
        assertEquals("405[DELETE]", route(r, "GET", "", "/other/x"));
    }

    @Test
    void methodMismatchFallsThroughToALessSpecificRouteThatAllowsIt() {
        Router.Builder<String> b = Router.builder();
        b.add(PathPattern.parse("/a/{x}"), List.of("GET"), List.of(), "get-x");
        b.add(PathPattern.parse("/a/**"), List.of(), List.of(), "any");
        Router<String> r = b.build();
        assertEquals("get-x", route(r, "GET", "", "/a/1"));
        assertEquals("any", route(r, "POST", "", "/a/1"));
    }

    @Test
    void hostRoutesWinOverHostlessOnes() {
        Router.Builder<String> b = Router.builder();
        b.add(PathPattern.parse("/x/**"), List.of(), List.of(), "any-host");
        b.add(PathPattern.parse("/x/**"), List.of(), List.of("api.example.com"), "api");
        Router<String> r = b.build();
        assertEquals("api", route(r, "GET", "api.example.com", "/x/1"));
        assertEquals("any-host", route(r, "GET", "www.example.com", "/x/1"));
        assertEquals("any-host", route(r, "GET", "", "/x/1"));
    }

    @Test
    void duplicatePathMethodIsRefused() {
        Router.Builder<String> b = Router.builder();
        b.add(PathPattern.parse("/a/{x}"), List.of("GET"), List.of(), "one");
        assertThrows(IllegalArgumentException.class,
                () -> b.add(PathPattern.parse("/a/{y}"), List.of("GET"), List.of(), "two"));
    }

    @Test
    void tenThousandRoutesStillResolveEachOne() {
        Router.Builder<String> b = Router.builder();
        for (int i = 0; i < 10_000; i++) {
            add(b, "/svc" + i + "/v1/items/{id}", "r" + i);
        }
        Router<String> r = b.build();
        for (int i = 0; i < 10_000; i += 97) {
            assertEquals("r" + i, route(r, "GET", "", "/svc" + i + "/v1/items/9"));
        }
    }
}
