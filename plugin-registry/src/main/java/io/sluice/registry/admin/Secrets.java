package io.sluice.registry.admin;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;

/**
 * Generated secrets (admin tokens, API keys) and their stored form.
 *
 * <p>Secrets are 256 random bits, so a plain SHA-256 is the right hash: there is nothing to brute-force, and a
 * data plane can look a presented API key up by its hash in O(1) per request (a slow password hash such as
 * bcrypt would cost milliseconds per request and buy nothing for random keys).
 */
public final class Secrets {
    private static final SecureRandom RANDOM = new SecureRandom();

    private Secrets() {
    }

    /**
     * A new secret.
     *
     * @param prefix readable prefix, e.g. {@code sk_} (helps secret scanners)
     * @return prefix + 43 base64url characters
     */
    public static String generate(String prefix) {
        byte[] b = new byte[32];
        RANDOM.nextBytes(b);
        return prefix + Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    /**
     * A short random id.
     *
     * @return 12 base64url characters
     */
    public static String id() {
        byte[] b = new byte[9];
        RANDOM.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    /**
     * The stored form of a secret.
     *
     * @param secret the secret
     * @return {@code sha256:<64 hex>}
     */
    public static String hash(String secret) {
        return hash(secret.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The SHA-256 of bytes.
     *
     * @param bytes the bytes
     * @return {@code sha256:<64 hex>}
     */
    public static String hash(byte[] bytes) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(bytes);
            return "sha256:" + HexFormat.of().formatHex(d);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Compares two hashes in constant time.
     *
     * @param a one
     * @param b other
     * @return whether equal
     */
    public static boolean same(String a, String b) {
        return MessageDigest.isEqual(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
    }
}
