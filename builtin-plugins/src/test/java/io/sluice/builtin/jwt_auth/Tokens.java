package io.sluice.builtin.jwt_auth;

import com.auth0.jwt.JWT;
import com.auth0.jwt.JWTCreator;
import com.auth0.jwt.algorithms.Algorithm;

import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.Base64;

/** Keys and tokens for jwt-auth tests, including hand-made malicious ones. */
final class Tokens {
    static final String SECRET = "0123456789abcdef0123456789abcdef";
    static final KeyPair RSA = generate("RSA");
    static final KeyPair EC = generate("EC");

    private Tokens() {
    }

    static KeyPair generate(String type) {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance(type);
            if (type.equals("EC")) {
                g.initialize(new ECGenParameterSpec("secp256r1"));
            } else {
                g.initialize(2048);
            }
            return g.generateKeyPair();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static String pem(KeyPair kp) {
        return "-----BEGIN PUBLIC KEY-----\n"
                + Base64.getMimeEncoder().encodeToString(kp.getPublic().getEncoded()) + "\n-----END PUBLIC KEY-----";
    }

    /** A valid-looking token: sub, exp in an hour. */
    static JWTCreator.Builder claims() {
        return JWT.create().withSubject("ann").withExpiresAt(Instant.now().plusSeconds(3600));
    }

    static String hs256(JWTCreator.Builder b) {
        return b.sign(Algorithm.HMAC256(SECRET));
    }

    static String b64(String json) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(json.getBytes(StandardCharsets.UTF_8));
    }

    /** An unsigned token with the given header JSON. */
    static String unsigned(String headerJson, String payloadJson) {
        return b64(headerJson) + "." + b64(payloadJson) + ".";
    }
}
