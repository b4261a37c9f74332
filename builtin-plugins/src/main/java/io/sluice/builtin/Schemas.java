package io.sluice.builtin;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * Loads a built-in's JSON schema from the {@code <name>.schema.json} file beside its factory class.
 */
public final class Schemas {
    private Schemas() {
    }

    /**
     * Reads a schema resource.
     *
     * @param owner the factory class; the file sits in its package
     * @param name  the plugin name
     * @return the schema text
     */
    public static String load(Class<?> owner, String name) {
        String file = name + ".schema.json";
        try (InputStream in = owner.getResourceAsStream(file)) {
            if (in == null) {
                throw new IllegalStateException("missing schema resource " + file + " beside " + owner.getName());
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
