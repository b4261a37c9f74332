package io.sluice.runtime.edge;

import io.sluice.plugin.IpLiteral;
import io.sluice.plugin.IpRanges;
import io.sluice.registry.config.GatewayConfig.Settings;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A snapshot's edge settings, compiled once: path canonicalisation options, the trusted proxies and the client
 * limits (read by {@link EdgeConnections} on every tick, so a change applies without a restart).
 *
 * <p>The client address: only when the socket peer is a trusted proxy is {@code X-Forwarded-For} (or, when there is
 * none, RFC 7239 {@code Forwarded: for=}) believed, and then only its right-most entry that is not itself a trusted
 * proxy: every entry left of it was written by a party we cannot vouch for. That one address feeds
 * {@code ip-restriction}, {@code rate-limit by: ip}, the logs, the traces and {@code ctx.clientAddress}.
 */
public final class EdgePolicy {
    private final Settings settings;
    private final CanonicalPath.Options pathOptions;
    private final IpRanges trusted;

    /**
     * @param settings validated settings
     */
    public EdgePolicy(Settings settings) {
        this.settings = settings;
        this.pathOptions = new CanonicalPath.Options(settings.keepEscapedSlashes()
                ? CanonicalPath.EscapedSlashes.KEEP : CanonicalPath.EscapedSlashes.REJECT, settings.allowSemicolons());
        this.trusted = IpRanges.parse("trusted_proxies", settings.trustedProxies());
    }

    /** @return the settings this was built from */
    public Settings settings() {
        return settings;
    }

    /** @return how paths are canonicalised */
    public CanonicalPath.Options pathOptions() {
        return pathOptions;
    }

    /**
     * @param address a socket peer's address text
     * @return whether it is a trusted proxy
     */
    public boolean trusted(String address) {
        if (trusted.isEmpty()) {
            return false;
        }
        IpLiteral ip = IpLiteral.parse(address, true);
        return ip != null && trusted.contains(ip);
    }

    /**
     * The client behind a trusted peer.
     *
     * @param peer      the socket peer's address, one {@link #trusted(String)} accepted
     * @param xff       the X-Forwarded-For values joined with ", ", or null
     * @param forwarded the Forwarded values joined with ", ", or null
     * @return the right-most forwarded address that is not a trusted proxy, or the peer when there is none
     */
    public String clientAddress(String peer, String xff, String forwarded) {
        List<String> hops = xff != null ? splitXff(xff) : forwarded != null ? forwardedFor(forwarded) : List.of();
        String client = peer;
        for (int i = hops.size() - 1; i >= 0; i--) {
            String hop = hops.get(i);
            IpLiteral ip = IpLiteral.parse(hop, false);
            if (ip == null) {
                break;   // garbage (or "unknown"/an obfuscated id): stop at the last address we could vouch for
            }
            client = hop;
            if (!trusted.contains(ip)) {
                break;
            }
        }
        return client;
    }

    private static List<String> splitXff(String xff) {
        List<String> out = new ArrayList<>();
        for (String part : xff.split(",")) {
            String p = part.strip();
            if (!p.isEmpty()) {
                out.add(p);
            }
        }
        return out;
    }

    /** The {@code for=} of each RFC 7239 element, unquoted, brackets and port removed. */
    static List<String> forwardedFor(String forwarded) {
        List<String> out = new ArrayList<>();
        for (String element : forwarded.split(",")) {
            String found = null;
            for (String pair : element.split(";")) {
                int eq = pair.indexOf('=');
                if (eq > 0 && pair.substring(0, eq).strip().toLowerCase(Locale.ROOT).equals("for")) {
                    found = node(pair.substring(eq + 1).strip());
                }
            }
            out.add(found == null ? "" : found);
        }
        return out;
    }

    private static String node(String v) {
        if (v.length() >= 2 && v.charAt(0) == '"' && v.charAt(v.length() - 1) == '"') {
            v = v.substring(1, v.length() - 1);
        }
        if (v.startsWith("[")) {
            int close = v.indexOf(']');
            return close < 0 ? "" : v.substring(1, close);
        }
        int colon = v.indexOf(':');
        return colon < 0 ? v : v.substring(0, colon);
    }
}
