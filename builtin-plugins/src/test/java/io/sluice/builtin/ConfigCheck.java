package io.sluice.builtin;

import io.sluice.plugin.FilterFactory;
import io.sluice.registry.config.ConfigException;
import io.sluice.registry.config.ConfigParser;
import io.sluice.registry.config.Problem;

import java.util.List;
import java.util.Optional;

/** Validates one plugin config the way the registry does, for the plugins' ConfigTests. */
public final class ConfigCheck {
    private ConfigCheck() {
    }

    /**
     * @param factory    the plugin
     * @param configJson the plugin's config object as JSON
     * @return the problems, as {@code path: message} relative to the config ({@code ""} for the whole)
     */
    public static List<String> problems(FilterFactory factory, String configJson) {
        String doc = """
                {"routes": [{"id": "r", "paths": ["/"], "upstream": {"targets": [{"url": "http://127.0.0.1:1"}]},
                             "plugins": [{"name": "%s", "config": %s}]}]}""".formatted(factory.descriptor().name(), configJson);
        try {
            new ConfigParser((name, version) -> name.equals(factory.descriptor().name())
                    ? Optional.of(factory.descriptor()) : Optional.empty()).parse(doc);
            return List.of();
        } catch (ConfigException e) {
            return e.problems().stream().map(ConfigCheck::relative).toList();
        }
    }

    private static String relative(Problem p) {
        String prefix = "routes[0].plugins[0].config";
        String path = p.path().startsWith(prefix) ? p.path().substring(prefix.length()) : p.path();
        if (path.startsWith(".")) {
            path = path.substring(1);
        }
        return path + ": " + p.message();
    }
}
