package io.sluice.runtime.plugins;

import io.sluice.runtime.Node;
import io.sluice.runtime.testing.AdminClient;
import io.sluice.runtime.testing.AdminClient.Resp;
import io.sluice.runtime.testing.EchoUpstream;
import io.sluice.runtime.testing.Nodes;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The sample plugins, built by their own modules as a third party would, uploaded to a running node. */
class SamplePluginsIT {
    static final Path SAMPLES = Path.of("target", "sample-plugins");
    static final String SECRET = "0123456789abcdef-secret";

    @TempDir
    Path dir;
    Node node;
    EchoUpstream upstream;
    AdminClient admin;

    @BeforeEach
    void up() throws Exception {
        upstream = EchoUpstream.start("app");
        node = Nodes.standalone(dir.resolve("data"));
        admin = Nodes.admin(node);
    }

    @AfterEach
    void down() {
        node.close();
        upstream.close();
    }

    Resp uploadJar(String file) throws Exception {
        return admin.send("POST", "/v1/filters", Files.readAllBytes(SAMPLES.resolve(file)), "application/json",
                "application/java-archive");
    }

    Resp uploadJs(String file) throws Exception {
        try (ZipFile zip = new ZipFile(SAMPLES.resolve("js-filters.jar").toFile())) {
            String text = new String(zip.getInputStream(zip.getEntry(file)).readAllBytes(), StandardCharsets.UTF_8);
            return admin.send("POST", "/v1/filters", text, "application/json", "application/javascript");
        }
    }

    @Test
    void sampleJarsAndScriptsLoadAndWorkTogetherOnOneRoute() throws Exception {
        assertEquals(201, uploadJar("hmac-verifier.jar").status());
        assertEquals(201, uploadJar("ab-tagger.jar").status());
        assertEquals(201, uploadJs("ab-tagger.js").status());
        Resp m = uploadJs("maintenance.js");
        assertEquals(201, m.status(), m.toString());
        Resp r = admin.put("/v1/routes/pay", """
                {"paths": ["/pay/**"], "upstream": {"targets": [{"url": "%s"}]}, "plugins": [
                  {"name": "hmac-verifier", "config": {"secret": "%s"}},
                  {"name": "ab-tagger", "config": {"experiment": "checkout", "sticky_header": "X-Session-Id"}},
                  {"name": "ab-tagger-js", "config": {"experiment": "checkout", "sticky_header": "X-Session-Id",
                                                      "header": "X-AB-Variant-Js"}}
                ]}""".formatted(upstream.url(), SECRET));
        assertEquals(201, r.status(), r.toString());
        assertEquals(201, admin.put("/v1/routes/down", """
                {"paths": ["/down/**"], "upstream": {"targets": [{"url": "%s"}]}, "plugins": [
                  {"name": "maintenance", "config": {"retry_after_seconds": 60, "allow_paths": ["/down/health"]}}
                ]}""".formatted(upstream.url())).status());

        String body = "{\"amount\": 5}";
        String ts = String.valueOf(System.currentTimeMillis() / 1000);
        HttpResponse<String> ok = post("/pay/now", body, ts, sign(ts, "POST", "/pay/now", body), "user-2");
        assertEquals(200, ok.statusCode(), ok.body());
        assertEquals("B", upstream.last().header("X-AB-Variant"), "the jar tagged the request by its X-Session-Id");
        assertEquals("B", upstream.last().header("X-AB-Variant-Js"), "the script placed the user identically");
        assertEquals("B", ok.headers().firstValue("X-AB-Variant").orElseThrow());
        int before = upstream.count();
        HttpResponse<String> forged = post("/pay/now", "{\"amount\": 500}", ts, sign(ts, "POST", "/pay/now", body),
                "user-2");
        assertEquals(401, forged.statusCode(), forged.body());
        assertEquals(before, upstream.count(), "a forged request never reaches the upstream");

        HttpResponse<String> down = Nodes.get(node, "/down/orders");
        assertEquals(503, down.statusCode());
        assertEquals("60", down.headers().firstValue("Retry-After").orElseThrow());
        assertEquals(200, Nodes.get(node, "/down/health").statusCode());
        assertTrue(node.uploads().loadedJars().containsAll(java.util.List.of("hmac-verifier@1.0.0",
                "ab-tagger@1.0.0")));
    }

    HttpResponse<String> post(String path, String body, String ts, String sig, String user) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.server().proxyPort() + path))
                .header("X-Timestamp", ts).header("X-Signature", sig).header("X-Session-Id", user)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
        try (HttpClient c = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
            return c.send(req, HttpResponse.BodyHandlers.ofString());
        }
    }

    /** A client's signature, computed independently of the plugin's code. */
    static String sign(String ts, String method, String target, String body) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        return HexFormat.of().formatHex(mac.doFinal((ts + "\n" + method + "\n" + target + "\n" + body)
                .getBytes(StandardCharsets.UTF_8)));
    }
}
