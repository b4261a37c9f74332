package io.sluice.registry.store;

import java.time.Instant;

/**
 * One committed config version: who, when, why, and how many entities it changed.
 *
 * @param version   1, 2, 3, ... (0 = nothing committed yet)
 * @param author    token name of who made the change
 * @param role      that token's role
 * @param createdAt commit time
 * @param summary   what changed, one line
 * @param changes   how many entities its change set holds
 */
public record ConfigVersion(long version, String author, String role, Instant createdAt, String summary,
                            int changes) {
}
