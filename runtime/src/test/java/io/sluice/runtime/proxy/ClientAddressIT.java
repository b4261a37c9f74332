package io.sluice.runtime.proxy;

import io.sluice.runtime.SluiceServer;
import io.sluice.runtime.testing.Gateways;
import io.sluice.runtime.testing.RawHttp;
import io.sluice.runtime.testing.RawUpstream;
import io.sluice.registry.config.ConfigException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The real client address: X-Forwarded-For / Forwarded are believed only from a trusted proxy, and then only up to
 * the right-most untrusted entry. The test client connects from 127.0.0.1, which one gateway trusts and the other
 * does not; {@code ip-restriction} (allowing only 198.51.100.7) and {@code rate-limit by: ip} show which address
 * the filters saw.
 */
class ClientAddressIT {
    private static RawUpstream upstream;
    private static SluiceServer trusting;
    private static SluiceServer untrusting;

    private static String config(String trusted) {
        return """
                settings:
                  trusted_proxies: %2$s
                routes:
                  - id: only-one-client
                    paths: ["/allow/**"]
                    upstream: {targets: [{url: "%1$s"}]}
                    plugins: [{name: ip-restriction, config: {allow: ["198.51.100.7"]}}]
                  - id: limited
                    paths: ["/limited/**"]
                    upstream: {targets: [{url: "%1$s"}]}
                    plugins: [{name: rate-limit, config: {rate: 1, burst: 1, by: ip}}]
                """.formatted(upstream.url(), trusted);
    }

    @BeforeAll
    static void start() throws Exception {
        upstream = RawUpstream.start((q, n) -> RawUpstream.Reply.keep("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
        trusting = Gateways.start(config("[\"10.0.0.0/8\", \"127.0.0.1\"]"));
        untrusting = Gateways.start(config("[\"10.0.0.0/8\"]"));
    }

    @AfterAll
    static void stop() throws Exception {
        trusting.close();
        untrusting.close();
        upstream.close();
    }

    private static RawHttp.Response get(SluiceServer gw, String path, String headers) throws Exception {
        return RawHttp.exchange(gw.proxyPort(), "GET " + path + " HTTP/1.1\r\nHost: gw\r\n" + headers + "\r\n");
    }

    private static java.util.List<String> lines(RawUpstream.Request q) {
        return java.util.Arrays.stream(q.headers().toLowerCase().split("\r?\n")).map(String::strip).toList();
    }

    @Test
    void spoofedHeadersFromAnUntrustedPeerAreIgnored() throws Exception {
        for (String spoof : new String[] {"X-Forwarded-For: 198.51.100.7\r\n",
                "X-Forwarded-For: 10.1.1.1, 198.51.100.7\r\n", "Forwarded: for=198.51.100.7\r\n",
                "X-Real-IP: 198.51.100.7\r\n"}) {
            RawHttp.Response r = get(untrusting, "/allow/x", spoof);
            assertEquals(403, r.status(), spoof + r.text());
        }
        // the upstream still gets what the client said, with the real peer appended, and the listener's scheme
        int before = upstream.requests().size();
        RawHttp.Response ok = get(untrusting, "/limited/a", "X-Forwarded-For: 198.51.100.7\r\nX-Forwarded-Proto: https\r\n");
        assertEquals(200, ok.status(), ok.text());
        java.util.List<String> h = lines(upstream.requests().get(before));
        assertTrue(h.contains("x-forwarded-for: 198.51.100.7, 127.0.0.1"), h.toString());
        assertTrue(h.contains("x-forwarded-proto: http"), h.toString());
        // and every spoofed address shares the peer's one rate-limit bucket
        RawHttp.Response second = get(untrusting, "/limited/b", "X-Forwarded-For: 203.0.113.99\r\n");
        assertEquals(429, second.status(), second.text());
    }

    @Test
    void aTrustedPeerNamesTheClientByTheRightMostUntrustedEntry() throws Exception {
        assertEquals(200, get(trusting, "/allow/x", "X-Forwarded-For: 198.51.100.7\r\n").status());
        // trusted hops right of the client are skipped
        assertEquals(200, get(trusting, "/allow/x", "X-Forwarded-For: 198.51.100.7, 10.2.3.4, 10.0.0.1\r\n").status());
        // anything left of the right-most untrusted entry was written by someone we cannot vouch for
        assertEquals(403, get(trusting, "/allow/x", "X-Forwarded-For: 198.51.100.7, 203.0.113.5\r\n").status());
        // several header lines are one list
        assertEquals(200, get(trusting, "/allow/x",
                "X-Forwarded-For: 203.0.113.5\r\nX-Forwarded-For: 198.51.100.7\r\n").status());
        // garbage stops the walk at the last address we could vouch for: the peer
        assertEquals(403, get(trusting, "/allow/x", "X-Forwarded-For: 198.51.100.7, not-an-ip\r\n").status());
        // RFC 7239 when there is no X-Forwarded-For
        assertEquals(200, get(trusting, "/allow/x", "Forwarded: for=\"198.51.100.7:4711\";proto=https\r\n").status());
        assertEquals(200, get(trusting, "/allow/x", "Forwarded: for=203.0.113.5, for=198.51.100.7\r\n").status());
        // no header: the peer itself
        assertEquals(403, get(trusting, "/allow/x", "").status());
        // a trusted proxy's X-Forwarded-Proto is kept
        int before = upstream.requests().size();
        assertEquals(200, get(trusting, "/allow/x", "X-Forwarded-For: 198.51.100.7\r\nX-Forwarded-Proto: https\r\n")
                .status());
        assertTrue(lines(upstream.requests().get(before)).contains("x-forwarded-proto: https"));
        // each forwarded client has its own rate-limit bucket
        assertEquals(200, get(trusting, "/limited/a", "X-Forwarded-For: 192.0.2.1\r\n").status());
        assertEquals(200, get(trusting, "/limited/a", "X-Forwarded-For: 192.0.2.2\r\n").status());
        assertEquals(429, get(trusting, "/limited/a", "X-Forwarded-For: 192.0.2.1\r\n").status());
    }

    @Test
    void badTrustedProxiesAreRefusedWithTheirPath() {
        ConfigException e = assertThrows(ConfigException.class, () -> Gateways.parse("""
                settings:
                  trusted_proxies: ["10.0.0.0/33", "lb.internal", "10.0.0.1"]
                """));
        String text = e.problems().toString();
        assertTrue(text.contains("settings.trusted_proxies[0]") && text.contains("prefix"), text);
        assertTrue(text.contains("settings.trusted_proxies[1]") && text.contains("host name"), text);
        assertThrows(ConfigException.class, () -> Gateways.parse("settings: {paths: {escaped_slashes: decode}}"));
        assertThrows(ConfigException.class, () -> Gateways.parse("settings: {clients: {header_timeout_ms: 0}}"));
        assertThrows(ConfigException.class, () -> Gateways.parse("settings: {unknown: 1}"));
    }
}
