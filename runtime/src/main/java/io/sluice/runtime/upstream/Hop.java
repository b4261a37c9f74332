package io.sluice.runtime.upstream;

import io.sluice.plugin.Headers;

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1): never forwarded, in either direction. Framing headers
 * (Content-Length, Transfer-Encoding) are per hop too; each hop sets its own.
 */
public final class Hop {
    private Hop() {
    }

    /** How a header name takes part in forwarding. */
    public enum Kind {
        /** Forwarded. */
        END_TO_END,
        /** Dropped. */
        HOP,
        /** {@code Connection}: dropped, and names further headers to drop. */
        CONNECTION,
        /** {@code Transfer-Encoding}: dropped, decides framing. */
        TRANSFER_ENCODING,
        /** {@code Content-Length}: dropped, decides framing. */
        CONTENT_LENGTH
    }

    /**
     * Classifies a header name (case-insensitive), by length first so most names cost one switch.
     *
     * @param n header name
     * @return its kind
     */
    public static Kind classify(String n) {
        return switch (n.length()) {
            case 2 -> n.equalsIgnoreCase("TE") ? Kind.HOP : Kind.END_TO_END;
            case 7 -> n.equalsIgnoreCase("Trailer") || n.equalsIgnoreCase("Upgrade") ? Kind.HOP : Kind.END_TO_END;
            case 10 -> n.equalsIgnoreCase("Connection") ? Kind.CONNECTION
                    : n.equalsIgnoreCase("Keep-Alive") ? Kind.HOP : Kind.END_TO_END;
            case 14 -> n.equalsIgnoreCase("Content-Length") ? Kind.CONTENT_LENGTH : Kind.END_TO_END;
            case 16 -> n.equalsIgnoreCase("Proxy-Connection") ? Kind.HOP : Kind.END_TO_END;
            case 17 -> n.equalsIgnoreCase("Transfer-Encoding") ? Kind.TRANSFER_ENCODING : Kind.END_TO_END;
            case 18 -> n.equalsIgnoreCase("Proxy-Authenticate") ? Kind.HOP : Kind.END_TO_END;
            case 19 -> n.equalsIgnoreCase("Proxy-Authorization") ? Kind.HOP : Kind.END_TO_END;
            default -> Kind.END_TO_END;
        };
    }

    /**
     * Removes the headers a {@code Connection} value names (except {@code close} and {@code keep-alive}, which
     * are options, not names).
     *
     * @param connection the Connection header's value(s), comma-separated
     * @param headers    headers to clean
     */
    public static void removeNamedIn(String connection, Headers headers) {
        for (String token : connection.split(",")) {
            String t = token.strip();
            if (!t.isEmpty() && !t.equalsIgnoreCase("close") && !t.equalsIgnoreCase("keep-alive")) {
                headers.remove(t);
            }
        }
    }
}
