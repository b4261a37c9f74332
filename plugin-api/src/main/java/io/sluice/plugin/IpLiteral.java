package io.sluice.plugin;

/**
 * An IP address literal parsed without the JDK's resolver, into numbers the rules compare with masks. IPv4 sits in
 * the low 32 bits of {@code lo}; IPv6 is the 128 bits {@code hi:lo}. Only literals parse: a host name never does,
 * so nothing here can trigger a DNS lookup.
 *
 * @param v4 whether this is an IPv4 address
 * @param hi the high 64 bits (IPv6 only)
 * @param lo the low 64 bits, or the IPv4 address as an unsigned 32-bit value
 */
public record IpLiteral(boolean v4, long hi, long lo) {
    private static final long MAPPED = 0xffffL;   // ::ffff:a.b.c.d carries an IPv4 address in the low 32 bits

    /**
     * Parses a dotted-quad IPv4 ({@code 10.1.2.3}, no leading zeros) or an IPv6 literal in any RFC 4291 text form
     * ({@code ::1}, {@code 2001:db8::7}, {@code ::ffff:10.1.2.3}, full or compressed).
     *
     * @param s         the text
     * @param allowZone whether an IPv6 zone ({@code fe80::1%eth0}) may follow; it is ignored
     * @return the address, or {@code null} if {@code s} is not a literal (the hot path avoids an Optional)
     */
    public static IpLiteral parse(String s, boolean allowZone) {
        int end = s.length();
        int zone = s.indexOf('%');
        if (zone >= 0) {
            if (!allowZone) {
                return null;
            }
            end = zone;
        }
        if (s.indexOf(':') < 0) {
            long v = v4(s, 0, end);
            return v < 0 ? null : new IpLiteral(true, 0, v);
        }
        return v6(s, end);
    }

    /** IPv4-mapped IPv6 ({@code ::ffff:a.b.c.d}) as the IPv4 address it carries; anything else as it is. */
    public IpLiteral unmapped() {
        return !v4 && hi == 0 && lo >>> 32 == MAPPED ? new IpLiteral(true, 0, lo & 0xffff_ffffL) : this;
    }

    boolean mapped() {
        return !v4 && hi == 0 && lo >>> 32 == MAPPED;
    }

    /** @return the dotted-quad value, or -1 */
    private static long v4(String s, int from, int to) {
        long value = 0;
        int parts = 0;
        int i = from;
        while (parts < 4) {
            int start = i;
            int part = 0;
            while (i < to && i - start < 3) {
                char c = s.charAt(i);
                if (c < '0' || c > '9') {
                    break;
                }
                part = part * 10 + (c - '0');
                i++;
            }
            int digits = i - start;
            if (digits == 0 || part > 255 || (digits > 1 && s.charAt(start) == '0')) {
                return -1;
            }
            value = value << 8 | part;
            parts++;
            if (parts < 4) {
                if (i >= to || s.charAt(i) != '.') {
                    return -1;
                }
                i++;
            }
        }
        return i == to ? value : -1;
    }

    /** ASCII hex only: {@link Character#digit} would also take other scripts' digits. */
    private static int hex(char c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    }

    private static IpLiteral v6(String s, int end) {
        // groups before "::" shift into (lh, ll), groups after it into (rh, rl); then left moves up past the gap
        long lh = 0;
        long ll = 0;
        long rh = 0;
        long rl = 0;
        int left = 0;
        int right = 0;
        boolean gap = false;
        int i = 0;
        if (end >= 2 && s.charAt(0) == ':' && s.charAt(1) == ':') {
            gap = true;
            i = 2;
        }
        while (i < end) {
            int start = i;
            int group = 0;
            while (i < end && i - start < 5) {
                int d = hex(s.charAt(i));
                if (d < 0) {
                    break;
                }
                group = group << 4 | d;
                i++;
            }
            int groups = left + right;
            if (i < end && s.charAt(i) == '.') {   // a trailing IPv4 fills the last two groups
                long v = v4(s, start, end);
                if (v < 0 || groups > 6) {
                    return null;
                }
                if (gap) {
                    rh = rh << 32 | rl >>> 32;
                    rl = rl << 32 | v;
                    right += 2;
                } else {
                    lh = lh << 32 | ll >>> 32;
                    ll = ll << 32 | v;
                    left += 2;
                }
                i = end;
                break;
            }
            int digits = i - start;
            if (digits == 0 || digits > 4 || groups == 8) {
                return null;
            }
            if (gap) {
                rh = rh << 16 | rl >>> 48;
                rl = rl << 16 | group;
                right++;
            } else {
                lh = lh << 16 | ll >>> 48;
                ll = ll << 16 | group;
                left++;
            }
            if (i == end) {
                break;
            }
            if (s.charAt(i) != ':') {
                return null;
            }
            i++;
            if (i < end && s.charAt(i) == ':') {
                if (gap) {
                    return null;
                }
                gap = true;
                i++;
            } else if (i == end) {
                return null;   // a single trailing colon
            }
        }
        int groups = left + right;
        if (gap ? groups > 7 : groups != 8) {
            return null;
        }
        int shift = 16 * (8 - left);   // 0 when there was no gap
        long hi;
        long lo;
        if (shift == 0) {
            hi = lh;
            lo = ll;
        } else if (shift >= 128) {
            hi = 0;
            lo = 0;
        } else if (shift >= 64) {
            hi = ll << (shift - 64);
            lo = 0;
        } else {
            hi = lh << shift | ll >>> (64 - shift);
            lo = ll << shift;
        }
        return new IpLiteral(false, hi | rh, lo | rl);
    }
}
