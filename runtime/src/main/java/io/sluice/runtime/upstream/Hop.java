package io.sluice.runtime.upstream;

import io.sluice.plugin.Headers;

import java.util.ArrayList;
import java.util.List;

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1): never forwarded, in either direction. Framing headers
 * (Content-Length, Transfer-Encoding) are dropped too; each hop sets its own.
 */
public final class Hop {
    private static final String[] HOP = {"Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer",
        "Transfer-Encoding", "Upgrade", "Proxy-Authenticate", "Proxy-Authorization", "Content-Length"};

    private Hop() {
    }

    /**
     * Removes hop-by-hop and framing headers, and every header the {@code Connection} header names.
     *
     * @param h headers to clean in place
     */
    public static void strip(Headers h) {
        List<String> named = null;
        for (String c : h.all("Connection")) {
            for (String token : c.split(",")) {
                String t = token.strip();
                if (!t.isEmpty()) {
                    if (named == null) {
                        named = new ArrayList<>(2);
                    }
                    named.add(t);
                }
            }
        }
        for (String name : HOP) {
            h.remove(name);
        }
        if (named != null) {
            named.forEach(h::remove);
        }
    }
}
