package io.sluice.registry.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.plugin.FilterDescriptor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Secret fields (writeOnly in the plugin's schema): where they are, validation of $env, redaction, resolution. */
class SecretFieldsTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    // secrets at the top, under a $ref, in array items, in patternProperties, in one branch of a oneOf
    private static final String SCHEMA = """
            {"type": "object", "additionalProperties": false,
             "properties": {
               "name": {"type": "string"},
               "secret": {"type": "string", "minLength": 8, "writeOnly": true},
               "upstream": {"$ref": "#/$defs/cred"},
               "keys": {"type": "array", "items": {"type": "string", "writeOnly": true}},
               "props": {"type": "object", "additionalProperties": {"type": "string"},
                         "patternProperties": {"password$": {"type": "string", "writeOnly": true}}},
               "auth": {"oneOf": [{"type": "object", "properties": {"token": {"type": "string", "writeOnly": true}},
                                   "required": ["token"], "additionalProperties": false},
                                  {"type": "string"}]}
             },
             "$defs": {"cred": {"type": "object", "properties": {"user": {"type": "string"},
                                "password": {"type": "string", "writeOnly": true}}}}}""";
    private static final FilterDescriptor D = new FilterDescriptor("vault", "1.0.0", SCHEMA, "");
    private final ConfigParser parser = new ConfigParser((name, version) ->
            name.equals("vault") ? Optional.of(D) : Optional.empty());

    static JsonNode json(String s) throws Exception {
        return MAPPER.readTree(s);
    }

    static String route(String config) {
        return "{\"routes\": [{\"id\": \"a\", \"paths\": [\"/a\"], \"upstream\": {\"targets\": [{\"url\": \"http://h\"}]},"
                + " \"plugins\": [{\"name\": \"vault\", \"config\": " + config + "}]}]}";
    }

    List<Problem> problems(String config) {
        return assertThrows(ConfigException.class, () -> parser.parse(route(config))).problems();
    }

    @Test
    void findsEverySecretPosition() throws Exception {
        JsonNode c = json("""
                {"name": "n", "secret": "s3cret-value", "upstream": {"user": "u", "password": "p"},
                 "keys": ["k1", "k2"], "props": {"db.password": "x", "db.url": "y"}, "auth": {"token": "t"}}""");
        assertEquals(List.of(List.of("secret"), List.of("upstream", "password"), List.of("keys", 0),
                List.of("keys", 1), List.of("props", "db.password"), List.of("auth", "token")),
                SecretFields.of(SCHEMA).paths(c));
    }

    @Test
    void redactsSecretsButKeepsEnvReferences() throws Exception {
        JsonNode c = json("""
                {"name": "n", "secret": {"$env": "VAULT_SECRET"}, "upstream": {"user": "u", "password": "p"},
                 "keys": ["k1"], "props": {"db.password": "x", "db.url": "y"}, "auth": "plain"}""");
        JsonNode r = SecretFields.of(SCHEMA).redact(c);
        assertEquals(json("""
                {"name": "n", "secret": {"$env": "VAULT_SECRET"}, "upstream": {"user": "u", "password": "<redacted>"},
                 "keys": ["<redacted>"], "props": {"db.password": "<redacted>", "db.url": "y"}, "auth": "plain"}"""), r);
        assertEquals("p", c.path("upstream").path("password").asText(), "the original is untouched");
    }

    @Test
    void resolvesEnvReferencesAndNamesEveryMissingVariable() throws Exception {
        SecretFields s = SecretFields.of(SCHEMA);
        JsonNode c = json("{\"secret\": {\"$env\": \"A_SECRET\"}, \"upstream\": {\"password\": {\"$env\": \"B\"}}}");
        Map<String, String> env = Map.of("A_SECRET", "from-env-1", "B", "from-env-2");
        JsonNode r = s.resolve(c, name -> Optional.ofNullable(env.get(name)));
        assertEquals(json("{\"secret\": \"from-env-1\", \"upstream\": {\"password\": \"from-env-2\"}}"), r);
        SecretFields.MissingVariables e = assertThrows(SecretFields.MissingVariables.class,
                () -> s.resolve(c, name -> Optional.empty()));
        assertEquals(List.of("A_SECRET", "B"), e.names());
        JsonNode plain = json("{\"secret\": \"literal-secret\"}");
        assertSame(plain, s.resolve(plain, name -> Optional.empty()));
    }

    @Test
    void anEnvReferenceIsValidInSecretFieldsOnly() throws Exception {
        GatewayConfig ok = parser.parse(route("{\"secret\": {\"$env\": \"VAULT_SECRET\"},"
                + " \"upstream\": {\"password\": {\"$env\": \"_P2\"}}, \"auth\": {\"token\": {\"$env\": \"T\"}}}"));
        assertEquals(Map.of("$env", "VAULT_SECRET"), ok.routes().getFirst().plugins().getFirst().config().get("secret"));
        List<Problem> p = problems("{\"name\": {\"$env\": \"NAME\"}}");
        assertEquals("routes[0].plugins[0].config.name", p.getFirst().path());
        assertTrue(p.getFirst().message().contains("accepted only in fields the plugin's schema marks writeOnly"),
                p.toString());
    }

    @Test
    void malformedEnvReferencesAreRefusedWithTheirPath() {
        assertEquals(List.of("routes[0].plugins[0].config.secret.extra"),
                problems("{\"secret\": {\"$env\": \"OK\", \"extra\": 1}}").stream().map(Problem::path).toList());
        assertEquals(List.of("routes[0].plugins[0].config.secret.$env"),
                problems("{\"secret\": {\"$env\": \"lower_case\"}}").stream().map(Problem::path).toList());
        assertEquals(List.of("routes[0].plugins[0].config.secret.$env"),
                problems("{\"secret\": {\"$env\": \"1ABC\"}}").stream().map(Problem::path).toList());
        assertEquals(List.of("routes[0].plugins[0].config.secret.$env"),
                problems("{\"secret\": {\"$env\": 42}}").stream().map(Problem::path).toList());
        assertEquals(List.of("routes[0].plugins[0].config.secret.$env"),
                problems("{\"secret\": {\"$env\": \"A" + "B".repeat(200) + "\"}}").stream().map(Problem::path).toList());
        assertEquals(List.of("routes[0].plugins[0].config.secret.$env"),
                problems("{\"secret\": {\"$env\": \"A-B\"}}").stream().map(Problem::path).toList());
        // an object without $env is judged by the field's own schema
        assertEquals(List.of("routes[0].plugins[0].config.secret"),
                problems("{\"secret\": {\"env\": \"A\"}}").stream().map(Problem::path).toList());
    }

    @Test
    void theRedactionPlaceholderIsNotASecret() {
        List<Problem> p = problems("{\"secret\": \"<redacted>\", \"keys\": [\"ok\", \"<redacted>\"]}");
        assertEquals(List.of("routes[0].plugins[0].config.keys[1]", "routes[0].plugins[0].config.secret"),
                p.stream().map(Problem::path).sorted().toList());
        assertTrue(p.getFirst().message().contains("the placeholder that reads show for secrets"), p.toString());
    }

    @Test
    void aSchemaWithoutSecretsIsUnchanged() throws Exception {
        String plain = "{\"type\": \"object\", \"properties\": {\"writeOnly\": {\"type\": \"boolean\"}}}";
        SecretFields s = SecretFields.of(plain);
        assertEquals(false, s.any());
        assertEquals(json(plain), s.schema());
        assertEquals(List.of(), s.paths(json("{\"writeOnly\": true}")));
    }
}
