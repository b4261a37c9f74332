package io.sluice.registry.store;

import io.sluice.registry.model.EntitySet;

/**
 * The whole current config, read in one transaction: every entity and the version they make up.
 *
 * @param version  the newest committed version (0 when none)
 * @param latest   that version's metadata, null for 0
 * @param entities the entities
 */
public record StoredConfig(long version, ConfigVersion latest, EntitySet entities) {
}
