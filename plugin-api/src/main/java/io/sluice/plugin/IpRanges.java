package io.sluice.plugin;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;

/**
 * A list of CIDR blocks parsed once, at config time, into masks and networks; a lookup is a mask and a compare per
 * block, with no allocation. IPv4 and IPv6 blocks are kept apart: an IPv4-mapped block ({@code ::ffff:10.0.0.0/104})
 * is stored as the IPv4 block it names, and IPv4-mapped clients are looked up as IPv4.
 */
public final class IpRanges {
    private final int[] v4;    // network, mask, network, mask, …
    private final long[] v6;   // network hi, lo, mask hi, lo, …

    private IpRanges(int[] v4, long[] v6) {
        this.v4 = v4;
        this.v6 = v6;
    }

    /**
     * Parses a config list.
     *
     * @param field   the config key, for messages ({@code allow}, {@code deny})
     * @param entries addresses or CIDR blocks, as strings
     * @return the ranges
     * @throws IllegalArgumentException naming the first bad entry and why
     */
    public static IpRanges parse(String field, List<?> entries) {
        int[] v4 = new int[entries.size() * 2];
        long[] v6 = new long[entries.size() * 4];
        int n4 = 0;
        int n6 = 0;
        for (int i = 0; i < entries.size(); i++) {
            String entry = (String) entries.get(i);
            String at = field + "[" + i + "]: '" + entry + "'";
            int slash = entry.indexOf('/');
            String text = slash < 0 ? entry : entry.substring(0, slash);
            IpLiteral ip = IpLiteral.parse(text, false);
            if (ip == null) {
                throw new IllegalArgumentException(at + (hostName(text)
                        ? " is a host name; only IP addresses and CIDR blocks are accepted (names are never resolved)"
                        : " is not an IPv4 or IPv6 address or CIDR block"));
            }
            int bits = ip.v4() ? 32 : 128;
            int prefix = slash < 0 ? bits : prefix(entry.substring(slash + 1), bits);
            if (prefix < 0) {
                throw new IllegalArgumentException(at + " has a bad prefix length: expected /0 to /" + bits
                        + (ip.v4() ? " for IPv4" : " for IPv6"));
            }
            if (ip.mapped()) {
                if (prefix < 96) {
                    throw new IllegalArgumentException(at + " mixes IPv4-mapped and other IPv6 addresses;"
                            + " IPv4-mapped blocks need a prefix of /96 or longer (or write the IPv4 block)");
                }
                ip = ip.unmapped();
                prefix -= 96;
            }
            if (ip.v4()) {
                int mask = prefix == 0 ? 0 : -1 << (32 - prefix);
                int net = (int) ip.lo();
                if ((net & ~mask) != 0) {
                    throw new IllegalArgumentException(at + " has bits set past the /" + prefix + " prefix; the block is "
                            + format(ip.v4(), 0, net & mask) + "/" + prefix);
                }
                v4[n4++] = net;
                v4[n4++] = mask;
            } else {
                long maskHi = prefix == 0 ? 0 : prefix >= 64 ? -1L : -1L << (64 - prefix);
                long maskLo = prefix <= 64 ? 0 : prefix == 128 ? -1L : -1L << (128 - prefix);
                if ((ip.hi() & ~maskHi) != 0 || (ip.lo() & ~maskLo) != 0) {
                    throw new IllegalArgumentException(at + " has bits set past the /" + prefix + " prefix; the block is "
                            + format(false, ip.hi() & maskHi, ip.lo() & maskLo) + "/" + prefix);
                }
                v6[n6++] = ip.hi();
                v6[n6++] = ip.lo();
                v6[n6++] = maskHi;
                v6[n6++] = maskLo;
            }
        }
        return new IpRanges(java.util.Arrays.copyOf(v4, n4), java.util.Arrays.copyOf(v6, n6));
    }

    public boolean isEmpty() {
        return v4.length == 0 && v6.length == 0;
    }

    /**
     * @param ip an address already {@linkplain IpLiteral#unmapped() unmapped}
     * @return whether a block holds it
     */
    public boolean contains(IpLiteral ip) {
        if (ip.v4()) {
            int a = (int) ip.lo();
            for (int i = 0; i < v4.length; i += 2) {
                if ((a & v4[i + 1]) == v4[i]) {
                    return true;
                }
            }
            return false;
        }
        long hi = ip.hi();
        long lo = ip.lo();
        for (int i = 0; i < v6.length; i += 4) {
            if ((hi & v6[i + 2]) == v6[i] && (lo & v6[i + 3]) == v6[i + 1]) {
                return true;
            }
        }
        return false;
    }

    /** @return 0..bits, or -1 */
    private static int prefix(String text, int bits) {
        if (text.isEmpty() || text.length() > 3 || (text.length() > 1 && text.charAt(0) == '0')) {
            return -1;
        }
        int p = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            p = p * 10 + (c - '0');
        }
        return p <= bits ? p : -1;
    }

    private static boolean hostName(String text) {
        boolean letter = false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
                letter = true;
            } else if (!(c >= '0' && c <= '9' || c == '-' || c == '.')) {
                return false;
            }
        }
        return letter;
    }

    /** For messages only: the JDK formats the bytes (an address from bytes is never looked up). */
    private static String format(boolean v4, long hi, long lo) {
        byte[] bytes = new byte[v4 ? 4 : 16];
        for (int i = 0; i < bytes.length; i++) {
            int fromEnd = bytes.length - 1 - i;
            bytes[i] = (byte) (fromEnd < 8 ? lo >>> (8 * fromEnd) : hi >>> (8 * (fromEnd - 8)));
        }
        try {
            return InetAddress.getByAddress(bytes).getHostAddress();
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);   // only for a wrong length
        }
    }
}
