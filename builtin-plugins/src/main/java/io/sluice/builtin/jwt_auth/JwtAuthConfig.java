package io.sluice.builtin.jwt_auth;

import io.sluice.plugin.FilterConfig;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The bound config of one jwt-auth entry (already valid by {@code jwt-auth.schema.json}).
 */
record JwtAuthConfig(String algorithm, Optional<String> secret, Optional<String> publicKey, Optional<String> jwksUrl,
                     int jwksRefreshPerMinute, List<String> issuers, List<String> audiences, long leewaySeconds,
                     boolean requireExp, String header, List<String> requiredScopes,
                     Map<String, List<String>> requiredClaims, Map<String, String> claimsToHeaders, long cacheSize) {

    static JwtAuthConfig from(FilterConfig c) {
        Map<String, List<String>> claims = new LinkedHashMap<>();
        c.object("required_claims").ifPresent(o -> o.values().forEach((k, v) -> claims.put(k, strings(v))));
        Map<String, String> headers = new LinkedHashMap<>();
        c.object("claims_to_headers").map(FilterConfig::values).orElse(Map.of("sub", "X-User-Id"))
                .forEach((k, v) -> headers.put(k, (String) v));
        return new JwtAuthConfig(c.string("algorithm").orElseThrow(), c.string("secret"), c.string("public_key"),
                c.string("jwks_url"), c.integer("jwks_refresh_per_minute").orElse(5L).intValue(),
                strings(c.values().get("issuer")), strings(c.values().get("audience")),
                c.integer("leeway_seconds").orElse(0L), c.bool("require_exp").orElse(true),
                c.string("header").orElse("Authorization"),
                c.list("required_scopes").stream().map(String.class::cast).toList(),
                Map.copyOf(claims), Map.copyOf(headers), c.integer("cache_size").orElse(10_000L));
    }

    private static List<String> strings(Object v) {
        if (v == null) {
            return List.of();
        }
        if (v instanceof String s) {
            return List.of(s);
        }
        return ((List<?>) v).stream().map(String.class::cast).toList();
    }
}
