package io.sluice.registry.store;

/**
 * Another writer committed a config version first; the caller re-reads and tries again.
 */
public final class StaleVersionException extends Exception {
    /**
     * @param version the version that was already taken
     */
    public StaleVersionException(long version) {
        super("config version " + version + " was committed by another writer");
    }
}
