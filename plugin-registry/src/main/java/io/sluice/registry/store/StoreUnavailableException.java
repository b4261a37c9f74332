package io.sluice.registry.store;

/**
 * The store cannot be reached (database down, network, pool timeout). Admin writes answer 503; data planes
 * keep serving their last good snapshot.
 */
public final class StoreUnavailableException extends RuntimeException {
    /**
     * @param message what failed
     * @param cause   the driver's exception
     */
    public StoreUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
