package io.sluice.registry.store;

import java.time.Instant;

/**
 * An admin token as stored: its hash, never the token.
 *
 * @param id        public id
 * @param name      who or what holds it
 * @param role      {@code platform}, {@code developer} or {@code auditor}
 * @param hash      {@code sha256:<hex>} of the token
 * @param createdAt when
 * @param createdBy token name of the creator
 */
public record TokenRecord(String id, String name, String role, String hash, Instant createdAt, String createdBy) {
}
