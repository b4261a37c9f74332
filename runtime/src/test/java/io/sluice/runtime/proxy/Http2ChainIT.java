package io.sluice.runtime.proxy;

import io.helidon.http.HeaderNames;
import io.helidon.webclient.api.HttpClientResponse;
import io.helidon.webclient.http2.Http2Client;
import io.sluice.runtime.Node;
import io.sluice.runtime.testing.AdminClient;
import io.sluice.runtime.testing.AdminClient.Resp;
import io.sluice.runtime.testing.EchoUpstream;
import io.sluice.runtime.testing.Nodes;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole chain runs unchanged for HTTP/2 requests: key-auth, a rate limit and an uploaded JavaScript filter on a
 * standalone node, reached by prior-knowledge h2c.
 */
class Http2ChainIT {
    @TempDir
    Path dir;
    Node node;
    EchoUpstream upstream;
    AdminClient admin;

    @BeforeEach
    void up() throws Exception {
        upstream = EchoUpstream.start("app");
        node = Nodes.standalone(dir.resolve("data"));
        admin = Nodes.admin(node);
    }

    @AfterEach
    void down() {
        node.close();
        upstream.close();
    }

    @Test
    void keyAuthRateLimitAndAJavaScriptFilterOverHttp2() throws Exception {
        Resp js = admin.send("POST", "/v1/filters", """
                export default {
                  name: "h2-tagger", version: "1.0.0",
                  schema: {type: "object", properties: {}},
                  onRequest(ctx, conf) { ctx.request.headers.set("x-tag", "js " + (ctx.consumer ? ctx.consumer.id : "none")); },
                  onResponse(ctx, conf) { ctx.response.headers.set("x-tagged", "yes"); }
                };
                """, "application/json", "application/javascript");
        assertEquals(201, js.status(), js.toString());
        assertEquals(201, admin.put("/v1/consumers/acme", "{}").status());
        Resp key = admin.post("/v1/consumers/acme/api-keys", "");
        assertEquals(201, key.status());
        String apiKey = key.json().path("key").asText();
        Resp route = admin.put("/v1/routes/app", """
                {"paths": ["/app/**"], "upstream": {"targets": [{"url": "%s"}]},
                 "plugins": [{"name": "key-auth"},
                             {"name": "rate-limit", "config": {"rate": 0.001, "burst": 3, "by": "consumer"}},
                             {"name": "h2-tagger"}]}""".formatted(upstream.url()));
        assertEquals(201, route.status(), route.toString());

        Http2Client h2 = Http2Client.builder().baseUri("http://127.0.0.1:" + node.server().proxyPort())
                .protocolConfig(pc -> pc.priorKnowledge(true)).shareConnectionCache(false)
                .readTimeout(Duration.ofSeconds(10)).build();
        try (HttpClientResponse r = h2.get("/app/x").request()) {
            assertEquals(401, r.status().code(), "no key");
            assertTrue(r.headers().contains(HeaderNames.WWW_AUTHENTICATE));
        }
        assertEquals(0, upstream.count(), "refused before the upstream");
        for (int i = 0; i < 3; i++) {
            try (HttpClientResponse r = h2.get("/app/x").header(HeaderNames.create("X-API-Key"), apiKey)
                    .header(HeaderNames.create("X-Consumer-Id"), "admin").request()) {
                assertEquals(200, r.status().code(), "request " + i);
                assertEquals("yes", r.headers().first(HeaderNames.create("x-tagged")).orElse(null));
            }
        }
        EchoUpstream.Received got = upstream.last();
        assertEquals("js acme", got.header("x-tag"), "the JS filter saw the consumer key-auth set");
        assertEquals("acme", got.header("X-Consumer-Id"), "the gateway's identity header, not the client's copy");
        assertNull(got.header("X-API-Key"), "the key is not forwarded");
        try (HttpClientResponse r = h2.get("/app/x").header(HeaderNames.create("X-API-Key"), apiKey).request()) {
            assertEquals(429, r.status().code(), "the burst of 3 is spent");
            assertTrue(r.headers().contains(HeaderNames.create("RateLimit-Limit")));
            assertTrue(r.headers().contains(HeaderNames.RETRY_AFTER));
        }
        assertEquals(3, upstream.count());
    }
}
