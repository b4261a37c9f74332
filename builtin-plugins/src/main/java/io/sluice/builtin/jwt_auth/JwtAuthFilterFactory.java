package io.sluice.builtin.jwt_auth;

import io.sluice.builtin.Schemas;
import io.sluice.plugin.Filter;
import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.FilterDescriptor;
import io.sluice.plugin.FilterFactory;

/**
 * {@code jwt-auth}: verifies a bearer JWT (HS*, RS*, ES256/384; key inline or from a JWKS URL), checks
 * scopes and claims, and maps claims to identity headers.
 */
public final class JwtAuthFilterFactory implements FilterFactory {
    static final String NAME = "jwt-auth";
    private static final FilterDescriptor DESCRIPTOR = new FilterDescriptor(NAME, "1.0.0",
            Schemas.load(JwtAuthFilterFactory.class, NAME),
            "Authenticates requests with a JWT bearer token; the algorithm is fixed by config.");

    @Override
    public FilterDescriptor descriptor() {
        return DESCRIPTOR;
    }

    @Override
    public Filter create(FilterConfig config) {
        return new JwtAuthFilter(JwtAuthConfig.from(config));
    }
}
