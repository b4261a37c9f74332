package io.sluice.plugin;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/**
 * The version of this plugin API. A plugin jar states the API versions it works with in its PF4J descriptor
 * ({@code Plugin-Requires: >=0.1.0 & <0.2.0}); the gateway refuses a jar whose range excludes {@link #version()}.
 */
public final class PluginApi {
    private static final String VERSION = read();

    private PluginApi() {
    }

    /**
     * The API version, without a pre-release qualifier ({@code 0.1.0} for {@code 0.1.0-SNAPSHOT}), as compared
     * with a plugin's {@code Plugin-Requires}.
     *
     * @return major.minor.patch
     */
    public static String version() {
        return VERSION;
    }

    private static String read() {
        try (InputStream in = PluginApi.class.getResourceAsStream("plugin-api.properties")) {
            Properties p = new Properties();
            p.load(in);
            String v = p.getProperty("version");
            int dash = v.indexOf('-');
            return dash < 0 ? v : v.substring(0, dash);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
