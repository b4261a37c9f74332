package io.sluice.runtime.proxy;

import io.helidon.http.HeaderName;
import io.helidon.http.HeaderNames;
import io.helidon.http.ServerRequestHeaders;
import io.sluice.plugin.Headers;
import io.sluice.runtime.upstream.Hop;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.List;

/**
 * RFC 6455 §4 handshakes as the proxy sees them: which client requests are WebSocket opening handshakes (only
 * those are tunnelled; any other request with {@code Upgrade} is an ordinary request, its upgrade headers
 * dropped), whether the upstream's 101 answers this key, and the 101 the client gets.
 */
final class WebSocketHandshake {
    static final HeaderName KEY = HeaderNames.create("Sec-WebSocket-Key");
    static final HeaderName VERSION = HeaderNames.create("Sec-WebSocket-Version");
    private static final String GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    private WebSocketHandshake() {
    }

    /**
     * A valid opening handshake: GET without body, {@code Connection} naming {@code upgrade}, {@code Upgrade:
     * websocket}, one {@code Sec-WebSocket-Key} that is the base64 of 16 bytes, {@code Sec-WebSocket-Version: 13}.
     * The caller checks the connection (HTTP/1.1, not HTTP/2 or HTTP/1.0).
     *
     * @return the key, or null when the request is not one
     */
    static String key(String method, ServerRequestHeaders h, long contentLength) {
        if (!method.equals("GET") || contentLength != 0) {
            return null;
        }
        List<String> upgrade = h.all(HeaderNames.UPGRADE, List::of);
        List<String> version = h.all(VERSION, List::of);
        List<String> key = h.all(KEY, List::of);
        if (upgrade.size() != 1 || !upgrade.getFirst().strip().equalsIgnoreCase("websocket")
                || version.size() != 1 || !version.getFirst().strip().equals("13")
                || key.size() != 1 || !hasToken(h.all(HeaderNames.CONNECTION, List::of), "upgrade")) {
            return null;
        }
        String k = key.getFirst().strip();
        try {
            return k.length() == 24 && Base64.getDecoder().decode(k).length == 16 ? k : null;
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static boolean hasToken(List<String> values, String token) {
        for (String v : values) {
            for (String t : v.split(",")) {
                if (t.strip().equalsIgnoreCase(token)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** The headers that ask the upstream for the upgrade (the client's were dropped as hop-by-hop). */
    static void askUpstream(Headers forwarded) {
        forwarded.set("Connection", "Upgrade");
        forwarded.set("Upgrade", "websocket");
    }

    /** @return the {@code Sec-WebSocket-Accept} that answers {@code key} */
    static String accept(String key) {
        try {
            byte[] sha1 = MessageDigest.getInstance("SHA-1")
                    .digest((key + GUID).getBytes(StandardCharsets.US_ASCII));
            return Base64.getEncoder().encodeToString(sha1);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Checks the upstream's 101 and keeps its end-to-end headers.
     *
     * @param key      the client's key (forwarded unchanged)
     * @param received the 101's headers as received
     * @return the headers to relay (hop-by-hop ones dropped)
     * @throws IllegalArgumentException what is wrong with the 101
     */
    static Headers checkSwitch(String key, Headers received) {
        String upgrade = null;
        String connection = null;
        String accept = null;
        Headers out = new Headers();
        for (int i = 0, n = received.size(); i < n; i++) {
            String name = received.name(i);
            String value = received.value(i);
            if (name.equalsIgnoreCase("Upgrade")) {
                upgrade = value;
            } else if (name.equalsIgnoreCase("Sec-WebSocket-Accept")) {
                accept = accept == null ? value : "";   // more than one is wrong
            }
            switch (Hop.classify(name)) {
                case CONNECTION -> connection = connection == null ? value : connection + "," + value;
                case END_TO_END -> out.add(name, value);
                default -> { }
            }
        }
        if (upgrade == null || !upgrade.strip().equalsIgnoreCase("websocket")) {
            throw new IllegalArgumentException("upstream switched protocols without 'Upgrade: websocket'");
        }
        if (connection == null || !hasToken(List.of(connection), "upgrade")) {
            throw new IllegalArgumentException("upstream switched protocols without 'Connection: Upgrade'");
        }
        if (accept == null || !accept.strip().equals(accept(key))) {
            throw new IllegalArgumentException("upstream's Sec-WebSocket-Accept does not answer the key");
        }
        Hop.removeNamedIn(connection, out);
        return out;
    }

    /** The 101 written to the client: our own connection headers, then the relayed ones. */
    static byte[] switchingHead(Headers headers) {
        StringBuilder b = new StringBuilder(256)
                .append("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n");
        for (int i = 0, n = headers.size(); i < n; i++) {
            String name = headers.name(i);
            String value = headers.value(i);
            if (Hop.classify(name) != Hop.Kind.END_TO_END || !safe(name) || !safe(value)) {
                continue;   // a filter's hop-by-hop header, or a value that would split the head
            }
            b.append(name).append(": ").append(value).append("\r\n");
        }
        return b.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1);
    }

    private static boolean safe(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 && c != '\t' || c == 0x7f || c > 0xff) {
                return false;
            }
        }
        return true;
    }
}
