package io.sluice.registry.store;

import java.time.Instant;

/**
 * An uploaded filter's metadata (its content is read separately).
 *
 * @param name       kebab-case name from the artifact
 * @param version    semver from the artifact
 * @param kind       {@code js} or {@code jar}
 * @param sha256     hex SHA-256 of the content
 * @param schemaJson the config JSON schema the filter declares
 * @param createdAt  upload time
 * @param createdBy  token name of the uploader
 */
public record FilterRecord(String name, String version, String kind, String sha256, String schemaJson,
                           Instant createdAt, String createdBy) {
}
