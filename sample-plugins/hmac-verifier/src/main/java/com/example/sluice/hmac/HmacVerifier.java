package com.example.sluice.hmac;

import io.sluice.plugin.Exchange;
import io.sluice.plugin.Filter;
import io.sluice.plugin.Outcome;
import io.sluice.plugin.Request;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.HexFormat;

/** Checks one request's signature; immutable and thread-safe (a {@link Mac} per call). */
final class HmacVerifier implements Filter {
    private static final String ALGORITHM = "HmacSHA256";
    private final SecretKeySpec key;
    private final String signatureHeader;
    private final String timestampHeader;
    private final long maxSkewSeconds;
    private final Clock clock;

    HmacVerifier(byte[] secret, String signatureHeader, String timestampHeader, long maxSkewSeconds, Clock clock) {
        this.key = new SecretKeySpec(secret, ALGORITHM);
        this.signatureHeader = signatureHeader;
        this.timestampHeader = timestampHeader;
        this.maxSkewSeconds = maxSkewSeconds;
        this.clock = clock;
    }

    @Override
    public boolean needsRequestBody() {
        return true;   // the body is signed
    }

    @Override
    public Outcome onRequest(Exchange exchange) throws GeneralSecurityException {
        Request req = exchange.request();
        String signature = req.headers().firstOrNull(signatureHeader);
        String timestamp = req.headers().firstOrNull(timestampHeader);
        if (signature == null || timestamp == null) {
            return Outcome.error(401, "unauthorized", "the request must be signed (" + signatureHeader + ", "
                    + timestampHeader + ")");
        }
        long at;
        try {
            at = Long.parseLong(timestamp);
        } catch (NumberFormatException e) {
            return Outcome.error(401, "unauthorized", timestampHeader + " must be Unix seconds");
        }
        if (Math.abs(clock.instant().getEpochSecond() - at) > maxSkewSeconds) {
            return Outcome.error(401, "unauthorized", "the signature's timestamp is too old or in the future");
        }
        byte[] presented;
        try {
            presented = HexFormat.of().parseHex(signature.trim().toLowerCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            return Outcome.error(401, "unauthorized", signatureHeader + " must be hex");
        }
        if (!MessageDigest.isEqual(presented, sign(timestamp, req))) {
            return Outcome.error(401, "unauthorized", "the signature does not match");
        }
        return Outcome.proceed();
    }

    private byte[] sign(String timestamp, Request req) throws GeneralSecurityException {
        String target = req.query() == null || req.query().isEmpty() ? req.path() : req.path() + "?" + req.query();
        return mac(key, timestamp, req.method(), target, req.body().orElse(new byte[0]));
    }

    private static byte[] mac(SecretKeySpec key, String timestamp, String method, String target, byte[] body)
            throws GeneralSecurityException {
        Mac mac = Mac.getInstance(ALGORITHM);
        mac.init(key);
        mac.update((timestamp + "\n" + method + "\n" + target + "\n").getBytes(StandardCharsets.UTF_8));
        return mac.doFinal(body);
    }

    /**
     * The signature a client sends, for clients and tests.
     *
     * @param secret    shared secret
     * @param timestamp Unix seconds, as sent
     * @param method    request method
     * @param target    path and query, as sent
     * @param body      body bytes (empty for none)
     * @return lower-case hex
     */
    static String signature(String secret, String timestamp, String method, String target, byte[] body)
            throws GeneralSecurityException {
        return HexFormat.of().formatHex(mac(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), ALGORITHM),
                timestamp, method, target, body));
    }
}
