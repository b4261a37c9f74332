package io.sluice.runtime.proxy;

import io.sluice.plugin.Headers;
import io.sluice.runtime.upstream.Hop;

import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Turns the client's headers into the headers sent upstream: hop-by-hop and framing headers removed (and every
 * header the client's {@code Connection} names), client copies of identity headers removed, then the gateway's
 * own headers added (after the removal, so a client cannot have them stripped).
 */
final class ForwardHeaders {
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private ForwardHeaders() {
    }

    /**
     * Cleans the client's headers in place and returns the request id to use.
     */
    static String prepare(Headers h, String clientAddress, String clientHost) {
        String clientRequestId = h.firstOrNull("X-Request-Id");
        String traceparent = h.firstOrNull("traceparent");
        String xff = h.firstOrNull("X-Forwarded-For");
        if (xff != null && h.all("X-Forwarded-For").size() > 1) {
            xff = String.join(", ", h.all("X-Forwarded-For"));
        }
        Hop.strip(h);
        stripIdentity(h);
        h.remove("Host");
        h.remove("Expect");                 // the gateway answered 100-continue itself
        h.remove("X-Request-Id");
        h.remove("traceparent");
        h.remove("X-Forwarded-For");
        h.remove("X-Forwarded-Proto");
        h.remove("X-Forwarded-Host");

        String requestId = wellFormedId(clientRequestId) ? clientRequestId : randomHex(16);
        h.add("X-Request-Id", requestId);
        h.add("X-Forwarded-For", xff == null || xff.isBlank() ? clientAddress : xff + ", " + clientAddress);
        h.add("X-Forwarded-Proto", "http");
        if (clientHost != null && !clientHost.isEmpty()) {
            h.add("X-Forwarded-Host", clientHost);
        }
        h.add("traceparent", childTraceparent(traceparent));
        return requestId;
    }

    /** Identity headers are the gateway's to set (auth plugins); a client's copies are never trusted. */
    static void stripIdentity(Headers h) {
        for (int i = h.size() - 1; i >= 0; i--) {
            String n = h.name(i);
            if (n.length() > 7 && (n.regionMatches(true, 0, "X-Consumer-", 0, 11)
                    || n.regionMatches(true, 0, "X-User-", 0, 7)
                    || n.regionMatches(true, 0, "X-Authenticated-", 0, 16)
                    || n.equalsIgnoreCase("X-Credential-Identifier"))) {
                h.remove(n);
            }
        }
    }

    static boolean wellFormedId(String id) {
        if (id == null || id.isEmpty() || id.length() > 128) {
            return false;
        }
        for (int i = 0; i < id.length(); i++) {
            char c = id.charAt(i);
            if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
                    || c == '-' || c == '_' || c == '.' || c == ':')) {
                return false;
            }
        }
        return true;
    }

    /**
     * W3C trace context: keep a valid parent's trace id and flags, with a new parent id (our span);
     * otherwise start a trace.
     */
    static String childTraceparent(String parent) {
        String spanId = randomHex(8);
        if (parent != null && parent.length() == 55 && parent.startsWith("00-") && parent.charAt(35) == '-'
                && parent.charAt(52) == '-') {
            String traceId = parent.substring(3, 35).toLowerCase(Locale.ROOT);
            String flags = parent.substring(53);
            if (isHex(traceId) && isHex(parent.substring(36, 52)) && isHex(flags)
                    && !traceId.equals("00000000000000000000000000000000")) {
                return "00-" + traceId + "-" + spanId + "-" + flags;
            }
        }
        return "00-" + randomHex(16) + "-" + spanId + "-01";
    }

    private static boolean isHex(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F')) {
                return false;
            }
        }
        return true;
    }

    static String randomHex(int bytes) {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        char[] out = new char[bytes * 2];
        long bits = 0;
        for (int i = 0; i < bytes; i++) {
            if (i % 8 == 0) {
                bits = r.nextLong();
            }
            int b = (int) (bits & 0xff);
            bits >>>= 8;
            out[2 * i] = HEX[b >> 4];
            out[2 * i + 1] = HEX[b & 0xf];
        }
        return new String(out);
    }
}
