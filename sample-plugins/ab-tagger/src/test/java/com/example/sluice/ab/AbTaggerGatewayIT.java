package com.example.sluice.ab;

import io.sluice.plugin.testkit.TestGateway;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpResponse;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The packaged jar uploaded to a real gateway with plugin-api's TestGateway, and requests sent through it. mvn
 * verify runs it when a built gateway is found (-Dsluice.home or SLUICE_HOME; this module's pom points at the
 * checkout it sits in); docs-site's SdkTemplateIT runs it after the gateway is built.
 */
class AbTaggerGatewayIT {
    static TestGateway gateway;

    @BeforeAll
    static void start() {
        assumeTrue(TestGateway.available(), TestGateway.unavailableReason());
        gateway = TestGateway.start();
        HttpResponse<String> up = gateway.upload(Path.of(System.getProperty("plugin.jar")));
        assertEquals(201, up.statusCode(), up.body());
    }

    @AfterAll
    static void stop() {
        if (gateway != null) {
            gateway.close();
        }
    }

    @Test
    void tagsRealRequestsStickyByTheSessionHeader() {
        HttpResponse<String> route = gateway.route("cart", "/cart/**", """
                [{"name": "ab-tagger", "config": {"experiment": "checkout", "sticky_header": "X-Session-Id"}}]""");
        assertTrue(route.statusCode() / 100 == 2, route.body());
        for (int i = 0; i < 3; i++) {
            HttpResponse<String> r = gateway.get("/cart/items", "X-Session-Id", "user-2", "X-AB-Variant", "A");
            assertEquals(200, r.statusCode(), r.body());
            // the same vector as AbTaggerTest and the JavaScript twin: user-2 is in B at 50 %
            assertEquals("B", gateway.lastUpstreamRequest().orElseThrow().header("X-AB-Variant").orElseThrow());
            assertEquals("B", r.headers().firstValue("X-AB-Variant").orElseThrow());
        }
    }

    @Test
    void aConfigOutsideItsSchemaIsRefusedByTheGateway() {
        HttpResponse<String> route = gateway.route("bad", "/bad/**", """
                [{"name": "ab-tagger", "config": {"experiment": "checkout", "percent_b": 150}}]""");
        assertEquals(400, route.statusCode(), route.body());
        assertTrue(route.body().contains("percent_b"), route.body());
    }
}
