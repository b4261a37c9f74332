package io.sluice.plugin;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The poms published or copied as they are (the BOM, the samples' parent) write versions out, since they have no
 * Sluice parent to take them from: they must be the root pom's, which the gateway is built with.
 */
class SdkVersionsTest {
    static final Path ROOT = Path.of("..");

    static String property(Path pom, String name) throws IOException {
        Matcher m = Pattern.compile("<" + Pattern.quote(name) + ">([^<]+)</" + Pattern.quote(name) + ">")
                .matcher(Files.readString(pom));
        assertTrue(m.find(), name + " in " + pom);
        return m.group(1);
    }

    static String managed(Path pom, String artifactId) throws IOException {
        Matcher m = Pattern.compile("<artifactId>" + Pattern.quote(artifactId)
                + "</artifactId>\\s*(?:<!--.*?-->\\s*)?<version>([^<]+)</version>", Pattern.DOTALL)
                .matcher(Files.readString(pom));
        assertTrue(m.find(), artifactId + " in " + pom);
        return m.group(1);
    }

    @Test
    void theBomNamesTheVersionsTheGatewayIsBuiltWith() throws IOException {
        Path root = ROOT.resolve("pom.xml");
        Path bom = ROOT.resolve("plugin-api/bom/pom.xml");
        String api = property(root, "plugin-api.version");
        assertEquals(api, PluginApi.version(), "this jar's own version");
        assertEquals(api, managed(bom, "sluice-plugin-bom"), "the BOM is released with the API");
        assertEquals(api, managed(bom, "plugin-api"));
        assertEquals(api, managed(ROOT.resolve("plugin-api/archetype/pom.xml"), "sluice-filter-archetype"));
        assertEquals(property(root, "pf4j.version"), managed(bom, "pf4j"));
        assertEquals(property(root, "graalvm.version"), managed(bom, "polyglot"));
        assertEquals(property(root, "graalvm.version"), managed(bom, "js-community"));
    }

    @Test
    void theSamplesBuildAgainstThisApi() throws IOException {
        Path root = ROOT.resolve("pom.xml");
        Path samples = ROOT.resolve("sample-plugins/pom.xml");
        assertEquals(property(root, "plugin-api.version"), property(samples, "sluice.plugin-api.version"));
        assertEquals(property(root, "pf4j.version"), property(samples, "pf4j.version"));
        assertEquals(property(root, "junit.version"), property(samples, "junit.version"));
    }
}
