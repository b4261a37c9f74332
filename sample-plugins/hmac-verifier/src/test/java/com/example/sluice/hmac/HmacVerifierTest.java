package com.example.sluice.hmac;

import io.sluice.plugin.Filter;
import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.Outcome;
import io.sluice.plugin.testkit.TestExchange;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Written with plugin-api's testkit only: no gateway. */
class HmacVerifierTest {
    static final String SECRET = "0123456789abcdef-secret";
    static final Instant NOW = Instant.parse("2026-11-22T12:00:00Z");
    final Filter filter = new HmacVerifierFactory(Clock.fixed(NOW, ZoneOffset.UTC))
            .create(FilterConfig.of(Map.of("secret", SECRET)));

    static TestExchange signed(String ts, String method, String target, String body) throws Exception {
        return TestExchange.request(method, target).body(body)
                .header("X-Timestamp", ts)
                .header("X-Signature", HmacVerifier.signature(SECRET, ts, method, target,
                        body.getBytes(StandardCharsets.UTF_8)));
    }

    static String now() {
        return String.valueOf(NOW.getEpochSecond());
    }

    @Test
    void aCorrectSignatureProceeds() throws Exception {
        assertEquals(Outcome.proceed(), filter.onRequest(signed(now(), "POST", "/pay?x=1", "{\"amount\": 5}")));
        assertTrue(filter.needsRequestBody());
    }

    @Test
    void aTamperedBodyPathOrMethodIs401() throws Exception {
        TestExchange ex = signed(now(), "POST", "/pay", "{\"amount\": 5}").body("{\"amount\": 500}");
        assertUnauthorized(ex, "does not match");
        TestExchange other = signed(now(), "POST", "/pay", "{}");
        other.request().path("/admin");
        assertUnauthorized(other, "does not match");
    }

    @Test
    void missingStaleOrMalformedSignaturesAre401() throws Exception {
        assertUnauthorized(TestExchange.request("GET", "/"), "must be signed");
        assertUnauthorized(signed(String.valueOf(NOW.getEpochSecond() - 301), "GET", "/", ""), "too old");
        assertUnauthorized(signed(String.valueOf(NOW.getEpochSecond() + 301), "GET", "/", ""), "too old");
        assertUnauthorized(signed("yesterday", "GET", "/", ""), "Unix seconds");
        assertUnauthorized(TestExchange.request("GET", "/").header("X-Timestamp", now())
                .header("X-Signature", "zz-not-hex"), "must be hex");
    }

    @Test
    void configIsReadWithDefaultsAndTheSchemaNamesTheSecret() throws Exception {
        Filter custom = new HmacVerifierFactory(Clock.fixed(NOW, ZoneOffset.UTC)).create(FilterConfig.of(Map.of(
                "secret", SECRET, "signature_header", "Sig", "timestamp_header", "Ts", "max_skew_seconds", 5)));
        TestExchange ex = TestExchange.request("GET", "/a").header("Ts", now())
                .header("Sig", HmacVerifier.signature(SECRET, now(), "GET", "/a", new byte[0]));
        assertEquals(Outcome.proceed(), custom.onRequest(ex));
        assertThrows(IllegalArgumentException.class,
                () -> new HmacVerifierFactory().create(FilterConfig.of(Map.of())));
        assertEquals("hmac-verifier", new HmacVerifierFactory().descriptor().name());
        assertTrue(HmacVerifierFactory.SCHEMA.contains("\"required\": [\"secret\"]"));
    }

    void assertUnauthorized(TestExchange ex, String why) throws Exception {
        Outcome.Respond r = assertInstanceOf(Outcome.Respond.class, filter.onRequest(ex));
        assertEquals(401, r.status());
        assertTrue(r.bodyText().contains(why), r.bodyText());
    }
}
