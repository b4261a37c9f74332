package io.sluice.runtime.proxy;

import io.sluice.runtime.SluiceServer;
import io.sluice.runtime.edge.CanonicalPath;
import io.sluice.runtime.testing.Gateways;
import io.sluice.runtime.testing.RawHttp;
import io.sluice.runtime.testing.RawUpstream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An attacker's path variants against a protected route ({@code /admin/**} behind key-auth) and an open route
 * ({@code /**}) on the same upstream. Each variant is either refused 400 {@code bad_path} (connection kept), or
 * routed by its canonical form: to the protected route, which asks for a key (401), or to the open route, which
 * forwards exactly the canonical path. None reaches the upstream as an admin path without credentials.
 */
class CanonicalPathIT {
    private static RawUpstream upstream;
    private static SluiceServer gw;

    @BeforeAll
    static void start() throws Exception {
        upstream = RawUpstream.start((q, n) -> RawUpstream.Reply.keep("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
        gw = Gateways.start("""
                routes:
                  - id: admin
                    paths: ["/admin/**"]
                    upstream: {targets: [{url: "%1$s"}]}
                    plugins: [{name: key-auth, config: {}}]
                  - id: open
                    paths: ["/**"]
                    upstream: {targets: [{url: "%1$s"}]}
                  - id: rewrite
                    paths: ["/svc/**"]
                    strip_prefix: /svc
                    upstream: {targets: [{url: "%1$s/base"}]}
                """.formatted(upstream.url()));
    }

    @AfterAll
    static void stop() throws Exception {
        gw.close();
        upstream.close();
    }

    /** {@code raw => expected}: {@code 400}, {@code 401} (protected route, no key) or the path the upstream gets. */
    static Stream<String> variants() {
        return Stream.of(
                // climbing out of the open prefix into the protected one
                "/public/../admin/x => 401",
                "/public/./../admin/x => 401",
                "/public/%2e%2e/admin/x => 401",
                "/public/%2E%2E/admin/x => 401",
                "/public/.%2e/admin/x => 401",
                "/public/%2e./admin/x => 401",
                "/public/a/b/../../../admin/x => 401",
                "/public/../../admin/x => 400",
                "/../admin/x => 400",
                "/%2e%2e/admin/x => 400",
                "/.. => 400",
                "/a/../.. => 400",
                // encoded letters and dots of the protected prefix
                "/%61dmin/x => 401",
                "/%61%64%6d%69%6e/x => 401",
                "/%41dmin/x => /Admin/x",
                "/ADMIN/x => /ADMIN/x",
                "/admin%2fx => 400",
                "/admin%2Fx => 400",
                "/%2fadmin/x => 400",
                "/%2e/admin/x => 401",
                "/./admin/x => 401",
                "/././admin/./x => 401",
                "/admin/./x => 401",
                "/admin/. => 401",
                "/admin/x/.. => 401",
                // repeated slashes
                "//admin/x => 401",
                "///admin//x => 401",
                "/public//x => /public/x",
                "/public/x// => /public/x/",
                // path parameters and dot-parameter segments (servlet containers strip them)
                "/public/..;/admin/x => 400",
                "/admin;x=1/x => 400",
                "/public/.;/admin/x => 400",
                "/public/%2e%2e;/admin/x => 400",
                "/x%3Badmin => /x%3Badmin",
                // backslashes, raw and encoded
                "/public/..\\admin/x => 400",
                "/public\\..\\admin\\x => 400",
                "/public/%5c../admin/x => 400",
                "/public/%5C..%5Cadmin => 400",
                // NUL and control characters, raw and encoded
                "/admin%00/x => 400",
                "/public/%00../admin => 400",
                "/a%0d%0aX-Injected:%20yes => 400",
                "/a%09b => 400",
                "/a%7f => 400",
                "/a\u0001b => 400",
                "/a\u007fb => 400",
                // bad percent-encoding
                "/a% => 400",
                "/a%2 => 400",
                "/a%zz => 400",
                "/a%%32%65 => 400",
                "/a%g0 => 400",
                // UTF-8: valid kept encoded (upper-case hex); overlong, surrogate, truncated and stray bytes refused
                "/caf%c3%a9 => /caf%C3%A9",
                "/%e2%82%ac => /%E2%82%AC",
                "/%f0%9f%98%80 => /%F0%9F%98%80",
                "/%c0%ae%c0%ae/admin => 400",
                "/%c0%af => 400",
                "/%e0%80%af => 400",
                "/%f0%80%80%af => 400",
                "/%ed%a0%80 => 400",
                "/%c3 => 400",
                "/%c3%28 => 400",
                "/%80 => 400",
                "/%ff => 400",
                "/%f5%80%80%80 => 400",
                "/\u00e9 => 400",
                // double encoding stays literal: %252e is the three characters %2e, never a dot
                "/public/%252e%252e/admin/x => /public/%252e%252e/admin/x",
                "/%252e%252e/admin => /%252e%252e/admin",
                "/%25%32%65 => /%252e",
                // other escapes are kept, hex upper-cased; reserved characters are not decoded
                "/a%3fb => /a%3Fb",
                "/a%23b => /a%23b",
                "/a%20b => /a%20b",
                "/a%2b => /a%2B",
                // characters never allowed raw in a path
                "/a\"b => 400",
                "/a<b> => 400",
                "/a{b} => 400",
                "/a|b => 400",
                "/a^b => 400",
                "/a`b => 400",
                // unreserved escapes decoded
                "/%7euser/%2d%5f => /~user/-_",
                "/public/%78 => /public/x",
                // trailing dots
                "/public/x/. => /public/x/",
                "/public/x/.. => /public/",
                "/public/... => /public/...",
                "/public/.hidden => /public/.hidden",
                "/public/..x => /public/..x",
                // not origin-form
                "* => 400",
                "admin/x => 400",
                "/ => /");
    }

    @Test
    void eachVariantIsRefusedOrRoutedByItsCanonicalForm() throws Exception {
        for (String row : variants().toList()) {
            variant(row);
        }
    }

    private void variant(String row) throws Exception {
        String raw = row.substring(0, row.lastIndexOf(" => "));
        String expected = row.substring(row.lastIndexOf(" => ") + 4);
        int before = upstream.requests().size();
        try (RawHttp c = new RawHttp(gw.proxyPort())) {
            RawHttp.Response r = c.send("GET " + raw + " HTTP/1.1\r\nHost: gw\r\n\r\n");
            switch (expected) {
                case "400" -> {
                    assertEquals(400, r.status(), raw + ": " + r.text());
                    assertTrue(r.text().contains("\"error\":\"bad_path\""), raw + ": " + r.text());
                    assertEquals(before, upstream.requests().size(), raw + ": nothing may reach the upstream");
                    // the head was read whole: the connection stays usable
                    assertEquals(200, c.send("GET /public/ok HTTP/1.1\r\nHost: gw\r\n\r\n").status(), raw);
                }
                case "401" -> {
                    assertEquals(401, r.status(), raw + " must reach the protected route: " + r.text());
                    assertEquals(before, upstream.requests().size(), raw + ": nothing may reach the upstream");
                }
                default -> {
                    assertEquals(200, r.status(), raw + ": " + r.text());
                    assertEquals("GET " + expected + " HTTP/1.1", upstream.requests().get(before).line(), raw);
                }
            }
        }
    }

    @Test
    void atLeastSixtyHostileVariants() {
        assertTrue(variants().count() >= 60);
    }

    @Test
    void absoluteFormIsRoutedByItsPathAndForwardedInOriginForm() throws Exception {
        int before = upstream.requests().size();
        RawHttp.Response r = RawHttp.exchange(gw.proxyPort(),
                "GET http://api.example/admin/x HTTP/1.1\r\nHost: other\r\n\r\n");
        assertEquals(401, r.status(), r.text());
        r = RawHttp.exchange(gw.proxyPort(), "GET HTTP://API.example:8080/public/../y?q=1 HTTP/1.1\r\nHost: other\r\n\r\n");
        assertEquals(200, r.status(), r.text());
        RawUpstream.Request got = upstream.requests().get(before);
        assertEquals("GET /y?q=1 HTTP/1.1", got.line());
        assertTrue(got.headers().toLowerCase().contains("x-forwarded-host: api.example:8080"), got.headers());
        r = RawHttp.exchange(gw.proxyPort(), "GET http://api.example HTTP/1.1\r\nHost: other\r\n\r\n");
        assertEquals(200, r.status(), r.text());
        assertEquals("GET / HTTP/1.1", upstream.requests().get(before + 1).line());
    }

    /** Random paths through a rewriting route: the upstream gets exactly base + canonical path minus the prefix. */
    @Test
    void upstreamReceivesExactlyTheCanonicalPathPlusTheRoutesRewrite() throws Exception {
        Random random = new Random(14);
        String[] pieces = {"a", "b", ".", "..", "%2e", "%2E%2e", "%61", "%25", "%3f", "~", "-", "x.y", "", "%c3%a9",
                "svc", "%7E", "%41"};
        int checked = 0;
        try (RawHttp c = new RawHttp(gw.proxyPort())) {
            for (int i = 0; i < 300; i++) {
                StringBuilder p = new StringBuilder("/svc");
                for (int k = random.nextInt(6); k >= 0; k--) {
                    p.append('/').append(pieces[random.nextInt(pieces.length)]);
                }
                String raw = p.toString();
                String canonical;
                try {
                    canonical = CanonicalPath.of(raw, CanonicalPath.Options.STRICT);
                } catch (CanonicalPath.BadPath e) {
                    continue;
                }
                if (!canonical.equals("/svc") && !canonical.startsWith("/svc/")) {
                    continue;   // climbed out of the rewriting route
                }
                int before = upstream.requests().size();
                RawHttp.Response r = c.send("GET " + raw + " HTTP/1.1\r\nHost: gw\r\n\r\n");
                assertEquals(200, r.status(), raw);
                String rest = canonical.length() == 4 ? "/" : canonical.substring(4);
                assertEquals("GET /base" + rest + " HTTP/1.1", upstream.requests().get(before).line(), raw);
                checked++;
            }
        }
        assertTrue(checked > 100, "checked " + checked);
    }

    @Test
    void canonicalisationIsIdempotentOnGeneratedInput() throws Exception {
        Random random = new Random(2026);
        String[] pieces = {"/", "//", ".", "..", "%2e", "%2E", "%2f", "%5c", "%25", "%252e", "%00", "%c3%a9", "%c0%ae",
                "a", "B", "~", "%7e", "%41", ";", ":", "@", "%3b", "%zz", "%", "\\", "\u00e9", "-", "_", "%20"};
        List<String> accepted = new ArrayList<>();
        for (CanonicalPath.Options options : List.of(CanonicalPath.Options.STRICT,
                new CanonicalPath.Options(CanonicalPath.EscapedSlashes.KEEP, true))) {
            for (int i = 0; i < 20_000; i++) {
                StringBuilder p = new StringBuilder("/");
                for (int k = random.nextInt(10); k >= 0; k--) {
                    p.append(pieces[random.nextInt(pieces.length)]);
                }
                String once;
                try {
                    once = CanonicalPath.of(p.toString(), options);
                } catch (CanonicalPath.BadPath e) {
                    continue;
                }
                accepted.add(once);
                assertEquals(once, CanonicalPath.of(once, options), "not idempotent for " + p);
                assertTrue(once.startsWith("/"), once);
                assertFalse(once.contains("//"), once);
                assertFalse(once.contains("/./") || once.contains("/../") || once.endsWith("/.")
                        || once.endsWith("/.."), once);
                assertFalse(once.matches(".*%(2[eE]|[46][1-9a-fA-F]|[57][0-9aA]|3[0-9]|5[fF]|7[eE]|2[dD]).*"),
                        "an unreserved character left encoded: " + once);
                assertFalse(once.matches(".*%[0-9A-F]?[a-f].*"), "lower-case hex left: " + once);
                assertFalse(once.contains("\\") || once.contains("%5C") || once.contains("%00"), once);
            }
        }
        assertTrue(accepted.size() > 5_000, "accepted " + accepted.size());
    }
}
