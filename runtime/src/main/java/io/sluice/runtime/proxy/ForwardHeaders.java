package io.sluice.runtime.proxy;

import io.helidon.http.Header;
import io.sluice.plugin.Headers;
import io.sluice.runtime.upstream.Hop;

import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Builds the headers sent upstream from the client's, in one pass: hop-by-hop and framing headers dropped (and
 * every header the client's {@code Connection} names), client copies of identity headers dropped, then the
 * gateway's own headers added (after the removal, so a client cannot have them stripped).
 */
final class ForwardHeaders {
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private ForwardHeaders() {
    }

    /**
     * A client header value that cannot be forwarded faithfully. Helidon reads header values as US-ASCII, so a
     * byte outside it arrives as U+FFFD and a control character as itself; {@link Headers#add} refuses both, and
     * the request is answered 400 (RFC 9110 §5.5 lets a recipient reject obs-text).
     */
    static final class BadValue extends RuntimeException {
        BadValue() {
            super("header values must be printable ASCII: no control characters or non-ASCII bytes", null, false,
                    false);
        }
    }

    /** What to do with a client header. */
    private enum Kind { KEEP, DROP, CONNECTION, XFF, XFP, REQUEST_ID, TRACEPARENT }

    /**
     * Copies the client's headers into {@code out} and adds the gateway's.
     *
     * @param client     the client's headers
     * @param out        the headers for the upstream
     * @param peer        the socket peer's address
     * @param trustedPeer whether the peer is a trusted proxy (its X-Forwarded-Proto is then believed)
     * @param clientHost  the Host the client asked for
     * @param scheme      the listener's scheme ({@code http} or {@code https})
     * @return the request id
     * @throws BadValue when a client header value carries a control character or a non-ASCII byte
     */
    static String copy(Iterable<Header> client, Headers out, String peer, boolean trustedPeer, String clientHost,
                       String scheme) {
        try {
            return copyChecked(client, out, peer, trustedPeer, clientHost, scheme);
        } catch (IllegalArgumentException e) {
            throw new BadValue();
        }
    }

    private static String copyChecked(Iterable<Header> client, Headers out, String peer, boolean trustedPeer,
                                      String clientHost, String scheme) {
        String connection = null;
        String xff = null;
        String xfp = null;
        String clientRequestId = null;
        String traceparent = null;
        for (Header h : client) {
            String name = h.name();
            switch (classify(name)) {
                case KEEP -> {
                    if (h.valueCount() == 1) {
                        out.add(name, h.get());
                    } else {
                        List<String> values = h.allValues();
                        for (int i = 0; i < values.size(); i++) {
                            out.add(name, values.get(i));
                        }
                    }
                }
                case CONNECTION -> connection = h.values();
                case XFF -> xff = h.values();
                case XFP -> xfp = h.get();
                case REQUEST_ID -> clientRequestId = h.get();
                case TRACEPARENT -> traceparent = h.get();
                case DROP -> { }
            }
        }
        if (connection != null) {
            Hop.removeNamedIn(connection, out);
        }
        String traceId = traceId(traceparent);
        String requestId = wellFormedId(clientRequestId) ? clientRequestId
                : traceparent == null ? traceId : randomHex(16);
        out.add("X-Request-Id", requestId);
        // the peer is appended to what the client said; upstreams trust only entries right of their own proxies
        out.add("X-Forwarded-For", xff == null || xff.isBlank() ? peer : xff + ", " + peer);
        // the listener's real scheme, unless a trusted proxy (which may have terminated TLS) said which it served
        out.add("X-Forwarded-Proto", trustedPeer && ("https".equals(xfp) || "http".equals(xfp)) ? xfp : scheme);
        if (clientHost != null && !clientHost.isEmpty()) {
            out.add("X-Forwarded-Host", clientHost);
        }
        out.add("traceparent", "00-" + traceId + "-" + randomHex(8) + "-" + traceFlags(traceparent));
        return requestId;
    }

    private static Kind classify(String n) {
        switch (n.length()) {
            case 2:
                return n.equalsIgnoreCase("TE") ? Kind.DROP : Kind.KEEP;
            case 4:
                return n.equalsIgnoreCase("Host") ? Kind.DROP : Kind.KEEP;
            case 6:
                return n.equalsIgnoreCase("Expect") ? Kind.DROP : Kind.KEEP;   // 100-continue is answered here
            case 7:
                return n.equalsIgnoreCase("Trailer") || n.equalsIgnoreCase("Upgrade") ? Kind.DROP : identity(n);
            case 10:
                if (n.equalsIgnoreCase("Connection")) {
                    return Kind.CONNECTION;
                }
                return n.equalsIgnoreCase("Keep-Alive") ? Kind.DROP : identity(n);
            case 11:
                return n.equalsIgnoreCase("traceparent") ? Kind.TRACEPARENT : identity(n);
            case 12:
                return n.equalsIgnoreCase("X-Request-Id") ? Kind.REQUEST_ID : identity(n);
            case 14:
                return n.equalsIgnoreCase("Content-Length") ? Kind.DROP : identity(n);
            case 15:
                return n.equalsIgnoreCase("X-Forwarded-For") ? Kind.XFF : identity(n);
            case 16:
                return n.equalsIgnoreCase("Proxy-Connection") || n.equalsIgnoreCase("X-Forwarded-Host")
                        ? Kind.DROP : identity(n);
            case 17:
                if (n.equalsIgnoreCase("X-Forwarded-Proto")) {
                    return Kind.XFP;
                }
                return n.equalsIgnoreCase("Transfer-Encoding") ? Kind.DROP : identity(n);
            case 18:
                return n.equalsIgnoreCase("Proxy-Authenticate") ? Kind.DROP : identity(n);
            case 19:
                return n.equalsIgnoreCase("Proxy-Authorization") ? Kind.DROP : identity(n);
            default:
                return identity(n);
        }
    }

    /**
     * Identity headers are the gateway's to set (auth plugins, a route's verified client certificate); a client's
     * copies are never trusted. {@code X-Helidon-Cn} is what the server underneath adds from a client certificate it
     * has not verified.
     */
    private static Kind identity(String n) {
        if (n.length() > 7 && (n.charAt(0) == 'X' || n.charAt(0) == 'x') && n.charAt(1) == '-'
                && (n.regionMatches(true, 2, "Consumer-", 0, 9)
                || n.regionMatches(true, 2, "User-", 0, 5)
                || n.regionMatches(true, 2, "Authenticated-", 0, 14)
                || n.regionMatches(true, 2, "Client-Cert-", 0, 12)
                || n.equalsIgnoreCase("X-Helidon-Cn")
                || n.equalsIgnoreCase("X-Credential-Identifier"))) {
            return Kind.DROP;
        }
        return Kind.KEEP;
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

    /** W3C trace context: a valid parent's trace id, else a new one. */
    private static String traceId(String parent) {
        if (validParent(parent)) {
            return parent.substring(3, 35).toLowerCase(Locale.ROOT);
        }
        return randomHex(16);
    }

    private static String traceFlags(String parent) {
        return validParent(parent) ? parent.substring(53) : "01";
    }

    private static boolean validParent(String p) {
        return p != null && p.length() == 55 && p.startsWith("00-") && p.charAt(35) == '-' && p.charAt(52) == '-'
                && isHex(p, 3, 35) && isHex(p, 36, 52) && isHex(p, 53, 55)
                && !p.regionMatches(3, "00000000000000000000000000000000", 0, 32)
                && !p.regionMatches(36, "0000000000000000", 0, 16);
    }

    private static boolean isHex(String s, int from, int to) {
        for (int i = from; i < to; i++) {
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
