package io.sluice.plugin;

import io.sluice.plugin.testkit.JsFilterHarness;
import io.sluice.plugin.testkit.TestExchange;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JsFilterHarnessTest {
    static final String FILTER = """
            export default {
              name: "greeter", version: "1.2.0",
              schema: {type: "object", properties: {greeting: {type: "string"}}},
              onRequest(ctx, conf) {
                if (ctx.request.headers.get("x-deny")) {
                  return {status: 403, body: {error: "denied", path: ctx.route.params.id}};
                }
                ctx.request.headers.set("x-greeting", conf.greeting + " " + ctx.request.path);
                ctx.vars.set("greeted", true);
              },
              onResponse(ctx) { ctx.response.headers.set("x-status-seen", String(ctx.response.status)); }
            };
            """;

    @Test
    void runsBothPhasesOverATestExchange() {
        try (JsFilterHarness f = JsFilterHarness.of(FILTER)) {
            assertEquals("greeter", f.name());
            assertEquals("1.2.0", f.version());
            assertTrue(f.schema().contains("greeting"));
            TestExchange ex = TestExchange.request("GET", "/hello");
            assertEquals(Outcome.proceed(), f.onRequest(ex, "{\"greeting\": \"hi\"}"));
            assertEquals("hi /hello", ex.request().headers().firstOrNull("x-greeting"));
            assertEquals("true", ex.vars().get("greeted"));
            ex.respond(201, new Headers(), "ok");
            assertEquals(Outcome.proceed(), f.onResponse(ex, "{}"));
            assertEquals("201", ex.response().orElseThrow().headers().firstOrNull("x-status-seen"));
        }
    }

    @Test
    void aCtxKeptByTheScriptNeverReachesAFinishedRequest() {
        try (JsFilterHarness f = JsFilterHarness.of("""
                let kept = null;
                export default { name: "keeper", version: "1.0.0", schema: {type: "object"},
                  onRequest(ctx) {
                    const first = kept === null;
                    if (first) { kept = ctx; }
                    // a kept ctx means the request running now, never the one it was first given for
                    ctx.request.headers.set("x-kept-path", kept.request.path);
                    if (!first) {
                      try { ctx.request.headers.set("x-frozen", String(Object.isFrozen(ctx) && Object.isFrozen(ctx.request))); }
                      catch (e) { ctx.request.headers.set("x-frozen", "threw"); }
                    }
                  },
                  onResponse(ctx) {
                    ctx.response.headers.set("x-same-request", String(kept.request === ctx.request));
                  } };""")) {
            TestExchange first = TestExchange.request("GET", "/first");
            f.onRequest(first, "{}");
            assertEquals("/first", first.request().headers().firstOrNull("x-kept-path"));
            TestExchange second = TestExchange.request("GET", "/second");
            f.onRequest(second, "{}");
            assertEquals("/second", second.request().headers().firstOrNull("x-kept-path"));
            assertEquals("true", second.request().headers().firstOrNull("x-frozen"));
            second.respond(200, new Headers(), "ok");
            f.onResponse(second, "{}");
            assertEquals("true", second.response().orElseThrow().headers().firstOrNull("x-same-request"));
        }
    }

    @Test
    void aCtxUsedAfterItsCallThrowsInsteadOfReachingTheFinishedRequest() {
        // a promise job runs after the filter returned: the request it would read is over
        try (JsFilterHarness f = JsFilterHarness.of("""
                let late = "none";
                export default { name: "late", version: "1.0.0", schema: {type: "object"},
                  onRequest(ctx) {
                    ctx.request.headers.set("x-late", late);
                    Promise.resolve().then(() => {
                      try { late = "read " + ctx.request.path; } catch (e) { late = "threw: " + e.message; }
                    });
                  } };""")) {
            f.onRequest(TestExchange.request("GET", "/first"), "{}");
            TestExchange second = TestExchange.request("GET", "/second");
            f.onRequest(second, "{}");
            assertEquals("threw: ctx is only usable during the call it was passed to",
                    second.request().headers().firstOrNull("x-late"));
        }
    }

    @Test
    void aReturnedObjectIsTheResponse() {
        try (JsFilterHarness f = JsFilterHarness.of(FILTER)) {
            TestExchange ex = TestExchange.request("GET", "/a").header("x-deny", "1").route("r", Map.of("id", "7"));
            Outcome.Respond r = assertInstanceOf(Outcome.Respond.class, f.onRequest(ex, "{}"));
            assertEquals(403, r.status());
            assertEquals("{\"error\":\"denied\",\"path\":\"7\"}", r.bodyText());
            assertEquals("application/json", r.headers().firstOrNull("Content-Type"));
        }
    }

    @Test
    void runawayLoopsAndThrowsFailTheTestWithTheLine() {
        try (JsFilterHarness f = JsFilterHarness.of("""
                export default { name: "spin", version: "1.0.0", schema: {type: "object"},
                  onRequest(ctx, conf) {
                    if (conf.spin) { while (true) {} }
                    throw new Error("boom");
                  } };""")) {
            IllegalStateException spin = assertThrows(IllegalStateException.class,
                    () -> f.onRequest(TestExchange.request("GET", "/"), "{\"spin\": true}"));
            assertTrue(spin.getMessage().contains("ran more than 1000000 statements"), spin.getMessage());
            IllegalStateException boom = assertThrows(IllegalStateException.class,
                    () -> f.onRequest(TestExchange.request("GET", "/"), "{}"));
            assertTrue(boom.getMessage().contains("line 4") && boom.getMessage().contains("boom"), boom.getMessage());
        }
    }

    @Test
    void modulesTheGatewayWouldRefuseAreRefused() {
        IllegalArgumentException exports = assertThrows(IllegalArgumentException.class,
                () -> JsFilterHarness.of("export default { name: \"Bad\", version: \"1\" };"));
        assertTrue(exports.getMessage().contains("name must be kebab-case"), exports.getMessage());
        assertTrue(exports.getMessage().contains("onRequest"), exports.getMessage());
        IllegalArgumentException syntax = assertThrows(IllegalArgumentException.class,
                () -> JsFilterHarness.of("export default {\n  name: 'x' oops };"));
        assertTrue(syntax.getMessage().contains("line 2"), syntax.getMessage());
        IllegalArgumentException java = assertThrows(IllegalArgumentException.class,
                () -> JsFilterHarness.of("const S = Java.type('java.lang.System');\nexport default {};"));
        assertTrue(java.getMessage().contains("Java"), java.getMessage());
    }
}
