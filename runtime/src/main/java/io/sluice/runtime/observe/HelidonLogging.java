package io.sluice.runtime.observe;

import io.helidon.logging.common.spi.LoggingProvider;

/**
 * Tells Helidon that logging is configured: Sluice sets up java.util.logging itself ({@code sluice-logging.properties},
 * or {@code --log-format json}). Without a provider on the class path Helidon prints "There is no Helidon logging
 * implementation on classpath, skipping log configuration." to stderr on every start.
 */
public final class HelidonLogging implements LoggingProvider {
    /** Called by the service loader. */
    public HelidonLogging() {
    }

    @Override
    public void initialization() {
        // Main.configureLogging has already read the logging configuration
    }

    @Override
    public void runTime() {
        // nothing changes at run time (native-image only)
    }
}
