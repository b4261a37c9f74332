package io.sluice.runtime;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command line: {@code validate} output and exit codes, usage errors. */
class MainTest {
    @TempDir
    Path dir;

    private record Run(int code, String out, String err) {
    }

    private Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private String file(String name, String text) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, text);
        return p.toString();
    }

    @Test
    void validFileExitsZero() throws Exception {
        String f = file("good.yaml", """
                global_plugins:
                  - name: transform
                    config: {response: {headers: {set: {X-Gateway: sluice}}}}
                routes:
                  - id: users
                    paths: ["/api/v1/users/**"]
                    methods: [GET, POST]
                    strip_prefix: /api/v1
                    upstream:
                      targets: [{url: "http://127.0.0.1:9001", weight: 100}]
                      connect_timeout_ms: 1000
                      timeout_ms: 5000
                    plugins:
                      - name: request-size-limit
                        config: {max_bytes: 1048576}
                """);
        Run r = run("validate", f);
        assertEquals(0, r.code(), r.err());
        assertEquals(f + ": ok (1 routes, 1 global plugins, 0 consumers)\n", r.out());
    }

    @Test
    void everyProblemIsReportedWithFileAndLine() throws Exception {
        String f = file("bad.yaml", """
                routes:
                  - id: users
                    paths: ["/api/{id/x"]
                    upstream:
                      targets: [{url: "http://127.0.0.1:9001"}]
                    plugins:
                      - name: request-size-limit
                        config:
                          max_bytes: -5
                      - name: no-such-plugin
                  - id: users
                    paths: ["/other"]
                    upstream: {targets: [{url: "http://127.0.0.1:9002"}]}
                """);
        Run r = run("validate", f);
        assertEquals(1, r.code());
        assertEquals(f + ":3: routes[0].paths[0]: bad segment '{id' in /api/{id/x (use {name} for a parameter, ** only at the end)\n"
                + f + ":9: routes[0].plugins[0].config.max_bytes: must have a minimum value of 0\n"
                + f + ":10: routes[0].plugins[1].name: unknown plugin 'no-such-plugin'\n"
                + f + ":11: routes[1].id: duplicate route id 'users' (also routes[0])\n", r.err());
    }

    @Test
    void aggregateProblemsAreReportedWithFileAndLine() throws Exception {
        String f = file("aggregate.yaml", """
                routes:
                  - id: home
                    paths: ["/home/{id}"]
                    aggregate:
                      calls:
                        - {name: user, url: "http://127.0.0.1:9001/users/{uid}"}
                        - name: user
                          url: "http://127.0.0.1:9002/orders/{id}"
                          timeout_ms: 100
                          connect_timeout_ms: 500
                  - id: both
                    paths: ["/both"]
                    upstream: {targets: [{url: "http://127.0.0.1:9001"}]}
                    aggregate: {calls: [{name: errors, url: "http://127.0.0.1:9001"}]}
                """);
        Run r = run("validate", f);
        assertEquals(1, r.code());
        assertEquals(f + ":6: routes[0].aggregate.calls[0].url: unknown path parameter '{uid}': path '/home/{id}' "
                + "of this route does not declare it\n"
                + f + ":7: routes[0].aggregate.calls[1].name: duplicate call name 'user' (also calls[0])\n"
                + f + ":10: routes[0].aggregate.calls[1].connect_timeout_ms: must not exceed timeout_ms (100), "
                + "which covers the whole call\n"
                + f + ":14: routes[1].aggregate: a route has either upstream or aggregate, not both\n"
                + f + ":14: routes[1].aggregate.calls[0].name: 'errors' is reserved: the merged response reports "
                + "failed calls under it\n", r.err());
    }

    @Test
    void schemaErrorsNameTheField() throws Exception {
        String f = file("schema.yaml", """
                routes:
                  - id: a
                    paths: ["/a"]
                    upstream: {targets: [{url: "ftp://x"}], timeout_ms: "soon"}
                    colour: blue
                """);
        Run r = run("validate", f);
        assertEquals(1, r.code());
        assertTrue(r.err().contains(f + ":4: routes[0].upstream.targets[0].url: does not match the regex pattern"), r.err());
        assertTrue(r.err().contains(f + ":4: routes[0].upstream.timeout_ms: string found, integer expected"), r.err());
        assertTrue(r.err().contains(f + ":5: routes[0].colour: property 'colour' is not defined in the schema"), r.err());
    }

    @Test
    void missingRequiredFieldPointsAtTheObject() throws Exception {
        String f = file("missing.yaml", """
                routes:
                  - id: a
                    paths: ["/a"]
                """);
        Run r = run("validate", f);
        assertEquals(1, r.code());
        assertEquals(f + ":2: routes[0].upstream: required: a route needs either upstream or aggregate\n", r.err());
    }

    @Test
    void conflictingRoutesAreRefused() throws Exception {
        String f = file("conflict.yaml", """
                routes:
                  - id: a
                    paths: ["/items/{id}"]
                    methods: [GET]
                    upstream: {targets: [{url: "http://127.0.0.1:1"}]}
                  - id: b
                    paths: ["/items/{key}"]
                    methods: [GET, POST]
                    upstream: {targets: [{url: "http://127.0.0.1:2"}]}
                """);
        Run r = run("validate", f);
        assertEquals(1, r.code());
        assertEquals(f + ":7: routes[1].paths[0]: conflicts with route 'a': same path, method GET\n", r.err());
    }

    @Test
    void syntaxErrorsAndDuplicateKeysHaveLines() throws Exception {
        String f = file("syntax.yaml", "routes:\n  - id: a\n    paths: [\"/a\"\n");
        Run r = run("validate", f);
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith(f + ":4: syntax error: "), r.err());
        String d = file("dup.yaml", "routes: []\nroutes: []\n");
        r = run("validate", d);
        assertEquals(1, r.code());
        assertEquals(d + ":2: routes: duplicate key\n", r.err());
    }

    @Test
    void missingFileIsReported() {
        Run r = run("validate", dir.resolve("nope.yaml").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith(dir.resolve("nope.yaml") + ":1: cannot read file"), r.err());
    }

    @Test
    void usageErrorsExitTwo() {
        assertEquals(2, run().code());
        assertEquals(2, run("frobnicate").code());
        assertEquals(2, run("validate").code());
        Run r = run("start", "--proxy-port", "99999");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--proxy-port must be a port number 0-65535"), r.err());
        r = run("start", "--bogus", "1");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("unknown option '--bogus'"), r.err());
        r = run("start", "--role", "edge");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--role must be standalone, control-plane or data-plane"), r.err());
        r = run("start", "--role", "data-plane", "--config", "x.yaml");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--config is not available on a data plane"), r.err());
        r = run("start", "--redis", "localhost:6379");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--redis must be redis://HOST:PORT"), r.err());
        r = run("start", "--log-format", "xml");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--log-format (or SLUICE_LOG_FORMAT) must be text or json, got 'xml'"), r.err());
    }

    @Test
    void tlsOptionsAreCheckedBeforeAnythingStarts() throws Exception {
        Path cert = dir.resolve("c.pem");
        Path key = dir.resolve("k.pem");
        var leaf = io.sluice.runtime.testing.TestPki.leaf("x", null, "x");
        Files.writeString(cert, leaf.certPem());
        Files.writeString(key, leaf.keyPem());
        Path otherKey = dir.resolve("other.pem");
        Files.writeString(otherKey, io.sluice.runtime.testing.TestPki.leaf("y", null, "y").keyPem());
        Path garbage = dir.resolve("garbage.pem");
        Files.writeString(garbage, "not a certificate");
        String[][] cases = {
            {"--tls-cert", cert.toString(), "--tls-key", key.toString()}, {"--tls-cert and --tls-key need --tls-port"},
            {"--tls-port", "8443", "--tls-cert", cert.toString()}, {"--tls-cert needs --tls-key"},
            {"--tls-port", "8443", "--tls-key", key.toString()}, {"--tls-key needs --tls-cert"},
            {"--tls-port", "70000"}, {"--tls-port must be a port number 0-65535"},
            {"--tls-port", "8443", "--tls-cert", dir.resolve("missing.pem").toString(), "--tls-key", key.toString()},
            {"--tls-cert: cannot read"},
            {"--tls-port", "8443", "--tls-cert", garbage.toString(), "--tls-key", key.toString()}, {"--tls-cert is not PEM"},
            {"--tls-port", "8443", "--tls-cert", cert.toString(), "--tls-key", otherKey.toString()},
            {"--tls-key does not match the --tls-cert certificate"},
            {"--admin-tls-cert", cert.toString()}, {"--admin-tls-cert needs --admin-tls-key"},
            {"--role", "control-plane", "--tls-port", "8443"}, {"--tls-port is for nodes that proxy"},
        };
        for (int i = 0; i < cases.length; i += 2) {
            String[] args = new String[cases[i].length + 1];
            args[0] = "start";
            System.arraycopy(cases[i], 0, args, 1, cases[i].length);
            Run r = run(args);
            assertEquals(2, r.code(), String.join(" ", args) + ": " + r.err());
            assertTrue(r.err().contains(cases[i + 1][0]), String.join(" ", args) + ": " + r.err());
        }
    }

    @Test
    void everyCommandHasHelp() {
        for (String cmd : new String[]{"start", "validate", "version", "sdk", "help"}) {
            for (String[] args : new String[][]{{cmd, "--help"}, {cmd, "-h"}, {"help", cmd}}) {
                Run r = run(args);
                assertEquals(0, r.code(), String.join(" ", args) + ": " + r.err());
                assertTrue(r.out().startsWith("usage: sluice " + cmd), String.join(" ", args) + ": " + r.out());
                assertEquals("", r.err(), String.join(" ", args));
            }
        }
        Run r = run("start", "--config", "x.yaml", "--help");   // anywhere after the command
        assertEquals(0, r.code());
        assertTrue(r.out().contains("--access-log stdout|off|FILE"), r.out());
        assertTrue(r.out().contains("SLUICE_HEAP"), r.out());
        for (String[] args : new String[][]{{"--help"}, {"-h"}, {"help"}}) {
            r = run(args);
            assertEquals(0, r.code(), String.join(" ", args));
            for (String cmd : new String[]{"start", "validate", "version", "sdk", "help"}) {
                assertTrue(r.out().contains("usage: sluice " + cmd), r.out());
            }
        }
    }

    @Test
    void accessLogFlagsAreChecked() {
        Run r = run("start", "--access-log-format", "apache");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--access-log-format must be combined or json, got 'apache'"), r.err());
        r = run("start", "--access-log", "");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--access-log must be stdout, off or a file name"), r.err());
    }

    @Test
    void auditRetentionFlagsMustBeWholeNumbers() {
        for (String[] bad : new String[][]{{"--audit-retention-days", "-1"}, {"--audit-retention-days", "ninety"},
                {"--audit-retention-days", "99999999"}, {"--audit-max-rows", "1e6"}, {"--audit-max-rows", "-5"}}) {
            Run r = run("start", bad[0], bad[1]);
            assertEquals(2, r.code(), String.join(" ", bad));
            assertTrue(r.err().contains(bad[0] + " must be a whole number 0-"), r.err());
            assertTrue(r.err().contains("got '" + bad[1] + "'"), r.err());
        }
    }

    @Test
    void misconfiguredTracingStopsTheStartWithAMessage() {
        System.setProperty("otel.traces.exporter", "bogus");
        try {
            Run r = run("start", "--data-dir", dir.resolve("otel").toString(), "--proxy-port", "0",
                    "--admin-port", "0");
            assertEquals(1, r.code());
            assertTrue(r.err().contains("sluice: cannot start: OpenTelemetry tracing is misconfigured:"), r.err());
            assertTrue(r.err().contains("bogus"), r.err());
        } finally {
            System.clearProperty("otel.traces.exporter");
        }
    }

    @Test
    void rolesNeedingPostgresSaySo() {
        Run r = run("start", "--role", "data-plane", "--proxy-port", "0", "--admin-port", "0",
                "--data-dir", dir.resolve("dp").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("--role data-plane needs --postgres JDBC_URL"), r.err());
        r = run("start", "--role", "control-plane", "--admin-port", "0", "--data-dir", dir.resolve("cp").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("--role control-plane needs --postgres JDBC_URL"), r.err());
        r = run("start", "--postgres", "jdbc:mysql://db/x", "--proxy-port", "0", "--admin-port", "0",
                "--data-dir", dir.resolve("sa").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("--postgres must be a jdbc:postgresql://HOST:PORT/DB URL"), r.err());
    }

    @Test
    void startRefusesAnInvalidConfigWithLines() throws Exception {
        String f = file("start-bad.yaml", "routes:\n  - id: a\n    paths: [\"/a\"]\n    upstream: {targets: []}\n");
        Run r = run("start", "--config", f, "--proxy-port", "0", "--admin-port", "0",
                "--data-dir", dir.resolve("data").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith(f + ":4: routes[0].upstream.targets: required: at least one target, or discovery"), r.err());
    }
}
