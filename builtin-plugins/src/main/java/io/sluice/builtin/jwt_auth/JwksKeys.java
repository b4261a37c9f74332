package io.sluice.builtin.jwt_auth;

import com.auth0.jwk.Jwk;
import com.auth0.jwk.UrlJwkProvider;

import java.net.MalformedURLException;
import java.net.URI;
import java.security.PublicKey;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * The keys of one JWKS URL, by kid. A fetch keeps every key of the set (so a burst of unknown kids cannot evict
 * the good ones); an unknown kid triggers a fetch at most {@code perMinute} times a minute, and the set is
 * refreshed when it is older than {@code MAX_AGE_MILLIS} so keys the provider retired stop being accepted.
 * Fetching and parsing the set is jwks-rsa's ({@link UrlJwkProvider}); this class only decides when.
 */
final class JwksKeys {
    static final long MAX_AGE_MILLIS = 10 * 60_000;

    private final UrlJwkProvider provider;
    private final int perMinute;
    private final ArrayDeque<Long> recentFetches = new ArrayDeque<>();
    private volatile Map<String, PublicKey> keys = Map.of();
    private volatile long fetchedAt;

    JwksKeys(String url, int perMinute) {
        try {
            this.provider = new UrlJwkProvider(URI.create(url).toURL(), 2000, 2000);
        } catch (MalformedURLException | IllegalArgumentException e) {
            throw new IllegalArgumentException("bad jwks_url: " + e.getMessage(), e);
        }
        this.perMinute = perMinute;
    }

    /**
     * The key for a kid, of the given JCA type ("RSA" or "EC").
     *
     * @return the key, or null when unknown (after a fetch, if one was allowed)
     */
    PublicKey get(String kid, String type) {
        if (kid == null) {
            return null;
        }
        boolean stale = System.currentTimeMillis() - fetchedAt > MAX_AGE_MILLIS;
        PublicKey key = stale ? null : keys.get(kid);
        if (key == null) {
            refresh(kid, stale);
            key = keys.get(kid);
        }
        return key != null && type.equals(key.getAlgorithm()) ? key : null;
    }

    private synchronized void refresh(String kid, boolean stale) {
        if (!stale && keys.containsKey(kid)) {
            return;   // another request fetched it while this one waited
        }
        long now = System.currentTimeMillis();
        while (!recentFetches.isEmpty() && now - recentFetches.peekFirst() > 60_000) {
            recentFetches.pollFirst();
        }
        if (recentFetches.size() >= perMinute) {
            return;   // keep serving the keys we have
        }
        recentFetches.addLast(now);
        try {
            Map<String, PublicKey> fresh = new HashMap<>();
            for (Jwk jwk : provider.getAll()) {
                if (jwk.getId() != null) {
                    try {
                        fresh.put(jwk.getId(), jwk.getPublicKey());
                    } catch (Exception e) {
                        // a key of a type we cannot use: skip it, keep the others
                    }
                }
            }
            keys = Map.copyOf(fresh);
            fetchedAt = now;
        } catch (Exception e) {
            System.getLogger(JwksKeys.class.getName()).log(System.Logger.Level.WARNING,
                    "JWKS fetch failed, keeping " + keys.size() + " known keys: " + e.getMessage());
        }
    }
}
