package io.sluice.builtin.jwt_auth;

import io.sluice.builtin.ConfigCheck;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JwtAuthConfigTest {
    private final JwtAuthFilterFactory factory = new JwtAuthFilterFactory();
    private static final String SECRET = "\"0123456789abcdef0123456789abcdef\"";

    @Test
    void acceptsHmacAndKeySetups() {
        assertEquals(List.of(), ConfigCheck.problems(factory, "{\"algorithm\": \"HS256\", \"secret\": " + SECRET
                + ", \"issuer\": \"https://id.example\", \"audience\": [\"api\"], \"required_scopes\": [\"read\"],"
                + " \"claims_to_headers\": {\"sub\": \"X-User-Id\", \"tenant\": \"X-Tenant\"}}"));
        assertEquals(List.of(), ConfigCheck.problems(factory,
                "{\"algorithm\": \"RS256\", \"jwks_url\": \"https://id.example/.well-known/jwks.json\"}"));
    }

    @Test
    void pinsTheErrors() {
        assertEquals(List.of("algorithm: required property 'algorithm' not found"), ConfigCheck.problems(factory, "{}"));
        assertEquals(List.of("algorithm: does not have a value in the enumeration [\"HS256\", \"HS384\", \"HS512\", \"RS256\", \"RS384\", \"RS512\", \"ES256\", \"ES384\"]"),
                ConfigCheck.problems(factory, "{\"algorithm\": \"none\", \"secret\": " + SECRET + "}"));
        assertEquals(List.of("secret: must be at least 32 characters long"),
                ConfigCheck.problems(factory, "{\"algorithm\": \"HS256\", \"secret\": \"short\"}"));
        assertEquals(List.of("secret: required property 'secret' not found"),
                ConfigCheck.problems(factory, "{\"algorithm\": \"HS256\"}"));
    }

    @Test
    void keyMaterialMustFitTheAlgorithm() {
        List<String> p = ConfigCheck.problems(factory, "{\"algorithm\": \"RS256\"}");
        assertFalse(p.isEmpty(), "RS256 without public_key or jwks_url");
        p = ConfigCheck.problems(factory, "{\"algorithm\": \"RS256\", \"secret\": " + SECRET
                + ", \"jwks_url\": \"https://x\"}");
        assertFalse(p.isEmpty(), "a secret is never accepted for RS256");
        p = ConfigCheck.problems(factory, "{\"algorithm\": \"HS256\", \"secret\": " + SECRET
                + ", \"jwks_url\": \"https://x\"}");
        assertFalse(p.isEmpty(), "HS256 with a JWKS URL is a mix-up");
        assertTrue(ConfigCheck.problems(factory, "{\"algorithm\": \"HS256\", \"secret\": " + SECRET
                + ", \"claims_to_headers\": {\"sub\": \"Bad Header\"}}").size() == 1);
    }
}
