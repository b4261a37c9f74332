package io.sluice.runtime.upstream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.runtime.Node;
import io.sluice.runtime.testing.AdminClient;
import io.sluice.runtime.testing.AdminClient.Resp;
import io.sluice.runtime.testing.Nodes;
import io.sluice.runtime.testing.TestPki;
import io.sluice.runtime.testing.TestPki.Identity;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * HTTPS upstreams through the gateway of a standalone node, against real JDK HTTPS servers with certificates from
 * a test CA: trusting the configured CA, refusing what the JDK's trust store does not know, verification off, and
 * mutual TLS.
 */
class UpstreamTlsIT {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;
    static Identity ca;
    static Identity client;
    static TestPki.Https server;
    static TestPki.Https mutual;
    static Node node;
    static AdminClient admin;

    @BeforeAll
    static void up() throws Exception {
        ca = TestPki.ca("Sluice Test CA");
        Identity serverId = TestPki.leaf("localhost", ca, "localhost", "ip:127.0.0.1");
        client = TestPki.leaf("gateway-client", ca);
        server = TestPki.https("secure", serverId, ca, false);
        mutual = TestPki.https("mutual", serverId, ca, true);
        node = Nodes.standalone(dir.resolve("data"));
        admin = Nodes.admin(node);
    }

    @AfterAll
    static void down() {
        if (node != null) {
            node.close();
        }
        server.close();
        mutual.close();
    }

    static String q(String s) {
        try {
            return JSON.writeValueAsString(s);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** A route at {@code path} to an inline upstream; the upstream JSON is written out. */
    static void route(String id, String upstream) {
        Resp r = admin.put("/v1/routes/" + id, "{\"paths\": [\"/" + id + "\"], \"upstream\": " + upstream + "}");
        assertTrue(r.status() == 201 || r.status() == 200, r.toString());
    }

    static HttpResponse<String> get(String path) throws Exception {
        return Nodes.get(node, path);
    }

    static void assertTlsFailure(HttpResponse<String> r) throws Exception {
        assertEquals(502, r.statusCode(), r.body());
        JsonNode body = JSON.readTree(r.body());
        assertEquals("bad_gateway", body.path("error").asText(), r.body());
        assertTrue(body.path("message").asText().contains("TLS"), r.body());
    }

    @Test
    void theConfiguredCaIsTrusted() throws Exception {
        route("by-ip", "{\"targets\": [{\"url\": \"https://127.0.0.1:" + server.port() + "\"}], \"tls\": {\"ca\": "
                + q(ca.certPem()) + "}}");
        HttpResponse<String> r = get("/by-ip");
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("secure client=none", r.body());

        // by name: the host name in the URL, and the name given as sni while the URL holds the address
        route("by-host", "{\"targets\": [{\"url\": \"https://localhost:" + server.port() + "\"}], \"tls\": {\"ca\": "
                + q(ca.certPem()) + "}}");
        r = get("/by-host");
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("secure client=none", r.body());
        Resp shared = admin.put("/v1/upstreams/secure", "{\"targets\": [{\"url\": \"https://127.0.0.1:"
                + server.port() + "\"}], \"tls\": {\"ca\": " + q(ca.certPem()) + ", \"sni\": \"localhost\"}}");
        assertEquals(201, shared.status(), shared.toString());
        assertEquals(201, admin.put("/v1/routes/by-sni", "{\"paths\": [\"/by-sni\"], \"upstream\": \"secure\"}")
                .status());
        r = get("/by-sni");
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("secure client=none", r.body());
        // a name the certificate does not hold is refused
        route("wrong-sni", "{\"targets\": [{\"url\": \"https://127.0.0.1:" + server.port() + "\"}], \"tls\": {\"ca\": "
                + q(ca.certPem()) + ", \"sni\": \"other.example\"}}");
        assertTlsFailure(get("/wrong-sni"));
    }

    @Test
    void withoutTheCaTheJdkTrustStoreRefusesTheServerAndVerifyOffAcceptsIt() throws Exception {
        int before = server.requests();
        route("jdk-trust", "{\"targets\": [{\"url\": \"https://127.0.0.1:" + server.port() + "\"}]}");
        assertTlsFailure(get("/jdk-trust"));
        route("verify-on", "{\"targets\": [{\"url\": \"https://127.0.0.1:" + server.port() + "\"}],"
                + " \"tls\": {\"verify\": true}}");
        assertTlsFailure(get("/verify-on"));
        assertEquals(before, server.requests(), "nothing reaches a server that was not verified");

        route("insecure", "{\"targets\": [{\"url\": \"https://127.0.0.1:" + server.port() + "\"}],"
                + " \"tls\": {\"verify\": false}}");
        HttpResponse<String> r = get("/insecure");
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("secure client=none", r.body());
        // verify off also skips the name check
        route("insecure-name", "{\"targets\": [{\"url\": \"https://127.0.0.1:" + server.port() + "\"}],"
                + " \"tls\": {\"verify\": false, \"sni\": \"other.example\"}}");
        assertEquals(200, get("/insecure-name").statusCode());
    }

    @Test
    void mutualTlsPresentsTheClientCertificate() throws Exception {
        String base = "\"targets\": [{\"url\": \"https://127.0.0.1:" + mutual.port() + "\"}], \"retries\": 0";
        route("mtls", "{" + base + ", \"tls\": {\"ca\": " + q(ca.certPem()) + ", \"client_cert\": "
                + q(client.certPem()) + ", \"client_key\": " + q(client.keyPem()) + "}}");
        HttpResponse<String> r = get("/mtls");
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("mutual client=CN=gateway-client", r.body());

        route("no-client-cert", "{" + base + ", \"tls\": {\"ca\": " + q(ca.certPem()) + "}}");
        assertTlsFailure(get("/no-client-cert"));
        // a certificate from a CA the server does not trust
        Identity stranger = TestPki.leaf("stranger", TestPki.ca("Other CA"));
        route("stranger", "{" + base + ", \"tls\": {\"ca\": " + q(ca.certPem()) + ", \"client_cert\": "
                + q(stranger.certPem()) + ", \"client_key\": " + q(stranger.keyPem()) + "}}");
        assertTlsFailure(get("/stranger"));
        // and the good one still works beside them
        assertEquals("mutual client=CN=gateway-client", get("/mtls").body());
    }

    @Test
    void keyMaterialTheTrialBuildCannotUseIsRefused() throws Exception {
        long v = admin.get("/v1/config").json().path("version").asLong();
        List<String> wrong = new ArrayList<>();
        String https = "\"targets\": [{\"url\": \"https://127.0.0.1:" + server.port() + "\"}]";
        Identity other = TestPki.leaf("other", ca);
        for (String[] c : List.of(
                new String[] {"a key not matching the certificate", "{\"client_cert\": " + q(client.certPem())
                        + ", \"client_key\": " + q(other.keyPem()) + "}", "tls"},
                new String[] {"garbage in a certificate block", "{\"ca\": \"-----BEGIN CERTIFICATE-----\\ngarbage\\n"
                        + "-----END CERTIFICATE-----\"}", "tls"},
                new String[] {"a key where the ca goes", "{\"ca\": " + q(client.keyPem()) + "}", "tls.ca"},
                new String[] {"an encrypted key", "{\"client_cert\": " + q(client.certPem()) + ", \"client_key\": "
                        + q(TestPki.pem("ENCRYPTED PRIVATE KEY", new byte[] {1, 2, 3})) + "}", "tls"})) {
            Resp r = admin.put("/v1/upstreams/bad", "{" + https + ", \"tls\": " + c[1] + "}");
            boolean pathOk = false;
            for (JsonNode d : r.status() == 400 ? r.json().path("details") : JSON.createArrayNode()) {
                pathOk |= d.path("path").asText().startsWith(c[2]);
            }
            if (r.status() != 400 || !"invalid_config".equals(r.error()) || !pathOk) {
                wrong.add(c[0] + ": " + r);
            }
        }
        assertTrue(wrong.isEmpty(), String.join("\n", wrong));
        assertEquals(v, admin.get("/v1/config").json().path("version").asLong());
        assertEquals(404, admin.get("/v1/upstreams/bad").status());
        assertFalse(admin.get("/v1/upstreams").body().contains("\"bad\""));
    }
}
