package io.sluice.builtin.jwt_auth;

import com.auth0.jwt.JWT;
import com.auth0.jwt.algorithms.Algorithm;
import io.sluice.plugin.Filter;
import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.Outcome;
import io.sluice.plugin.testkit.TestExchange;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPrivateKey;
import java.security.interfaces.RSAPublicKey;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JwtAuthFilterTest {
    private static Filter filter(Map<String, Object> config) {
        return new JwtAuthFilterFactory().create(FilterConfig.of(config));
    }

    private static final Filter HS = filter(Map.of("algorithm", "HS256", "secret", Tokens.SECRET,
            "issuer", "https://id.example", "audience", List.of("api"),
            "claims_to_headers", Map.of("sub", "X-User-Id", "tenant", "X-Tenant")));
    private static final Filter RS = filter(Map.of("algorithm", "RS256", "public_key", Tokens.pem(Tokens.RSA)));
    private static final Filter ES = filter(Map.of("algorithm", "ES256", "public_key", Tokens.pem(Tokens.EC)));

    private static Outcome call(Filter f, String token, TestExchange ex) throws Exception {
        return f.onRequest(token == null ? ex : ex.header("Authorization", "Bearer " + token));
    }

    private static Outcome call(Filter f, String token) throws Exception {
        return call(f, token, TestExchange.request("GET", "/"));
    }

    private static Outcome.Respond refused(Outcome o, int status) {
        Outcome.Respond r = assertInstanceOf(Outcome.Respond.class, o);
        assertEquals(status, r.status(), r.bodyText());
        return r;
    }

    private static String good() {
        return Tokens.hs256(Tokens.claims().withIssuer("https://id.example").withAudience("api")
                .withClaim("tenant", "acme"));
    }

    @Test
    void validTokenSetsIdentityHeadersAndConsumer() throws Exception {
        TestExchange ex = TestExchange.request("GET", "/").header("X-User-Id", "forged").header("X-Tenant", "evil");
        assertEquals(Outcome.proceed(), call(HS, good(), ex));
        assertEquals(List.of("ann"), ex.request().headers().all("X-User-Id"));
        assertEquals(List.of("acme"), ex.request().headers().all("X-Tenant"));
        assertEquals("ann", ex.consumer().orElseThrow().id());
    }

    @Test
    void forgedIdentityHeadersAreRemovedEvenWhenRefused() throws Exception {
        TestExchange ex = TestExchange.request("GET", "/").header("X-User-Id", "forged");
        refused(call(HS, null, ex), 401);
        assertNull(ex.request().headers().firstOrNull("X-User-Id"));
    }

    @Test
    void missingOrMalformedCredentialsAre401WithChallenge() throws Exception {
        Outcome.Respond r = refused(call(HS, null), 401);
        assertEquals("Bearer realm=\"sluice\"", r.headers().firstOrNull("WWW-Authenticate"));
        assertTrue(r.bodyText().contains("\"error\":\"unauthorized\""), r.bodyText());
        r = refused(HS.onRequest(TestExchange.request("GET", "/").header("Authorization", "Basic YTpi")), 401);
        assertEquals("Bearer realm=\"sluice\", error=\"invalid_request\"", r.headers().firstOrNull("WWW-Authenticate"));
    }

    @Test
    void algNoneIsRefused() throws Exception {
        String payload = "{\"sub\":\"ann\",\"iss\":\"https://id.example\",\"aud\":\"api\",\"exp\":"
                + (Instant.now().getEpochSecond() + 3600) + "}";
        refused(call(HS, Tokens.unsigned("{\"alg\":\"none\",\"typ\":\"JWT\"}", payload)), 401);
        refused(call(HS, Tokens.unsigned("{\"alg\":\"None\",\"typ\":\"JWT\"}", payload)), 401);
        refused(call(RS, Tokens.unsigned("{\"alg\":\"none\"}", payload)), 401);
    }

    @Test
    void hs256SignedWithTheRsaPublicKeyIsRefused() throws Exception {
        // the classic key-confusion attack: the public key is public, so an attacker can HMAC with it
        byte[] publicKeyBytes = Tokens.pem(Tokens.RSA).getBytes(StandardCharsets.UTF_8);
        String forged = Tokens.claims().sign(Algorithm.HMAC256(publicKeyBytes));
        Outcome.Respond r = refused(call(RS, forged), 401);
        assertTrue(r.bodyText().contains("algorithm not allowed"), r.bodyText());
    }

    @Test
    void expiryRules() throws Exception {
        refused(call(HS, Tokens.hs256(JWT.create().withSubject("ann").withIssuer("https://id.example")
                .withAudience("api"))), 401);
        Outcome.Respond r = refused(call(HS, Tokens.hs256(Tokens.claims().withIssuer("https://id.example")
                .withAudience("api").withExpiresAt(Instant.now().minusSeconds(60)))), 401);
        assertTrue(r.bodyText().contains("token expired"), r.bodyText());
        refused(call(HS, Tokens.hs256(Tokens.claims().withIssuer("https://id.example").withAudience("api")
                .withNotBefore(Instant.now().plusSeconds(600)))), 401);
        Filter lenient = filter(Map.of("algorithm", "HS256", "secret", Tokens.SECRET, "leeway_seconds", 120L));
        assertEquals(Outcome.proceed(), call(lenient, Tokens.hs256(Tokens.claims()
                .withExpiresAt(Instant.now().minusSeconds(60)))), "within the leeway");
        Filter noExpNeeded = filter(Map.of("algorithm", "HS256", "secret", Tokens.SECRET, "require_exp", false));
        assertEquals(Outcome.proceed(), call(noExpNeeded, Tokens.hs256(JWT.create().withSubject("ann"))));
    }

    @Test
    void wrongIssuerOrAudienceIsRefused() throws Exception {
        refused(call(HS, Tokens.hs256(Tokens.claims().withIssuer("https://evil.example").withAudience("api"))), 401);
        refused(call(HS, Tokens.hs256(Tokens.claims().withIssuer("https://id.example").withAudience("other"))), 401);
        refused(call(HS, Tokens.hs256(Tokens.claims().withAudience("api"))), 401);
    }

    @Test
    void badSignaturesAreRefused() throws Exception {
        String token = good();
        String tampered = token.substring(0, token.lastIndexOf('.') + 1) + "AAAA" + token.substring(token.lastIndexOf('.') + 5);
        refused(call(HS, tampered), 401);
        String otherSecret = Tokens.claims().sign(Algorithm.HMAC256("another-secret-that-is-32-bytes-long!"));
        refused(call(HS, otherSecret), 401);
        String otherRsa = Tokens.claims().sign(Algorithm.RSA256((RSAPublicKey) Tokens.generate("RSA").getPublic(),
                (RSAPrivateKey) Tokens.generate("RSA").getPrivate()));
        refused(call(RS, otherRsa), 401);
        String rsOk = Tokens.claims().sign(Algorithm.RSA256((RSAPublicKey) Tokens.RSA.getPublic(),
                (RSAPrivateKey) Tokens.RSA.getPrivate()));
        assertEquals(Outcome.proceed(), call(RS, rsOk));
    }

    @Test
    void zeroedEcdsaSignatureIsRefused() throws Exception {
        // CVE-2022-21449 ("psychic signatures"): r = s = 0 verified as valid on vulnerable JDKs
        String ok = Tokens.claims().sign(Algorithm.ECDSA256((ECPublicKey) Tokens.EC.getPublic(),
                (ECPrivateKey) Tokens.EC.getPrivate()));
        assertEquals(Outcome.proceed(), call(ES, ok));
        String zeroed = ok.substring(0, ok.lastIndexOf('.') + 1)
                + Base64.getUrlEncoder().withoutPadding().encodeToString(new byte[64]);
        refused(call(ES, zeroed), 401);
    }

    @Test
    void malformedTokensAreRefused() throws Exception {
        for (String junk : List.of("abc", "a.b.c", "abc.def!.ghi", "..", "eyJhbGciOiJIUzI1NiJ9.%%%.x")) {
            Outcome.Respond r = refused(call(HS, junk), 401);
            assertEquals("Bearer realm=\"sluice\", error=\"invalid_token\"", r.headers().firstOrNull("WWW-Authenticate"));
        }
    }

    @Test
    void scopesAndClaimsAuthorizeWith403() throws Exception {
        Filter f = filter(Map.of("algorithm", "HS256", "secret", Tokens.SECRET,
                "required_scopes", List.of("orders:read"), "required_claims", Map.of("role", List.of("admin", "ops"))));
        assertEquals(Outcome.proceed(), call(f, Tokens.hs256(Tokens.claims().withClaim("scope", "orders:read profile")
                .withClaim("role", "ops"))));
        assertEquals(Outcome.proceed(), call(f, Tokens.hs256(Tokens.claims().withClaim("scp", List.of("orders:read"))
                .withClaim("role", List.of("viewer", "admin")))));
        Outcome.Respond r = refused(call(f, Tokens.hs256(Tokens.claims().withClaim("scope", "profile")
                .withClaim("role", "ops"))), 403);
        assertEquals("Bearer realm=\"sluice\", error=\"insufficient_scope\"", r.headers().firstOrNull("WWW-Authenticate"));
        assertTrue(r.bodyText().contains("\"error\":\"forbidden\""), r.bodyText());
        refused(call(f, Tokens.hs256(Tokens.claims().withClaim("scope", "orders:read").withClaim("role", "viewer"))), 403);
    }

    @Test
    void repeatedTokensHitTheCacheAndStillExpire() throws Exception {
        Filter f = filter(Map.of("algorithm", "HS256", "secret", Tokens.SECRET));
        String shortLived = Tokens.hs256(Tokens.claims().withExpiresAt(Instant.now().plusSeconds(1)));
        assertEquals(Outcome.proceed(), call(f, shortLived));
        assertEquals(Outcome.proceed(), call(f, shortLived));
        long waitUntil = System.currentTimeMillis() + 3000;
        Outcome o = Outcome.proceed();
        while (System.currentTimeMillis() < waitUntil && o == Outcome.proceed()) {
            Thread.sleep(100);
            o = call(f, shortLived);
        }
        refused(o, 401);
    }

    @Test
    void hmacSecretsShorterThanTheHashAreRefusedAtCreate() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> filter(Map.of(
                "algorithm", "HS512", "secret", Tokens.SECRET)));
        assertEquals("HS512 needs a secret of at least 64 bytes", e.getMessage());
    }
}
