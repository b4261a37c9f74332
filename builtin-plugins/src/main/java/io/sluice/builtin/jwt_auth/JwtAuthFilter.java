package io.sluice.builtin.jwt_auth;

import com.auth0.jwt.JWT;
import com.auth0.jwt.JWTVerifier;
import com.auth0.jwt.exceptions.AlgorithmMismatchException;
import com.auth0.jwt.exceptions.IncorrectClaimException;
import com.auth0.jwt.exceptions.JWTDecodeException;
import com.auth0.jwt.exceptions.JWTVerificationException;
import com.auth0.jwt.exceptions.MissingClaimException;
import com.auth0.jwt.exceptions.SignatureVerificationException;
import com.auth0.jwt.exceptions.TokenExpiredException;
import com.auth0.jwt.interfaces.Claim;
import com.auth0.jwt.interfaces.DecodedJWT;
import com.auth0.jwt.interfaces.Verification;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import io.sluice.plugin.Consumer;
import io.sluice.plugin.Exchange;
import io.sluice.plugin.Filter;
import io.sluice.plugin.Outcome;

import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Verifies the bearer token, then authorizes (scopes, claims), then sets identity headers and the consumer.
 * Verified tokens are cached until their {@code exp} (plus leeway), so a repeated token skips the signature.
 */
final class JwtAuthFilter implements Filter {
    private static final String REALM = "Bearer realm=\"sluice\"";
    /** Tokens without exp (only when require_exp is off) are cached this long at most. */
    private static final long NO_EXP_TTL_MILLIS = 300_000;

    private final JwtAuthConfig config;
    private final JWTVerifier verifier;
    private final Cache<String, Verified> cache;

    /** What a valid token established. */
    record Verified(String subject, String issuer, Set<String> scopes, Map<String, List<String>> claims,
                    long validUntilMillis) {
    }

    JwtAuthFilter(JwtAuthConfig config) {
        this.config = config;
        Verification v = JWT.require(Keys.algorithm(config)).acceptLeeway(config.leewaySeconds());
        if (!config.issuers().isEmpty()) {
            v.withIssuer(config.issuers().toArray(String[]::new));
        }
        if (!config.audiences().isEmpty()) {
            v.withAnyOfAudience(config.audiences().toArray(String[]::new));
        }
        this.verifier = v.build();
        this.cache = config.cacheSize() == 0 ? null : Caffeine.newBuilder()
                .maximumSize(config.cacheSize())
                .expireAfter(new Expiry<String, Verified>() {
                    @Override
                    public long expireAfterCreate(String key, Verified value, long currentTime) {
                        long millis = Math.max(0, value.validUntilMillis() - System.currentTimeMillis());
                        return TimeUnit.MILLISECONDS.toNanos(millis);
                    }

                    @Override
                    public long expireAfterUpdate(String key, Verified value, long currentTime, long currentDuration) {
                        return currentDuration;
                    }

                    @Override
                    public long expireAfterRead(String key, Verified value, long currentTime, long currentDuration) {
                        return currentDuration;
                    }
                })
                .build();
    }

    @Override
    public Outcome onRequest(Exchange exchange) {
        var headers = exchange.request().headers();
        // identity headers are ours to set: a client's copies never pass, whether or not the token is good
        config.claimsToHeaders().values().forEach(headers::remove);
        String value = headers.firstOrNull(config.header());
        if (value == null || value.isBlank()) {
            return unauthorized(null, "missing bearer token");
        }
        if (value.length() < 8 || !value.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return unauthorized("invalid_request", "expected 'Bearer <token>' in " + config.header());
        }
        String token = value.substring(7).strip();
        Verified verified = cache == null ? null : cache.getIfPresent(token);
        if (verified == null || verified.validUntilMillis() <= System.currentTimeMillis()) {
            try {
                verified = verify(token);
            } catch (JWTVerificationException e) {
                return unauthorized("invalid_token", reason(e));
            }
            if (cache != null) {
                cache.put(token, verified);
            }
        }
        for (String scope : config.requiredScopes()) {
            if (!verified.scopes().contains(scope)) {
                return forbidden("insufficient_scope", "token lacks scope '" + scope + "'");
            }
        }
        for (Map.Entry<String, List<String>> required : config.requiredClaims().entrySet()) {
            List<String> have = verified.claims().getOrDefault(required.getKey(), List.of());
            if (have.stream().noneMatch(required.getValue()::contains)) {
                return forbidden(null, "claim '" + required.getKey() + "' does not allow this route");
            }
        }
        for (Map.Entry<String, String> mapping : config.claimsToHeaders().entrySet()) {
            List<String> values = verified.claims().getOrDefault(mapping.getKey(), List.of());
            if (!values.isEmpty()) {
                headers.set(mapping.getValue(), String.join(",", values));
            }
        }
        if (verified.subject() != null) {
            exchange.consumer(new Consumer(verified.subject(), verified.issuer() == null
                    ? Map.of("scope", String.join(" ", verified.scopes()))
                    : Map.of("iss", verified.issuer(), "scope", String.join(" ", verified.scopes()))));
        }
        return Outcome.proceed();
    }

    private Verified verify(String token) {
        DecodedJWT jwt = verifier.verify(token);
        Instant exp = jwt.getExpiresAtAsInstant();
        if (exp == null && config.requireExp()) {
            // java-jwt accepts a token without exp; a gateway must not accept one that never expires
            throw new MissingClaimException("exp");
        }
        long until = exp == null ? System.currentTimeMillis() + NO_EXP_TTL_MILLIS
                : exp.toEpochMilli() + config.leewaySeconds() * 1000;
        Set<String> scopes = new HashSet<>();
        Claim scope = jwt.getClaim("scope");
        if (!scope.isMissing() && !scope.isNull() && scope.asString() != null) {
            scopes.addAll(List.of(scope.asString().split(" ")));
        }
        Claim scp = jwt.getClaim("scp");
        if (!scp.isMissing() && !scp.isNull()) {
            List<String> list = scp.asList(String.class);
            if (list != null) {
                scopes.addAll(list);
            } else if (scp.asString() != null) {
                scopes.addAll(List.of(scp.asString().split(" ")));
            }
        }
        Map<String, List<String>> claims = new HashMap<>();
        Set<String> wanted = new HashSet<>(config.requiredClaims().keySet());
        wanted.addAll(config.claimsToHeaders().keySet());
        for (String name : wanted) {
            List<String> values = claimValues(jwt.getClaim(name));
            if (!values.isEmpty()) {
                claims.put(name, values);
            }
        }
        scopes.remove("");
        return new Verified(jwt.getSubject(), jwt.getIssuer(), Set.copyOf(scopes), Map.copyOf(claims), until);
    }

    private static List<String> claimValues(Claim c) {
        if (c.isMissing() || c.isNull()) {
            return List.of();
        }
        List<String> list = c.asList(String.class);
        if (list != null) {
            return List.copyOf(list);
        }
        String s = c.asString();
        if (s != null) {
            return List.of(s);
        }
        Object other = c.as(Object.class);
        return other == null ? List.of() : List.of(String.valueOf(other));
    }

    private static String reason(JWTVerificationException e) {
        return switch (e) {
            case TokenExpiredException x -> "token expired";
            case SignatureVerificationException x -> "bad signature";
            case AlgorithmMismatchException x -> "algorithm not allowed";
            case MissingClaimException x -> "token has no '" + x.getClaimName() + "' claim";
            case IncorrectClaimException x -> "claim '" + x.getClaimName() + "' is not accepted";
            case JWTDecodeException x -> "malformed token";
            default -> "invalid token";
        };
    }

    private static Outcome unauthorized(String error, String message) {
        Outcome.Respond r = Outcome.error(401, "unauthorized", message);
        r.headers().set("WWW-Authenticate", error == null ? REALM : REALM + ", error=\"" + error + "\"");
        return r;
    }

    private static Outcome forbidden(String error, String message) {
        Outcome.Respond r = Outcome.error(403, "forbidden", message);
        if (error != null) {
            r.headers().set("WWW-Authenticate", REALM + ", error=\"" + error + "\"");
        }
        return r;
    }
}
