package io.sluice.builtin.key_auth;

import io.sluice.runtime.Node;
import io.sluice.runtime.testing.AdminClient;
import io.sluice.runtime.testing.AdminClient.Resp;
import io.sluice.runtime.testing.EchoUpstream;
import io.sluice.runtime.testing.Nodes;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** key-auth on a standalone node: consumers and keys made through the admin API, traffic to a real upstream. */
class KeyAuthIT {

    @TempDir
    Path dir;
    Node node;
    EchoUpstream upstream;
    AdminClient admin;

    @BeforeEach
    void up() throws Exception {
        upstream = EchoUpstream.start("orders");
        node = Nodes.standalone(dir.resolve("data"));
        admin = Nodes.admin(node);
        Resp route = admin.put("/v1/routes/orders", """
                {"paths": ["/orders/**"], "upstream": {"targets": [{"url": "%s"}]},
                 "plugins": [{"name": "key-auth", "config": {"query_param": "api_key", "allow_tags": ["partner", "internal"]}}]}"""
                .formatted(upstream.url()));
        assertEquals(201, route.status(), route.toString());
    }

    @AfterEach
    void down() {
        node.close();
        upstream.close();
    }

    HttpResponse<String> get(String path, String... headers) throws Exception {
        return Nodes.get(node, path, headers);
    }

    String newKey(String consumer) {
        Resp key = admin.post("/v1/consumers/" + consumer + "/api-keys", "");
        assertEquals(201, key.status(), key.toString());
        return key.json().path("key").asText();
    }

    @Test
    void keyFromTheRegistryAuthenticatesAndIsNeverForwarded() throws Exception {
        assertEquals(201, admin.put("/v1/consumers/acme", "{\"tags\": [\"partner\"]}").status());
        String key = newKey("acme");

        // a client's own identity header is dropped; the key header and query parameter never reach the upstream
        HttpResponse<String> ok = get("/orders/7?x=1", "X-API-Key", key, "X-Consumer-Id", "admin");
        assertEquals(200, ok.statusCode(), ok.body());
        EchoUpstream.Received seen = upstream.last();
        assertEquals("acme", seen.header("X-Consumer-Id"));
        assertNull(seen.header("X-API-Key"));
        assertEquals("/orders/7?x=1", seen.target());

        HttpResponse<String> byQuery = get("/orders/8?api_key=" + key + "&y=2");
        assertEquals(200, byQuery.statusCode(), byQuery.body());
        assertEquals("/orders/8?y=2", upstream.last().target());
        assertEquals("acme", upstream.last().header("X-Consumer-Id"));
    }

    @Test
    void missingUnknownAndRevokedKeysAre401AndNeverReachTheUpstream() throws Exception {
        assertEquals(201, admin.put("/v1/consumers/acme", "{\"tags\": [\"partner\"]}").status());
        Resp created = admin.post("/v1/consumers/acme/api-keys", "");
        String key = created.json().path("key").asText();
        int before = upstream.count();

        HttpResponse<String> none = get("/orders/1");
        assertEquals(401, none.statusCode());
        assertTrue(none.body().contains("\"error\":\"unauthorized\""), none.body());
        assertEquals("ApiKey realm=\"sluice\", header=\"X-API-Key\", query=\"api_key\"",
                none.headers().firstValue("WWW-Authenticate").orElseThrow());
        assertEquals(401, get("/orders/1", "X-API-Key", "sk_not_a_key").statusCode());
        assertEquals(401, get("/orders/1", "X-API-Key", key + "x").statusCode());

        assertEquals(200, get("/orders/1", "X-API-Key", key).statusCode());
        Resp revoked = admin.delete("/v1/consumers/acme/api-keys/" + created.json().path("id").asText());
        assertEquals(204, revoked.status(), revoked.toString());
        assertEquals(401, get("/orders/1", "X-API-Key", key).statusCode());
        assertEquals(before + 1, upstream.count());

        // deleting the consumer takes every key with it
        String other = newKey("acme");
        assertEquals(200, get("/orders/1", "X-API-Key", other).statusCode());
        assertEquals(204, admin.delete("/v1/consumers/acme").status());
        assertEquals(401, get("/orders/1", "X-API-Key", other).statusCode());
    }

    @Test
    void consumerWithoutAnAllowedTagIs403() throws Exception {
        assertEquals(201, admin.put("/v1/consumers/guest", "{\"tags\": [\"public\"]}").status());
        HttpResponse<String> r = get("/orders/1", "X-API-Key", newKey("guest"));
        assertEquals(403, r.statusCode());
        assertTrue(r.body().contains("consumer 'guest' may not use this route"), r.body());
    }
}
