package io.sluice.builtin.key_auth;

import io.sluice.plugin.Filter;
import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.Outcome;
import io.sluice.plugin.testkit.TestConsumers;
import io.sluice.plugin.testkit.TestExchange;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KeyAuthFilterTest {
    private final TestConsumers consumers = new TestConsumers()
            .add("alice", "sk_alice", "partner")
            .add("bob", "sk_bob");

    private static Filter filter(Map<String, Object> config) {
        return new KeyAuthFilterFactory().create(FilterConfig.of(config));
    }

    private TestExchange request(String pathAndQuery) {
        return TestExchange.request("GET", pathAndQuery).consumers(consumers);
    }

    @Test
    void headerKeySetsConsumerAndIsNotForwarded() throws Exception {
        TestExchange ex = request("/x").header("X-API-Key", "sk_alice");
        assertEquals(Outcome.proceed(), filter(Map.of()).onRequest(ex));
        assertEquals("alice", ex.consumer().orElseThrow().id());
        assertEquals("alice", ex.request().headers().firstOrNull("X-Consumer-Id"));
        assertNull(ex.request().headers().firstOrNull("X-API-Key"));
    }

    @Test
    void hideCredentialsFalseKeepsTheHeader() throws Exception {
        TestExchange ex = request("/x").header("X-API-Key", "sk_bob");
        assertEquals(Outcome.proceed(), filter(Map.of("hide_credentials", false)).onRequest(ex));
        assertEquals("sk_bob", ex.request().headers().firstOrNull("X-API-Key"));
    }

    @Test
    void queryParamKeyIsRemovedFromTheQuery() throws Exception {
        Filter f = filter(Map.of("query_param", "api_key"));
        TestExchange ex = request("/x?a=1&api_key=sk_bob&b=2");
        assertEquals(Outcome.proceed(), f.onRequest(ex));
        assertEquals("bob", ex.consumer().orElseThrow().id());
        assertEquals("a=1&b=2", ex.request().query());
        // removed even when the header carried the key, and when the query key is wrong
        TestExchange both = request("/x?api_key=wrong").header("X-API-Key", "sk_alice");
        assertEquals(Outcome.proceed(), f.onRequest(both));
        assertEquals("alice", both.consumer().orElseThrow().id());
        assertEquals("", both.request().query());
    }

    @Test
    void queryParamIsIgnoredUnlessConfigured() throws Exception {
        Outcome.Respond r = assertInstanceOf(Outcome.Respond.class,
                filter(Map.of()).onRequest(request("/x?api_key=sk_bob")));
        assertEquals(401, r.status());
    }

    @Test
    void missingWrongAndDuplicateKeysAre401WithAChallenge() throws Exception {
        Filter f = filter(Map.of("query_param", "api_key"));
        Map<String, TestExchange> cases = Map.of(
                "an API key is required in the X-API-Key header or the api_key query parameter", request("/x"),
                "invalid API key", request("/x").header("X-API-Key", "sk_nobody"),
                "more than one X-API-Key header", request("/x").header("X-API-Key", "sk_bob").header("X-API-Key", "sk_alice"));
        cases.forEach((message, ex) -> {
            Outcome.Respond r = assertInstanceOf(Outcome.Respond.class, call(f, ex));
            assertEquals(401, r.status());
            assertTrue(r.bodyText().contains("\"error\":\"unauthorized\""), r.bodyText());
            assertTrue(r.bodyText().contains(message), r.bodyText());
            assertEquals("ApiKey realm=\"sluice\", header=\"X-API-Key\", query=\"api_key\"",
                    r.headers().firstOrNull("WWW-Authenticate"));
            assertTrue(ex.consumer().isEmpty());
        });
    }

    @Test
    void allowTagsAnswers403ForOthers() throws Exception {
        Filter f = filter(Map.of("allow_tags", List.of("partner")));
        assertEquals(Outcome.proceed(), f.onRequest(request("/x").header("X-API-Key", "sk_alice")));
        Outcome.Respond r = assertInstanceOf(Outcome.Respond.class,
                f.onRequest(request("/x").header("X-API-Key", "sk_bob")));
        assertEquals(403, r.status());
        assertTrue(r.bodyText().contains("consumer 'bob' may not use this route"), r.bodyText());
    }

    @Test
    void customHeaderNames() throws Exception {
        TestExchange ex = request("/x").header("apikey", "sk_bob");
        assertEquals(Outcome.proceed(),
                filter(Map.of("header", "apikey", "consumer_header", "X-Consumer-Name")).onRequest(ex));
        assertEquals("bob", ex.request().headers().firstOrNull("X-Consumer-Name"));
    }

    private static Outcome call(Filter f, TestExchange ex) {
        try {
            return f.onRequest(ex);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
