package io.sluice.registry.store;

import java.time.Instant;

/**
 * One committed config version.
 *
 * @param version   1, 2, 3, ... (0 = nothing committed yet)
 * @param content   the whole declarative document as JSON (empty in history listings)
 * @param author    token name of who made the change
 * @param role      that token's role
 * @param createdAt commit time
 * @param summary   what changed, one line
 */
public record ConfigVersion(long version, String content, String author, String role, Instant createdAt,
                            String summary) {
}
