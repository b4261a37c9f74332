package io.sluice.registry.store;

import io.sluice.registry.model.EntityChange;

import java.util.List;

/**
 * A committed version with its change set.
 *
 * @param version the version
 * @param changes its changes, in commit order
 */
public record VersionChanges(ConfigVersion version, List<EntityChange> changes) {
}
