package io.sluice.registry.admin;

import io.sluice.registry.store.Store;
import io.sluice.registry.store.TokenRecord;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.Optional;

/**
 * Bearer-token authentication for the admin API. Tokens are stored as SHA-256 hashes; the token given by
 * {@code SLUICE_ADMIN_TOKEN} is held only as a hash in memory and compared in constant time. Store tokens
 * are looked up by the hash of the presented token, so no comparison ever touches a stored secret.
 */
public final class AdminAuth {
    /** Name recorded in the audit log for the environment token. */
    public static final String ENV_TOKEN_NAME = "env:SLUICE_ADMIN_TOKEN";

    private final Store store;
    private final Optional<String> envTokenHash;

    /**
     * An authenticated caller.
     *
     * @param name token name
     * @param role token role
     */
    public record Principal(String name, Role role) {
    }

    /**
     * @param store    token store
     * @param envToken the {@code SLUICE_ADMIN_TOKEN} value, if set
     */
    public AdminAuth(Store store, Optional<String> envToken) {
        this.store = store;
        this.envTokenHash = envToken.filter(t -> !t.isBlank()).map(Secrets::hash);
    }

    /**
     * Checks an {@code Authorization} header.
     *
     * @param authorization the header value, if sent
     * @return the caller
     * @throws ApiError 401 when missing or unknown
     */
    public Principal authenticate(Optional<String> authorization) {
        String value = authorization.orElseThrow(() -> new ApiError(401, "unauthorized",
                "send Authorization: Bearer <token>"));
        if (!value.regionMatches(true, 0, "Bearer ", 0, 7) || value.length() <= 7) {
            throw new ApiError(401, "unauthorized", "the Authorization header must be 'Bearer <token>'");
        }
        String hash = Secrets.hash(value.substring(7).trim());
        if (envTokenHash.isPresent() && Secrets.same(hash, envTokenHash.get())) {
            return new Principal(ENV_TOKEN_NAME, Role.PLATFORM);
        }
        return store.tokenByHash(hash)
                .flatMap(t -> Role.parse(t.role()).map(r -> new Principal(t.name(), r)))
                .orElseThrow(() -> new ApiError(401, "unauthorized", "unknown or revoked token"));
    }

    /**
     * @return whether {@code SLUICE_ADMIN_TOKEN} provides a platform token
     */
    public boolean hasEnvToken() {
        return envTokenHash.isPresent();
    }

    /**
     * Creates a token.
     *
     * @param name      holder
     * @param role      role
     * @param createdBy creator's token name
     * @return the token (shown once; only its hash is kept)
     */
    public NewToken create(String name, Role role, String createdBy) {
        String token = Secrets.generate("slt_");
        TokenRecord r = new TokenRecord(Secrets.id(), name, role.wire(), Secrets.hash(token), Instant.now(), createdBy);
        store.addToken(r);
        return new NewToken(r, token);
    }

    /**
     * @param record what was stored
     * @param token  the secret
     */
    public record NewToken(TokenRecord record, String token) {
    }

    /**
     * On the first start (no token stored, none in the environment) generates a platform token and writes it
     * to {@code <dataDir>/admin-token} with mode 0600.
     *
     * @param dataDir data directory
     * @return the generated token, empty when one existed already or the environment provides it
     */
    public Optional<String> bootstrap(Path dataDir) {
        if (envTokenHash.isPresent() || !store.tokens().isEmpty()) {
            return Optional.empty();
        }
        NewToken t = create("bootstrap", Role.PLATFORM, "sluice");
        Path file = dataDir.resolve("admin-token");
        try {
            Files.deleteIfExists(file);
            try {
                Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            } catch (UnsupportedOperationException e) {
                Files.createFile(file);
            }
            Files.writeString(file, t.token() + "\n", StandardCharsets.UTF_8, StandardOpenOption.TRUNCATE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
        return Optional.of(t.token());
    }
}
