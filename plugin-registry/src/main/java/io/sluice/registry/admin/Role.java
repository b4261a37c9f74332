package io.sluice.registry.admin;

import java.util.Locale;
import java.util.Optional;

/**
 * Admin roles, as in ADMIN-API.md.
 */
public enum Role {
    /** Everything. */
    PLATFORM,
    /** Upload and delete filters (jars only when signed by a trusted signer); read everything except tokens. */
    DEVELOPER,
    /** Read only, the audit log and the token list included. */
    AUDITOR;

    /**
     * @return the lower-case name used in the API
     */
    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * @param s lower-case name
     * @return the role, if known
     */
    public static Optional<Role> parse(String s) {
        for (Role r : values()) {
            if (r.wire().equals(s)) {
                return Optional.of(r);
            }
        }
        return Optional.empty();
    }
}
