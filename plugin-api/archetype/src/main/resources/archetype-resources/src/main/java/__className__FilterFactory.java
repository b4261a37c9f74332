package ${package};

import io.sluice.plugin.Filter;
import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.FilterDescriptor;
import io.sluice.plugin.FilterFactory;
import org.pf4j.Extension;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * ${filterName}: sets {@code X-Tag} on the request sent upstream and on the response; optionally refuses requests
 * without a required header. The gateway calls {@link #descriptor()} once when the jar is uploaded (name, version,
 * config schema) and {@link #create(FilterConfig)} once per route that uses it, with a config already valid
 * against the schema.
 */
@Extension   // pf4j's annotation processor lists it in META-INF/extensions.idx: exactly one FilterFactory per jar
public final class ${className}FilterFactory implements FilterFactory {
    /** The config's JSON schema, in src/main/resources next to this class (kebab-case name = the plugin id). */
    static final String SCHEMA = resource("${filterName}.schema.json");
    private static final FilterDescriptor DESCRIPTOR = new FilterDescriptor("${filterName}", "${version}", SCHEMA,
            "Tags requests and responses with X-Tag");

    @Override
    public FilterDescriptor descriptor() {
        return DESCRIPTOR;
    }

    @Override
    public Filter create(FilterConfig config) {
        return new ${className}Filter(config.string("tag").orElseThrow(), config.string("require_header"));
    }

    private static String resource(String name) {
        try (InputStream in = ${className}FilterFactory.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException(name + " is missing from the jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
