package io.sluice.runtime.edge;

/**
 * HTTP/1.0 requests (HAProxy's default {@code option httpchk}, {@code ab}, old monitoring agents). Helidon's
 * parser refuses them, so the first request line of a connection that says {@code HTTP/1.0} is rewritten in place
 * to {@code HTTP/1.1} before Helidon reads it, and the connection is marked; the proxy then answers as HTTP/1.0
 * expects: a body with {@code Content-Length} (never chunked), and the connection closed after the response.
 */
final class Http10 {
    private static final byte[] VERSION = {'H', 'T', 'T', 'P', '/', '1', '.', '0'};

    private Http10() {
    }

    /**
     * Rewrites {@code HTTP/1.0} to {@code HTTP/1.1} in the first line of a connection's first bytes.
     *
     * @param bytes the first bytes read from the connection
     * @return whether the line was an HTTP/1.0 request line (and was rewritten)
     */
    static boolean rewrite(byte[] bytes) {
        int lf = -1;
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] == '\n') {
                lf = i;
                break;
            }
        }
        if (lf < 0) {
            return false;   // a first line split across reads is read as Helidon reads it
        }
        int end = lf > 0 && bytes[lf - 1] == '\r' ? lf - 1 : lf;
        int from = end - VERSION.length;
        if (from < 2 || bytes[from - 1] != ' ') {
            return false;
        }
        for (int i = 0; i < VERSION.length; i++) {
            if (bytes[from + i] != VERSION[i]) {
                return false;
            }
        }
        bytes[end - 1] = '1';
        return true;
    }
}
