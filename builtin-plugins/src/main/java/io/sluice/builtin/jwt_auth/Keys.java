package io.sluice.builtin.jwt_auth;

import com.auth0.jwt.algorithms.Algorithm;
import com.auth0.jwt.interfaces.ECDSAKeyProvider;
import com.auth0.jwt.interfaces.RSAKeyProvider;

import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPrivateKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;

/**
 * Turns the configured algorithm and key material into a java-jwt {@link Algorithm}. The algorithm comes from
 * config only; java-jwt then refuses any token whose {@code alg} header differs.
 */
final class Keys {
    private Keys() {
    }

    static Algorithm algorithm(JwtAuthConfig c) {
        String alg = c.algorithm();
        if (alg.startsWith("HS")) {
            byte[] secret = c.secret().orElseThrow(() -> new IllegalArgumentException(alg + " needs 'secret'"))
                    .getBytes(StandardCharsets.UTF_8);
            int min = Integer.parseInt(alg.substring(2)) / 8;   // RFC 7518 §3.2: at least the hash size
            if (secret.length < min) {
                throw new IllegalArgumentException(alg + " needs a secret of at least " + min + " bytes");
            }
            return switch (alg) {
                case "HS256" -> Algorithm.HMAC256(secret);
                case "HS384" -> Algorithm.HMAC384(secret);
                default -> Algorithm.HMAC512(secret);
            };
        }
        boolean rsa = alg.startsWith("RS");
        if (c.publicKey().isPresent() == c.jwksUrl().isPresent()) {
            throw new IllegalArgumentException(alg + " needs exactly one of 'public_key' and 'jwks_url'");
        }
        if (c.publicKey().isPresent()) {
            PublicKey key = parsePem(c.publicKey().get(), rsa ? "RSA" : "EC");
            if (rsa) {
                RSAPublicKey k = (RSAPublicKey) key;
                return switch (alg) {
                    case "RS256" -> Algorithm.RSA256(k, null);
                    case "RS384" -> Algorithm.RSA384(k, null);
                    default -> Algorithm.RSA512(k, null);
                };
            }
            ECPublicKey k = (ECPublicKey) key;
            return alg.equals("ES256") ? Algorithm.ECDSA256(k, null) : Algorithm.ECDSA384(k, null);
        }
        JwksKeys jwks = new JwksKeys(c.jwksUrl().orElseThrow(), c.jwksRefreshPerMinute());
        if (rsa) {
            RSAKeyProvider p = new RSAKeyProvider() {
                @Override
                public RSAPublicKey getPublicKeyById(String kid) {
                    return (RSAPublicKey) jwks.get(kid, "RSA");
                }

                @Override
                public RSAPrivateKey getPrivateKey() {
                    return null;
                }

                @Override
                public String getPrivateKeyId() {
                    return null;
                }
            };
            return switch (alg) {
                case "RS256" -> Algorithm.RSA256(p);
                case "RS384" -> Algorithm.RSA384(p);
                default -> Algorithm.RSA512(p);
            };
        }
        ECDSAKeyProvider p = new ECDSAKeyProvider() {
            @Override
            public ECPublicKey getPublicKeyById(String kid) {
                return (ECPublicKey) jwks.get(kid, "EC");
            }

            @Override
            public ECPrivateKey getPrivateKey() {
                return null;
            }

            @Override
            public String getPrivateKeyId() {
                return null;
            }
        };
        return alg.equals("ES256") ? Algorithm.ECDSA256(p) : Algorithm.ECDSA384(p);
    }

    static PublicKey parsePem(String pem, String type) {
        String base64 = pem.replace("-----BEGIN PUBLIC KEY-----", "").replace("-----END PUBLIC KEY-----", "")
                .replaceAll("\\s", "");
        try {
            return KeyFactory.getInstance(type).generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(base64)));
        } catch (Exception e) {
            throw new IllegalArgumentException("public_key is not a PEM " + type + " public key: " + e.getMessage(), e);
        }
    }
}
