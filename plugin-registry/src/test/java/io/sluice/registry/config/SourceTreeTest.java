package io.sluice.registry.config;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** JSON takes a streaming fast path; it must give exactly what the YAML path gives. */
class SourceTreeTest {
    static final String JSON = """
            {"routes": [
              {"id": "a", "paths": ["/a"],
               "upstream": {"targets": [{"url": "http://x", "weight": 100}], "timeout_ms": 1500.5}},
              {"id": "b", "big": 123456789012345678901234567890, "on": "yes", "n": null, "t": true}
            ]}
            """;

    static final String YAML = """
            routes:
              - id: a
                paths: ["/a"]
                upstream: {targets: [{url: "http://x", weight: 100}], timeout_ms: 1500.5}
              - {id: b, big: 123456789012345678901234567890, "on": "yes", n: null, t: true}
            """;

    @Test
    void jsonAndYamlGiveTheSameTree() throws Exception {
        SourceTree json = SourceTree.parse(JSON);
        SourceTree yaml = SourceTree.parse(YAML);
        assertEquals(yaml.root(), json.root());
        assertEquals("LongNode", json.root().at("/routes/0/upstream/targets/0/weight").getClass().getSimpleName());
        assertEquals(3, json.lineOf("routes[0].upstream.targets[0].url"));
        assertEquals(4, json.lineOf("routes[1].big"));
        assertEquals(2, json.lineOf("routes[0].paths[0]"));
    }

    @Test
    void aDuplicateKeyInJsonIsReportedWithItsLine() {
        ConfigException e = assertThrows(ConfigException.class, () -> SourceTree.parse("""
                {"routes": [],
                 "routes": []}
                """));
        assertEquals(List.of(new Problem("routes", 2, "duplicate key")), e.problems());
    }

    @Test
    void flowStyleYamlThatIsNotJsonStillParses() throws Exception {
        assertEquals("a", SourceTree.parse("{routes: [{id: a}]}").root().at("/routes/0/id").asText());
        ConfigException e = assertThrows(ConfigException.class, () -> SourceTree.parse("{\"routes\": [}"));
        assertEquals(1, e.problems().getFirst().line());
    }
}
