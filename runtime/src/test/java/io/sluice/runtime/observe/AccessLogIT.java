package io.sluice.runtime.observe;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sluice.runtime.FilterCatalog;
import io.sluice.runtime.SluiceServer;
import io.sluice.runtime.proxy.Gateway;
import io.sluice.runtime.testing.EchoUpstream;
import io.sluice.runtime.testing.Gateways;
import io.sluice.runtime.testing.RawHttp;
import io.sluice.runtime.upstream.UpstreamClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The access log with a real gateway and real requests: one line per request, whatever the client sends. */
class AccessLogIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Apache's combined format, each quoted field free of unescaped quotes. */
    private static final Pattern COMBINED = Pattern.compile(
            "^(\\S+) - (\\S+) \\[\\d{2}/\\w{3}/\\d{4}:\\d{2}:\\d{2}:\\d{2} [+-]\\d{4}] "
                    + "\"((?:[^\"\\\\]|\\\\.)*)\" (\\d{3}) (\\d+|-) "
                    + "\"((?:[^\"\\\\]|\\\\.)*)\" \"((?:[^\"\\\\]|\\\\.)*)\"$");

    @TempDir
    Path dir;

    /** Requests with hostile values: quotes, backslashes, a fake line after an obs-fold, bytes above 0x7F. */
    private static final String[] HOSTILE = {
        "GET /users/1?q=%22x%22 HTTP/1.1\r\nHost: a\r\nUser-Agent: ua\" 200 \"fake\r\n"
                + "Referer: http://r/\\\"\r\nConnection: close\r\n\r\n",
        "GET /users/2 HTTP/1.1\r\nHost: a\r\nUser-Agent: caf\u00e9 \u00ff\r\nConnection: close\r\n\r\n",
        // a line break inside a header value (obs-fold): Helidon refuses it; the refusal is one escaped line
        "GET /users/3 HTTP/1.1\r\nHost: a\r\nUser-Agent: a\r\n 127.0.0.1 - - [x] \"GET /fake HTTP/1.1\" 200 1\r\n"
                + "Connection: close\r\n\r\n",
        "GET /nowhere HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    };

    private List<String> run(AccessLog.Format format) throws Exception {
        Path file = dir.resolve(format + ".log");
        try (EchoUpstream up = EchoUpstream.start("users");
             SluiceServer server = start(AccessLog.file(format, file),
                     Gateways.route("users", "/users/**", up.url()))) {
            for (String raw : HOSTILE) {
                RawHttp.exchange(server.proxyPort(), raw);
            }
        }   // closing writes what is queued
        return Files.readAllLines(file, StandardCharsets.UTF_8);
    }

    private static SluiceServer start(AccessLog log, String yaml) throws Exception {
        SluiceServer server = SluiceServer.start(new SluiceServer.Listeners("127.0.0.1", 0, "127.0.0.1", 0, true),
                new Gateway(FilterCatalog.builtins(), new UpstreamClient(), Tracing.OFF, log), Optional.empty(),
                Optional.empty());
        server.gateway().apply(Gateways.parse(yaml));
        return server;
    }

    @Test
    void jsonOneParsableLinePerRequestWithTheValuesAsSent() throws Exception {
        List<String> lines = run(AccessLog.Format.JSON);
        assertEquals(HOSTILE.length, lines.size(), String.join("\n", lines));
        List<JsonNode> records = new java.util.ArrayList<>();
        for (String l : lines) {
            records.add(JSON.readTree(l));   // each line is one JSON object
        }
        JsonNode first = records.stream().filter(r -> "/users/1?q=%22x%22".equals(r.path("target").asText()))
                .findFirst().orElseThrow(() -> new AssertionError(lines));
        assertEquals("ua\" 200 \"fake", first.get("user_agent").asText());
        assertEquals("http://r/\\\"", first.get("referer").asText());
        assertEquals("users", first.get("route").asText());
        assertEquals(200, first.get("status").asInt());
        assertEquals("GET", first.get("method").asText());
        assertEquals("HTTP/1.1", first.get("protocol").asText());
        assertEquals("127.0.0.1", first.get("client").asText());
        assertEquals(32, first.get("request_id").asText().length());
        assertTrue(first.get("bytes").asLong() > 0);
        JsonNode none = records.stream().filter(r -> "/nowhere".equals(r.path("target").asText())).findFirst()
                .orElseThrow();
        assertEquals(404, none.get("status").asInt());
        assertEquals("no_route", none.get("error").asText());
        assertTrue(records.stream().anyMatch(r -> r.get("status").asInt() == 400
                && "bad_request".equals(r.get("error").asText())), lines.toString());
        assertFalse(lines.stream().anyMatch(l -> l.startsWith("127.0.0.1 - -")), "no injected line");
    }

    @Test
    void combinedOneLinePerRequestQuotesEscaped() throws Exception {
        List<String> lines = run(AccessLog.Format.COMBINED);
        assertEquals(HOSTILE.length, lines.size(), String.join("\n", lines));
        for (String l : lines) {
            assertTrue(COMBINED.matcher(l).matches(), "not combined format: " + l);
            for (char c : l.toCharArray()) {
                assertTrue(c >= 0x20 && c < 0x7f, "only printable ASCII: " + l);
            }
        }
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("127.0.0.1 - - [")
                && l.contains("\"GET /users/1?q=%22x%22 HTTP/1.1\" 200 ")
                && l.endsWith(" \"http://r/\\\\\\\"\" \"ua\\\" 200 \\\"fake\"")), String.join("\n", lines));
        // bytes above 0x7F: whatever Helidon decoded them to, they are written as \xHH
        assertTrue(lines.stream().anyMatch(l -> l.contains("\"GET /users/2 HTTP/1.1\" 400 ")
                && l.contains("\"caf\\x")), String.join("\n", lines));
        assertTrue(lines.stream().anyMatch(l -> l.contains("\"GET /nowhere HTTP/1.1\" 404 ")));
        assertFalse(lines.stream().anyMatch(l -> l.contains("/fake") && !l.contains("users/1")), "no injected line");
    }

    @Test
    void aFullQueueDropsAndCountsAndNeverBlocks() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        OutputStream stuck = new OutputStream() {   // a disk that does not answer
            @Override
            public void write(int b) throws java.io.IOException {
                try {
                    release.await();
                } catch (InterruptedException e) {
                    throw new java.io.InterruptedIOException();
                }
            }
        };
        AccessLog log = AccessLog.create(AccessLog.Format.JSON, stuck, false, "stuck", 8);
        try {
            AccessLog.Entry e = new AccessLog.Entry(0, "1.2.3.4", "GET", "/", "HTTP/1.1", 200, 10, null, null, 1,
                    "r", "id", null, null, null);
            for (int i = 0; i < 1_000; i++) {
                log.log(e);   // returns at once: the writer is stuck on its first write
            }
            assertTrue(log.dropped() >= 1_000 - 8 - 256, "dropped " + log.dropped());
            String scrape = Telemetry.scrape();
            assertTrue(scrape.contains("sluice_access_log_dropped_total"), "metric exported");
        } finally {
            release.countDown();
            log.close();
        }
    }
}
