package io.sluice.builtin.jwt_auth;

import com.auth0.jwt.JWT;
import com.auth0.jwt.algorithms.Algorithm;
import com.sun.net.httpserver.HttpServer;
import io.sluice.runtime.SluiceServer;
import io.sluice.runtime.testing.EchoUpstream;
import io.sluice.runtime.testing.Gateways;
import io.sluice.runtime.testing.RawHttp;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.RSAPrivateKey;
import java.security.interfaces.RSAPublicKey;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** jwt-auth in a real gateway, with a real JWKS endpoint and a real upstream. */
class JwtAuthIT {
    private static EchoUpstream upstream;
    private static HttpServer jwksServer;
    private static final AtomicReference<String> JWKS = new AtomicReference<>();
    private static final AtomicInteger JWKS_FETCHES = new AtomicInteger();
    private static SluiceServer gw;
    private static KeyPair key1;
    private static KeyPair key2;

    @BeforeAll
    static void start() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        key1 = g.generateKeyPair();
        key2 = g.generateKeyPair();
        JWKS.set(jwks(jwk("k1", key1)));
        jwksServer = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        jwksServer.createContext("/jwks.json", ex -> {
            JWKS_FETCHES.incrementAndGet();
            byte[] body = JWKS.get().getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().add("Content-Type", "application/json");
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        jwksServer.start();
        upstream = EchoUpstream.start("up");
        gw = Gateways.start("""
                routes:
                  - id: api
                    paths: ["/api/**"]
                    upstream: {targets: [{url: "%s"}]}
                    plugins:
                      - name: jwt-auth
                        config:
                          algorithm: RS256
                          jwks_url: "http://127.0.0.1:%d/jwks.json"
                          jwks_refresh_per_minute: 3
                          issuer: https://id.example
                          claims_to_headers: {sub: X-User-Id, tenant: X-Tenant}
                """.formatted(upstream.url(), jwksServer.getAddress().getPort()));
    }

    @AfterAll
    static void stop() {
        gw.close();
        upstream.close();
        jwksServer.stop(0);
    }

    private static String jwk(String kid, KeyPair kp) {
        RSAPublicKey k = (RSAPublicKey) kp.getPublic();
        return "{\"kty\":\"RSA\",\"kid\":\"" + kid + "\",\"use\":\"sig\",\"alg\":\"RS256\",\"n\":\"" + b64(k.getModulus())
                + "\",\"e\":\"" + b64(k.getPublicExponent()) + "\"}";
    }

    private static String jwks(String... keys) {
        return "{\"keys\":[" + String.join(",", keys) + "]}";
    }

    private static String b64(BigInteger v) {
        byte[] b = v.toByteArray();
        if (b[0] == 0) {
            b = Arrays.copyOfRange(b, 1, b.length);
        }
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    private static String token(String kid, KeyPair kp) {
        return JWT.create().withKeyId(kid).withSubject("ann").withIssuer("https://id.example")
                .withClaim("tenant", "acme").withExpiresAt(Instant.now().plusSeconds(600))
                .sign(Algorithm.RSA256((RSAPublicKey) kp.getPublic(), (RSAPrivateKey) kp.getPrivate()));
    }

    private static RawHttp.Response get(String token, String extraHeaders) throws Exception {
        return RawHttp.exchange(gw.proxyPort(), "GET /api/me HTTP/1.1\r\nHost: x\r\n"
                + (token == null ? "" : "Authorization: Bearer " + token + "\r\n") + extraHeaders + "\r\n");
    }

    @Test
    void validTokenReachesTheUpstreamWithIdentityHeadersOnly() throws Exception {
        RawHttp.Response r = get(token("k1", key1), "X-User-Id: mallory\r\nX-Tenant: evil\r\n");
        assertEquals(200, r.status(), r.text());
        assertEquals("ann", upstream.last().header("X-User-Id"));
        assertEquals("acme", upstream.last().header("X-Tenant"));
        assertEquals(1, upstream.last().headers().get("X-User-Id").size());
    }

    @Test
    void refusedRequestsNeverReachTheUpstream() throws Exception {
        int before = upstream.count();
        RawHttp.Response none = get(null, "X-User-Id: mallory\r\n");
        assertEquals(401, none.status());
        assertEquals("Bearer realm=\"sluice\"", none.header("WWW-Authenticate"));
        String forged = JWT.create().withKeyId("k1").withSubject("ann").withIssuer("https://id.example")
                .withExpiresAt(Instant.now().plusSeconds(600)).sign(Algorithm.HMAC256(JWKS.get()));
        assertEquals(401, get(forged, "").status(), "HS256 signed with the public JWKS");
        assertEquals(401, get("not.a.jwt", "").status());
        assertEquals(before, upstream.count());
    }

    @Test
    void rotatedKeysAreFetchedAndUnknownKidsAreRateLimited() throws Exception {
        String rotated = token("k2", key2);
        JWKS.set(jwks(jwk("k1", key1), jwk("k2", key2)));   // the identity provider publishes a new key
        assertEquals(200, get(rotated, "").status(), "unknown kid k2 triggers a JWKS fetch");
        int fetches = JWKS_FETCHES.get();
        for (int i = 0; i < 20; i++) {
            assertEquals(401, get(token("ghost-" + i, key2), "").status());
        }
        assertTrue(JWKS_FETCHES.get() - fetches <= 3,
                "20 unknown kids caused " + (JWKS_FETCHES.get() - fetches) + " fetches (limit 3 a minute)");
    }
}
