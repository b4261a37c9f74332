package ${package};

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
 * Both filters uploaded to a real gateway (TestGateway: a Sluice node in its own process) and real requests sent
 * through it. Run by mvn verify, after mvn package made the jar; skipped without a gateway (-Dsluice.home or
 * SLUICE_HOME: a Sluice checkout built with bin/sluice).
 */
class ${className}GatewayIT {
    static TestGateway gateway;

    @BeforeAll
    static void start() {
        assumeTrue(TestGateway.available(), TestGateway.unavailableReason());
        gateway = TestGateway.start();
        HttpResponse<String> jar = gateway.upload(Path.of(System.getProperty("plugin.jar")));
        assertEquals(201, jar.statusCode(), jar.body());
        HttpResponse<String> js = gateway.upload(Path.of("src/main/js/${filterName}-js.js"));
        assertEquals(201, js.statusCode(), js.body());
    }

    @AfterAll
    static void stop() {
        if (gateway != null) {
            gateway.close();
        }
    }

    @Test
    void theJarIsAcceptedAndTagsRealRequests() {
        HttpResponse<String> route = gateway.route("java", "/java/**",
                "[{\"name\": \"${filterName}\", \"config\": {\"tag\": \"from-java\", \"require_header\": \"X-Api-Key\"}}]");
        assertTrue(route.statusCode() / 100 == 2, route.body());

        HttpResponse<String> ok = gateway.get("/java/orders/7", "X-Api-Key", "k");
        assertEquals(200, ok.statusCode(), ok.body());
        assertEquals("from-java", gateway.lastUpstreamRequest().orElseThrow().header("X-Tag").orElseThrow());
        assertEquals("from-java", ok.headers().firstValue("X-Tag").orElseThrow());

        int before = gateway.upstreamRequests();
        HttpResponse<String> refused = gateway.get("/java/orders/7");
        assertEquals(400, refused.statusCode());
        assertTrue(refused.body().contains("missing_header"), refused.body());
        assertEquals(before, gateway.upstreamRequests(), "a refused request never reaches the upstream");
    }

    @Test
    void aConfigOutsideTheSchemaIsRefused() {
        HttpResponse<String> route = gateway.route("bad", "/bad/**", "[{\"name\": \"${filterName}\", \"config\": {}}]");
        assertEquals(400, route.statusCode(), route.body());
    }

    @Test
    void theScriptIsAcceptedAndTagsRealRequests() {
        HttpResponse<String> route = gateway.route("js", "/js/**",
                "[{\"name\": \"${filterName}-js\", \"config\": {\"tag\": \"from-js\"}}]");
        assertTrue(route.statusCode() / 100 == 2, route.body());

        HttpResponse<String> ok = gateway.get("/js/orders/7");
        assertEquals(200, ok.statusCode(), ok.body());
        assertEquals("from-js", gateway.lastUpstreamRequest().orElseThrow().header("X-Tag-Js").orElseThrow());
        assertEquals("from-js", ok.headers().firstValue("X-Tag-Js").orElseThrow());
    }

    @Test
    void bothOnOneRouteEachSetTheirOwnHeader() {
        HttpResponse<String> route = gateway.route("both", "/both/**", "[{\"name\": \"${filterName}\", \"config\": "
                + "{\"tag\": \"from-java\"}}, {\"name\": \"${filterName}-js\", \"config\": {\"tag\": \"from-js\"}}]");
        assertTrue(route.statusCode() / 100 == 2, route.body());

        HttpResponse<String> ok = gateway.get("/both/orders/7");
        assertEquals(200, ok.statusCode(), ok.body());
        TestGateway.UpstreamRequest upstream = gateway.lastUpstreamRequest().orElseThrow();
        assertEquals("from-java", upstream.header("X-Tag").orElseThrow());
        assertEquals("from-js", upstream.header("X-Tag-Js").orElseThrow());
        assertEquals("from-java", ok.headers().firstValue("X-Tag").orElseThrow());
        assertEquals("from-js", ok.headers().firstValue("X-Tag-Js").orElseThrow());
    }
}
