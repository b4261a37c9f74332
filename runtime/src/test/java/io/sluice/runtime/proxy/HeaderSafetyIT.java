package io.sluice.runtime.proxy;

import io.sluice.runtime.Node;
import io.sluice.runtime.testing.AdminClient;
import io.sluice.runtime.testing.AdminClient.Resp;
import io.sluice.runtime.testing.EchoUpstream;
import io.sluice.runtime.testing.Nodes;
import io.sluice.runtime.testing.RawHttp;
import io.sluice.runtime.testing.RawUpstream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Header safety at every boundary: a filter that puts CR/LF/NUL into a header fails (and its {@code on_error}
 * applies), an upstream response header carrying one is answered 502, and the response-splitting attempt of the
 * issue adds no header to the client's response.
 */
class HeaderSafetyIT {
    @TempDir
    Path dir;
    Node node;
    EchoUpstream upstream;
    RawUpstream raw;
    AdminClient admin;

    @BeforeEach
    void up() throws Exception {
        upstream = EchoUpstream.start("app");
        raw = RawUpstream.start((q, n) -> {
            String path = q.line().split(" ")[1];
            String bad = switch (path) {
                case "/cr" -> "X-Bad: a\rSet-Cookie: injected=1";
                case "/nul" -> "X-Bad: a\u0000b";
                case "/vt" -> "X-Bad: a\u000bb";
                case "/del" -> "X-Bad: a\u007fb";
                case "/name" -> "X Bad: a";
                default -> "X-Good: fine";
            };
            return RawUpstream.Reply.keep("HTTP/1.1 200 OK\r\n" + bad + "\r\nContent-Length: 2\r\n\r\nok");
        });
        node = Nodes.standalone(dir.resolve("data"));
        admin = Nodes.admin(node);
        // the filter: a decoded query value copied into a response header
        Resp up = admin.send("POST", "/v1/filters", """
                export default {
                  name: "lang-echo", version: "1.0.0",
                  schema: {type: "object"},
                  onRequest(ctx, conf) { },
                  onResponse(ctx, conf) {
                    const m = /(?:^|&)lang=([^&]*)/.exec(ctx.request.query);
                    if (m) { ctx.response.headers.set("Content-Language", decodeURIComponent(m[1])); }
                  }
                };""", "application/json", "application/javascript");
        assertEquals(201, up.status(), up.toString());
    }

    @AfterEach
    void down() throws Exception {
        node.close();
        upstream.close();
        raw.close();
    }

    private void route(String id, String path, String url, String plugins) {
        Resp r = admin.put("/v1/routes/" + id, """
                {"paths": ["%s"], "upstream": {"targets": [{"url": "%s"}]}, "plugins": %s}"""
                .formatted(path, url, plugins));
        assertTrue(r.status() == 200 || r.status() == 201, r.toString());
    }

    @Test
    void responseSplittingThroughAJavaScriptFilterFailsTheFilter() throws Exception {
        route("closed", "/closed/**", upstream.url(), "[{\"name\": \"lang-echo\", \"config\": {}}]");
        route("open", "/open/**", upstream.url(),
                "[{\"name\": \"lang-echo\", \"config\": {}, \"on_error\": \"fail_open\"}]");
        int port = node.server().proxyPort();

        RawHttp.Response ok = RawHttp.exchange(port, "GET /closed/x?lang=en HTTP/1.1\r\nHost: gw\r\n\r\n");
        assertEquals(200, ok.status(), ok.text());
        assertEquals("en", ok.header("Content-Language"));

        String attack = "GET /closed/x?lang=en%0d%0aSet-Cookie:%20session=attacker HTTP/1.1\r\nHost: gw\r\n\r\n";
        RawHttp.Response closed = RawHttp.exchange(port, attack);
        assertEquals(500, closed.status(), closed.text());
        assertTrue(closed.text().contains("\"error\":\"filter_error\""), closed.text());
        assertNull(closed.header("Set-Cookie"), "no header may be injected");
        assertNull(closed.header("Content-Language"));

        RawHttp.Response open = RawHttp.exchange(port, attack.replace("/closed/", "/open/"));
        assertEquals(200, open.status(), open.text());
        assertNull(open.header("Set-Cookie"), "no header may be injected");
        assertNull(open.header("Content-Language"), "the failed filter's header is not set");

        for (String v : List.of("%00", "%0a", "%0d", "x%0d%0a%0d%0a%3chtml%3e")) {
            RawHttp.Response r = RawHttp.exchange(port, "GET /closed/x?lang=" + v + " HTTP/1.1\r\nHost: gw\r\n\r\n");
            assertEquals(500, r.status(), v + ": " + r.text());
            assertNull(r.header("Set-Cookie"), v);
        }
    }

    @Test
    void aRequestHeaderWithALineBreakFailsTheFilterBeforeTheUpstreamSeesIt() throws Exception {
        assertEquals(201, admin.send("POST", "/v1/filters", """
                export default {
                  name: "req-inject", version: "1.0.0",
                  schema: {type: "object"},
                  onRequest(ctx, conf) { ctx.request.headers.set("X-Tag", "a\\r\\nX-Smuggled: 1"); }
                };""", "application/json", "application/javascript").status());
        route("inject", "/inject/**", upstream.url(), "[{\"name\": \"req-inject\", \"config\": {}}]");
        int before = upstream.count();
        RawHttp.Response r = RawHttp.exchange(node.server().proxyPort(),
                "GET /inject/x HTTP/1.1\r\nHost: gw\r\n\r\n");
        assertEquals(500, r.status(), r.text());
        assertTrue(r.text().contains("\"error\":\"filter_error\""), r.text());
        assertEquals(before, upstream.count(), "nothing may reach the upstream");
    }

    @ParameterizedTest
    @ValueSource(strings = {"/cr", "/nul", "/vt", "/del", "/name"})
    void anUpstreamHeaderWithAControlCharacterIsABadGateway(String path) throws Exception {
        route("raw", "/**", raw.url(), "[]");
        int port = node.server().proxyPort();
        RawHttp.Response r = RawHttp.exchange(port, "GET " + path + " HTTP/1.1\r\nHost: gw\r\n\r\n");
        assertEquals(502, r.status(), path + ": " + r.text());
        assertTrue(r.text().contains("\"error\":\"bad_gateway\""), r.text());
        assertNull(r.header("Set-Cookie"));
        RawHttp.Response good = RawHttp.exchange(port, "GET /good HTTP/1.1\r\nHost: gw\r\n\r\n");
        assertEquals(200, good.status(), good.text());
        assertEquals("fine", good.header("X-Good"));
    }
}
