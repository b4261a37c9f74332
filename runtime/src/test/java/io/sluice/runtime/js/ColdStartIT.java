package io.sluice.runtime.js;

import io.sluice.runtime.testing.AdminClient;
import io.sluice.runtime.testing.AdminClient.Resp;
import io.sluice.runtime.testing.EchoUpstream;
import io.sluice.runtime.testing.NodeProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A JavaScript filter's first requests after a start, each taking a code path not run before (another branch, a
 * regular expression, JSON, the response phase), under a 50 ms deadline, on fresh nodes (new JVMs). Before the cold
 * allowance covered more than a context's first call, these failed 500 filter_error on every fresh start: the first
 * run of a cold path took 80-850 ms on this 2-core machine.
 */
class ColdStartIT {
    static final String TOKEN = "cold-start-test-token-0123456789";
    static final String SCRIPT = """
            export default {
              name: 'cold-paths', version: '1.0.0',
              schema: { type: 'object', properties: { deny: { type: 'array', items: { type: 'string' } } } },
              onRequest(ctx, conf) {
                const p = ctx.request.path;
                if (p.startsWith('/c/plain')) {
                  ctx.request.headers.set('x-plain', '1');
                  return;
                }
                if (p.startsWith('/c/regex')) {
                  const m = /^\\/c\\/regex\\/([a-z]+)-(\\d{2,4})(?:\\.(json|xml))?$/i.exec(p);
                  const q = (ctx.request.query || '').split('&').map((kv) => kv.split('=')).filter((kv) => kv.length === 2);
                  const o = JSON.parse(JSON.stringify({ m: m ? m.slice(1) : [], q: q, t: new Date(0).toISOString() }));
                  ctx.request.headers.set('x-regex', encodeURIComponent(o.m.join('|')) + ';' + o.q.length);
                  return;
                }
                if (p.startsWith('/c/deny')) {
                  const list = (conf.deny || []).map((d) => d.toUpperCase()).sort().reverse();
                  return { status: 403, headers: { 'x-why': list.join(',') },
                           body: { error: 'denied', list: list, n: Math.max(...list.map((s) => s.length)) } };
                }
              },
              onResponse(ctx, conf) {
                if (ctx.response.status >= 200 && ctx.response.status < 300) {
                  const names = ['x-a', 'x-b', 'x-c'].map((n, i) => n + '=' + (i * 7 % 3)).join(';');
                  ctx.response.headers.set('x-resp', names.padStart(20, '.'));
                }
              },
            };""";

    @TempDir
    Path dir;

    @Test
    void theFirstRequestsOverColdCodePathsMeetA50msDeadlineOnFreshStarts() throws Exception {
        try (EchoUpstream upstream = EchoUpstream.start("app");
             HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
            for (int start = 0; start < 2; start++) {
                try (NodeProcess node = NodeProcess.start(dir.resolve("data-" + start), TOKEN)) {
                    AdminClient admin = new AdminClient(node.adminPort(), TOKEN);
                    Resp up = admin.send("POST", "/v1/filters", SCRIPT, "application/json", "application/javascript");
                    assertEquals(201, up.status(), up.toString());
                    Resp route = admin.put("/v1/routes/c", """
                            {"paths": ["/c/**"], "upstream": {"targets": [{"url": "%s"}]}, "plugins": [
                              {"name": "cold-paths", "config": {"deny": ["a", "bb"]}, "limits": {"deadline_ms": 50}}]}
                            """.formatted(upstream.url()));
                    assertEquals(201, route.status(), route.toString());
                    List<String> seen = new ArrayList<>();
                    String[][] requests = {{"/c/plain", "200"}, {"/c/regex/abc-123.json?x=1&y=2", "200"},
                            {"/c/deny", "403"}, {"/c/plain", "200"}, {"/c/regex/q-99", "200"}, {"/c/other", "200"}};
                    for (String[] r : requests) {
                        long t0 = System.nanoTime();
                        HttpResponse<String> res = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                                + node.proxyPort() + r[0])).timeout(Duration.ofSeconds(30)).build(),
                                HttpResponse.BodyHandlers.ofString());
                        seen.add(r[0] + " " + res.statusCode() + " (" + (System.nanoTime() - t0) / 1_000_000 + " ms)");
                        assertEquals(Integer.parseInt(r[1]), res.statusCode(), "start " + start + ", " + seen + ": "
                                + res.body() + "\n" + String.join("\n", node.output()));
                    }
                    assertEquals("abc%7C123%7Cjson;2", upstream.all().stream()
                            .filter(x -> x.target().startsWith("/c/regex/abc")).reduce((a, b) -> b).orElseThrow()
                            .header("x-regex"));
                    System.out.println("fresh start " + start + ": " + seen);
                }
            }
        }
    }
}
