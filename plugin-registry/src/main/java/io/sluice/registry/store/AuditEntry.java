package io.sluice.registry.store;

import java.time.Instant;
import java.util.Optional;

/**
 * One admin action, allowed or refused; or, folded, every refused unauthenticated request from one source in
 * one minute.
 *
 * @param id            sequence number (0 before it is stored)
 * @param at            when (for a folded row: the first refusal it counts)
 * @param actor         token name, or {@code anonymous} / {@code invalid-token} (both: {@code unauthenticated})
 * @param role          the token's role, when known
 * @param action        method and path, e.g. {@code PUT /v1/routes/users} (folded: the last one)
 * @param status        the HTTP status answered
 * @param configVersion the config version the action created, if any
 * @param message       outcome in words
 * @param source        the caller's address (IPv6 callers by their /64), when known
 * @param count         how many requests the row stands for (1 unless folded)
 */
public record AuditEntry(long id, Instant at, String actor, Optional<String> role, String action, int status,
                         Optional<Long> configVersion, String message, Optional<String> source, long count) {

    /**
     * One request, source unknown.
     *
     * @param id            sequence number (0 before it is stored)
     * @param at            when
     * @param actor         token name, or {@code anonymous} / {@code invalid-token}
     * @param role          the token's role, when known
     * @param action        method and path
     * @param status        the HTTP status answered
     * @param configVersion the config version the action created, if any
     * @param message       outcome in words
     */
    public AuditEntry(long id, Instant at, String actor, Optional<String> role, String action, int status,
                      Optional<Long> configVersion, String message) {
        this(id, at, actor, role, action, status, configVersion, message, Optional.empty(), 1);
    }
}
