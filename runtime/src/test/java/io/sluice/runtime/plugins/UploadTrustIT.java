package io.sluice.runtime.plugins;

import com.fasterxml.jackson.databind.JsonNode;
import io.sluice.runtime.Node;
import io.sluice.runtime.testing.AdminClient;
import io.sluice.runtime.testing.AdminClient.Resp;
import io.sluice.runtime.testing.JarSigning;
import io.sluice.runtime.testing.Nodes;
import io.sluice.runtime.testing.TestJars;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Upload trust: a developer may upload only jars signed by a key in {@code trusted_jar_signers}; every jar is
 * inspected in a child JVM under a deadline, so its code can neither hang, end nor read the secrets of the
 * control plane.
 */
class UploadTrustIT {
    static final String JAR = "application/java-archive";
    static final long DEADLINE_MS = 4000;

    @TempDir
    Path dir;
    Node node;
    AdminClient platform;
    AdminClient developer;

    @BeforeEach
    void up() throws Exception {
        // read once, when the node starts; short so the spinning jar's test does not wait 10 s
        System.setProperty("sluice.inspect.deadline-ms", Long.toString(DEADLINE_MS));
        try {
            node = Nodes.standalone(dir.resolve("data"));
        } finally {
            System.clearProperty("sluice.inspect.deadline-ms");
        }
        platform = Nodes.admin(node);
        developer = platform.as(platform.post("/v1/tokens", "{\"name\":\"dev\",\"role\":\"developer\"}").json()
                .path("token").asText());
    }

    @AfterEach
    void down() {
        node.close();
    }

    static Resp upload(AdminClient as, byte[] jar) {
        return as.send("POST", "/v1/filters", jar, "application/json", JAR);
    }

    /** A plugin whose factory has the given static initialiser and constructor bodies. */
    static byte[] plugin(String id, String staticInit, String constructor) {
        return TestJars.plugin(id, "1.0.0").source("x.F", """
                package x;
                import io.sluice.plugin.*;
                public final class F implements FilterFactory {
                    static { %s }
                    private final String seen;
                    public F() { String seen = ""; %s this.seen = seen; }
                    public FilterDescriptor descriptor() {
                        return new FilterDescriptor("%s", "1.0.0", "{\\"type\\":\\"object\\",\\"description\\":\\""
                            + seen + "\\"}", "test");
                    }
                    public Filter create(FilterConfig c) { return ex -> Outcome.proceed(); }
                }""".formatted(staticInit, constructor, id)).extension("x.F").build();
    }

    /** Lists the signers; the second and later by their fingerprint in lower case without colons. */
    void trust(JarSigning... signers) {
        StringBuilder list = new StringBuilder();
        for (JarSigning s : signers) {
            String sha = list.isEmpty() ? s.sha256() : s.sha256().replace(":", "").toLowerCase(java.util.Locale.ROOT);
            list.append(list.isEmpty() ? "" : ",").append("{\"name\":\"").append(s.alias()).append("\",\"sha256\":\"")
                    .append(sha).append("\"}");
        }
        Resp r = platform.send("POST", "/v1/config/import", "{\"trusted_jar_signers\":[" + list + "]}",
                "application/json", "application/json");
        assertEquals(200, r.status(), r.toString());
    }

    void assertControlPlaneAnswers() {
        assertEquals(200, platform.get("/v1/filters").status());
        assertEquals(201, upload(platform, TestJars.tagger("after", "1.0.0").build()).status(),
                "a good jar still uploads");
    }

    /** Inspection JVMs this process started and that still run. */
    static long inspectorsRunning() {
        return ProcessHandle.current().descendants().filter(p -> p.info().arguments().map(a -> List.of(a)
                .contains(JarInspectorMain.class.getName())).orElse(false)).count();
    }

    JsonNode lastAudit() {
        return platform.get("/v1/audit?limit=1").json().path("entries").get(0);
    }

    @Test
    void aJarWhoseStaticInitialiserSpinsIsRefusedWithinTheDeadline() {
        long t0 = System.nanoTime();
        Resp r = upload(platform, plugin("spinner", "while (System.nanoTime() != 0) { Thread.onSpinWait(); }", ""));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(422, r.status(), r.toString());
        assertEquals("inspection_timeout", r.error());
        assertTrue(r.json().path("message").asText().contains(DEADLINE_MS + " ms"), r.body());
        assertTrue(ms < DEADLINE_MS + 3000, "answered " + ms + " ms after the upload");
        assertEquals(0, inspectorsRunning(), "the inspection JVM was killed");
        assertEquals(0, node.registry().orElseThrow().store().filters().size(), "nothing stored");
        assertTrue(lastAudit().path("message").asText().startsWith("inspection_timeout"), lastAudit().toString());
        assertControlPlaneAnswers();
    }

    @Test
    void aJarWhoseStaticInitialiserCallsSystemExitEndsOnlyTheInspection() {
        Resp r = upload(platform, plugin("quitter", "System.exit(3);", ""));
        assertEquals(400, r.status(), r.toString());
        assertEquals("invalid_filter", r.error());
        assertTrue(r.body().contains("exit status 3"), r.body());
        assertControlPlaneAnswers();
    }

    @Test
    void aConstructorReadingTheEnvironmentSeesNothingOfTheGateways() {
        assertFalse(System.getenv().isEmpty(), "the test's own environment has variables to leak");
        Resp r = upload(platform, plugin("snoop", "", "seen = String.join(\",\", System.getenv().keySet())"
                + " + \"|\" + System.getProperty(\"sluice.inspect.deadline-ms\");"));
        assertEquals(201, r.status(), r.toString());
        assertEquals("|null", r.json().path("schema").path("description").asText(),
                "the inspection JVM had no environment variables and none of the gateway's properties");
    }

    @Test
    void aDeveloperMayNotUploadAnUnsignedJarButMayUploadScripts() {
        Resp r = upload(developer, TestJars.tagger("unsigned", "1.0.0").build());
        assertEquals(403, r.status(), r.toString());
        assertEquals("jar_not_signed", r.error());
        assertTrue(r.json().path("message").asText().contains("trusted_jar_signers"), r.body());
        JsonNode audit = lastAudit();
        assertEquals("developer", audit.path("role").asText());
        assertEquals(403, audit.path("status").asInt());
        assertTrue(audit.path("message").asText().startsWith("jar_not_signed: "), audit.toString());
        assertEquals(0, node.registry().orElseThrow().store().filters().size());

        Resp js = developer.send("POST", "/v1/filters", """
                export default { name: "dev-js", version: "1.0.0", schema: {type: "object"}, onRequest(ctx, conf) {} };
                """.getBytes(StandardCharsets.UTF_8), "application/json", "application/javascript");
        assertEquals(201, js.status(), js.toString());
        assertEquals(201, upload(platform, TestJars.tagger("unsigned", "1.0.0").build()).status(),
                "a platform token may upload an unsigned jar");
    }

    @Test
    void aDeveloperMayUploadAJarSignedByATrustedKeyOnly() {
        JarSigning team = JarSigning.key(dir, "payments");
        JarSigning stranger = JarSigning.key(dir, "stranger");
        byte[] signed = team.sign(TestJars.tagger("signed", "1.0.0").build());
        assertTrue(JarSigning.printCert(signed).contains(team.sha256()), "keytool prints the fingerprint to trust");

        Resp none = upload(developer, signed);
        assertEquals(403, none.status(), none.toString());
        assertEquals("untrusted_signer", none.error());
        assertTrue(none.body().contains("none are configured"), none.body());
        assertTrue(none.body().contains(team.sha256()), "names the signer to trust: " + none.body());

        trust(team);
        Resp ok = upload(developer, signed);
        assertEquals(201, ok.status(), ok.toString());
        assertTrue(lastAudit().path("message").asText().contains("signed by payments (" + team.sha256() + ")"),
                lastAudit().toString());

        Resp other = upload(developer, stranger.sign(TestJars.tagger("other", "1.0.0").build()));
        assertEquals(403, other.status(), other.toString());
        assertEquals("untrusted_signer", other.error());
        assertTrue(other.body().contains("CN=stranger"), other.body());

        trust(team, stranger);
        assertEquals(201, upload(developer, stranger.sign(TestJars.tagger("other", "1.0.0").build())).status());
    }

    @Test
    void tamperedOrPartlySignedJarsAreRefused() {
        JarSigning team = JarSigning.key(dir, "payments");
        trust(team);
        byte[] signed = team.sign(TestJars.tagger("tampered", "1.0.0").build());
        byte[] evil = JarSigning.entry(TestJars.tagger("tampered", "1.0.0").source("test.jar.TagFactory", """
                package test.jar;
                import io.sluice.plugin.*;
                public final class TagFactory implements FilterFactory {
                    public FilterDescriptor descriptor() {
                        return new FilterDescriptor("tampered", "1.0.0", "{\\"type\\":\\"object\\"}", System.getenv().toString());
                    }
                    public Filter create(FilterConfig c) { return ex -> Outcome.proceed(); }
                }""").build(), "test/jar/TagFactory.class");
        record Case(String what, byte[] jar, String error) {
        }
        List<Case> cases = List.of(
                new Case("a class replaced after signing",
                        JarSigning.rewrite(signed, Map.of("test/jar/TagFactory.class", b -> evil), Map.of()),
                        "jar_signature_invalid"),
                new Case("the manifest's Plugin-Version changed after signing",
                        JarSigning.rewrite(signed, Map.of("META-INF/MANIFEST.MF", b -> new String(b,
                                StandardCharsets.UTF_8).replace("Plugin-Version: 1.0.0", "Plugin-Version: 1.0.1")
                                .getBytes(StandardCharsets.UTF_8)), Map.of()),
                        "jar_signature_invalid"),
                new Case("a class added after signing",
                        JarSigning.rewrite(signed, Map.of(), Map.of("test/jar/Extra.class", evil)),
                        "jar_partially_signed"),
                new Case("the extension index added after signing",
                        JarSigning.rewrite(team.sign(TestJars.tagger("tampered", "1.0.0").noExtensions().build()),
                                Map.of(), Map.of("META-INF/extensions.idx", "test.jar.TagFactory\n".getBytes())),
                        "jar_partially_signed"),
                new Case("signature files removed", JarSigning.rewrite(signed, Map.of("META-INF/PAYMENTS.SF", b -> null,
                        "META-INF/PAYMENTS.EC", b -> null), Map.of()), "jar_not_signed"));
        for (Case c : cases) {
            Resp r = upload(developer, c.jar());
            assertEquals(403, r.status(), c.what() + ": " + r);
            assertEquals(c.error(), r.error(), c.what() + ": " + r);
        }
        Resp notAJar = upload(developer, "just text".getBytes());
        assertEquals(400, notAJar.status(), notAJar.toString());
        assertEquals("invalid_filter", notAJar.error());
        assertEquals(0, node.registry().orElseThrow().store().filters().size(), "nothing stored");
        assertEquals(201, upload(developer, signed).status(), "the untouched jar is fine");
    }

    Resp uploadScript(String topLevel) {
        return developer.send("POST", "/v1/filters", (topLevel + """
                export default { name: "big", version: "1.0.0", schema: {type: "object"}, onRequest(ctx, conf) {} };
                """).getBytes(StandardCharsets.UTF_8), "application/json", "application/javascript");
    }

    @Test
    void aScriptWhoseTopLevelAllocatesTooMuchOrRunsTooLongIsRefused() {
        // 32 MiB at a time, kept: the budget (512 MiB) is passed within a second even on a loaded machine (a
        // 120-million-element Array.fill ran past the 4 s deadline instead when CI shared the cores)
        Resp big = uploadScript("const keep = []; for (;;) { keep.push(new Float64Array(4 * 1024 * 1024)); }\n");
        assertEquals(400, big.status(), big.toString());
        assertEquals("invalid_filter", big.error());
        assertTrue(big.body().contains("allocated more than 512 MiB"), big.body());

        // one statement the statement limit cannot stop: a backtracking regular expression (the backreference
        // keeps it off the automaton engine) that would run for ages
        long t0 = System.nanoTime();
        Resp slow = uploadScript("/^(a|aa)+\\1$/.test('a'.repeat(70) + 'b');\n");
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(422, slow.status(), slow.toString());
        assertEquals("inspection_timeout", slow.error());
        assertTrue(ms < DEADLINE_MS + 3000, "answered " + ms + " ms after the upload");
        assertEquals(0, node.registry().orElseThrow().store().filters().size(), "nothing stored");
        assertControlPlaneAnswers();
    }
}
