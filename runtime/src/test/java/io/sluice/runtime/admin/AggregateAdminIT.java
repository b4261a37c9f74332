package io.sluice.runtime.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.runtime.Node;
import io.sluice.runtime.testing.AdminClient;
import io.sluice.runtime.testing.AdminClient.Resp;
import io.sluice.runtime.testing.Nodes;
import io.sluice.runtime.testing.RawUpstream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Aggregate routes through the admin API of a standalone node: written, validated, served, exported, imported. */
class AggregateAdminIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path dir;
    Node node;
    RawUpstream upstream;
    AdminClient admin;

    @BeforeEach
    void up() throws Exception {
        upstream = RawUpstream.start((req, n) -> {
            String body = "{\"path\":\"" + req.line().split(" ")[1] + "\"}";
            return RawUpstream.Reply.keep("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                    + body.length() + "\r\n\r\n" + body);
        });
        node = Nodes.standalone(dir.resolve("data"));
        admin = Nodes.admin(node);
    }

    @AfterEach
    void down() throws Exception {
        node.close();
        upstream.close();
    }

    private String route(String callUrl) {
        return """
                {"paths": ["/home/{id}"],
                 "aggregate": {"max_body_bytes": 4096, "calls": [
                   {"name": "user", "url": "%1$s/users/{id}", "timeout_ms": 500, "required": true},
                   {"name": "orders", "url": "%2$s", "method": "GET"}]}}""".formatted(upstream.url(), callUrl);
    }

    @Test
    void anAggregateRouteIsServedAndRoundTripsThroughExportAndImport() throws Exception {
        Resp put = admin.put("/v1/routes/home", route(upstream.url() + "/orders?user={id}"));
        assertEquals(201, put.status(), put.toString());

        HttpResponse<String> r = Nodes.get(node, "/home/42");
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(JSON.readTree("{\"user\": {\"path\": \"/users/42\"}, \"orders\": {\"path\": \"/orders?user=42\"}}"),
                JSON.readTree(r.body()));

        JsonNode exported = admin.get("/v1/config/export", "application/json").json();
        JsonNode aggregate = exported.path("routes").get(0).path("aggregate");
        assertEquals(JSON.readTree(route(upstream.url() + "/orders?user={id}")).path("aggregate"), aggregate);

        String yaml = admin.get("/v1/config/export", "application/yaml").body();
        assertTrue(yaml.contains("aggregate:"), yaml);
        admin.delete("/v1/routes/home");
        assertEquals(404, Nodes.get(node, "/home/42").statusCode());
        Resp imported = admin.send("POST", "/v1/config/import", yaml, "application/json", "application/yaml");
        assertEquals(200, imported.status(), imported.toString());
        assertEquals(aggregate, admin.get("/v1/config/export", "application/json").json()
                .path("routes").get(0).path("aggregate"));
        assertEquals(200, Nodes.get(node, "/home/7").statusCode());
    }

    @Test
    void badAggregatesAreRefusedWithDetailsRelativeToTheRoute() {
        Resp unknownParam = admin.put("/v1/routes/home", route(upstream.url() + "/orders/{user}"));
        assertEquals(400, unknownParam.status(), unknownParam.toString());
        assertEquals("invalid_config", unknownParam.json().path("error").asText());
        JsonNode d = unknownParam.json().path("details").get(0);
        assertEquals("aggregate.calls[1].url", d.path("path").asText(), unknownParam.toString());
        assertEquals("unknown path parameter '{user}': path '/home/{id}' of this route does not declare it",
                d.path("message").asText());

        Resp both = admin.put("/v1/routes/home", """
                {"paths": ["/a"], "upstream": {"targets": [{"url": "%1$s"}]},
                 "aggregate": {"calls": [{"name": "a", "url": "%1$s"}]}}""".formatted(upstream.url()));
        assertEquals(400, both.status(), both.toString());
        assertEquals("aggregate", both.json().path("details").get(0).path("path").asText());

        Resp neither = admin.put("/v1/routes/home", "{\"paths\": [\"/a\"]}");
        assertEquals(400, neither.status(), neither.toString());
        assertEquals("upstream", neither.json().path("details").get(0).path("path").asText());

        Resp reserved = admin.put("/v1/routes/home", """
                {"paths": ["/a"], "aggregate": {"calls": [{"name": "errors", "url": "%s"}]}}""".formatted(upstream.url()));
        assertEquals(400, reserved.status(), reserved.toString());
        assertEquals("aggregate.calls[0].name", reserved.json().path("details").get(0).path("path").asText());
        assertEquals(404, admin.get("/v1/routes/home").status(), "nothing was applied");
    }
}
