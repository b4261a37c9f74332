package io.sluice.registry.store;

import java.time.Instant;
import java.util.Optional;

/**
 * One admin action, allowed or refused.
 *
 * @param id            sequence number (0 before it is stored)
 * @param at            when
 * @param actor         token name, or {@code anonymous} / {@code invalid-token}
 * @param role          the token's role, when known
 * @param action        method and path, e.g. {@code PUT /v1/routes/users}
 * @param status        the HTTP status answered
 * @param configVersion the config version the action created, if any
 * @param message       outcome in words
 */
public record AuditEntry(long id, Instant at, String actor, Optional<String> role, String action, int status,
                         Optional<Long> configVersion, String message) {
}
