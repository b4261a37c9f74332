package io.sluice.plugin;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IpLiteralTest {

    /** The JDK's literal parser (which never resolves) is the reference for the bits. */
    private static void assertSameAsJdk(String text) throws Exception {
        IpLiteral ip = IpLiteral.parse(text, true);
        byte[] ours = new byte[ip.v4() ? 4 : 16];
        for (int i = 0; i < ours.length; i++) {
            int fromEnd = ours.length - 1 - i;
            ours[i] = (byte) (fromEnd < 8 ? ip.lo() >>> (8 * fromEnd) : ip.hi() >>> (8 * (fromEnd - 8)));
        }
        // both sides turn ::ffff:a.b.c.d into the IPv4 address
        assertEquals(InetAddress.ofLiteral(text), InetAddress.getByAddress(ours), text);
    }

    @Test
    void parsesEveryTextFormLikeTheJdk() throws Exception {
        for (String s : new String[]{"0.0.0.0", "127.0.0.1", "10.1.2.3", "255.255.255.255", "192.168.1.7",
                "::", "::1", "1::", "2001:db8::", "2001:db8::7", "2001:DB8:0:0:0:0:0:7", "0:0:0:0:0:0:0:1",
                "fe80::1:2:3:4", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "1::8", "a:b::c:d",
                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::ffff:10.1.2.3", "::ffff:a01:203",
                "0:0:0:0:0:ffff:10.1.2.3", "64:ff9b::192.0.2.33", "::192.0.2.33", "1:2:3:4:5:6:1.2.3.4",
                "2001:db8:0:1:0:0:0:ffff", "fe80::1%1"}) {
            assertSameAsJdk(s);
        }
    }

    @Test
    void refusesWhatIsNotALiteral() {
        for (String s : new String[]{"", "1", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "1.2.3.4 ", " 1.2.3.4",
                "1..2.3", "1.2.3.", "a.b.c.d", "localhost", "example.com", ":", ":::", "1:::2", "::1::", "1::2::3",
                ":1::", "1:", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8::", "12345::", "::g",
                "::1.2.3", "::1.2.3.4:5", "1:2:3:4:5:6:7:1.2.3.4", "[::1]", "::١", "１.２.３.４", "::ffff:256.1.1.1"}) {
            assertNull(IpLiteral.parse(s, true), s);
        }
    }

    @Test
    void zoneOnlyWhereAllowed() {
        assertEquals(IpLiteral.parse("fe80::1", false), IpLiteral.parse("fe80::1%eth0", true));
        assertNull(IpLiteral.parse("fe80::1%eth0", false));
    }

    @Test
    void mappedAddressesUnmapToIpv4() {
        IpLiteral mapped = IpLiteral.parse("::ffff:10.1.2.3", false);
        assertTrue(mapped.mapped());
        assertEquals(IpLiteral.parse("10.1.2.3", false), mapped.unmapped());
        assertEquals(IpLiteral.parse("10.1.2.3", false), IpLiteral.parse("::ffff:a01:203", false).unmapped());
        IpLiteral compatible = IpLiteral.parse("::10.1.2.3", false);   // IPv4-compatible is plain IPv6
        assertFalse(compatible.mapped());
        assertFalse(compatible.unmapped().v4());
    }
}
