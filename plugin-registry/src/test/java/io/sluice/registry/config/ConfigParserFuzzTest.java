package io.sluice.registry.config;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.sluice.plugin.FilterDescriptor;

import java.nio.charset.StandardCharsets;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fuzzes the config parser with YAML/JSON documents (the input is the document itself, so seeds are plain files).
 * Invariant: a config, or a {@link ConfigException} whose every problem has a path, a line and a message; never
 * another exception, never a hang (in fuzzing mode Jazzer reports an input that runs too long as a finding; a
 * JUnit @Timeout is not used: it would apply to the whole fuzzing run, which is one invocation).
 * Regression inputs: {@code src/test/resources/io/sluice/registry/config/ConfigParserFuzzTestInputs/parse/}.
 */
class ConfigParserFuzzTest {
    private static final FilterDescriptor LIMIT = new FilterDescriptor("limit", "2.0.0",
            "{\"type\":\"object\",\"required\":[\"rps\"],\"properties\":{\"rps\":{\"type\":\"integer\",\"minimum\":1},"
                    + "\"key\":{\"type\":\"string\",\"pattern\":\"^[a-z]+$\"}}}", "");
    private static final ConfigParser PARSER = new ConfigParser((name, version) ->
            name.equals("limit") && version.map("2.0.0"::equals).orElse(true) ? Optional.of(LIMIT) : Optional.empty());

    @FuzzTest(maxDuration = "4m")
    void parse(byte[] input) {
        String text = new String(input, StandardCharsets.UTF_8);
        try {
            GatewayConfig config = PARSER.parse(text);
            assertNotNull(config.routes());
        } catch (ConfigException e) {
            assertFalse(e.problems().isEmpty(), "a ConfigException without problems");
            for (Problem p : e.problems()) {
                assertNotNull(p.path(), "problem without a path: " + p);
                assertTrue(p.line() >= 1, "problem without a line: " + p);
                assertFalse(p.message().isBlank(), "problem without a message: " + p);
            }
        }
    }
}
