package io.sluice.builtin.ip_restriction;

import io.sluice.plugin.Filter;
import io.sluice.plugin.FilterConfig;
import io.sluice.plugin.Outcome;
import io.sluice.plugin.testkit.TestExchange;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

class IpRestrictionFilterTest {

    private static Filter filter(List<String> allow, List<String> deny) {
        return new IpRestrictionFilterFactory().create(FilterConfig.of(Map.of("allow", List.copyOf(allow),
                "deny", List.copyOf(deny))));
    }

    private static Outcome from(Filter f, String clientAddress) throws Exception {
        return f.onRequest(TestExchange.request("GET", "/").clientAddress(clientAddress));
    }

    private static void assertPasses(Filter f, String... addresses) throws Exception {
        for (String a : addresses) {
            assertEquals(Outcome.proceed(), from(f, a), a);
        }
    }

    private static void assertRefused(Filter f, String... addresses) throws Exception {
        for (String a : addresses) {
            Outcome.Respond r = assertInstanceOf(Outcome.Respond.class, from(f, a), a);
            assertEquals(403, r.status(), a);
            assertEquals("{\"error\":\"ip_forbidden\",\"message\":\"your IP address is not allowed\"}", r.bodyText());
            assertEquals("application/json", r.headers().firstOrNull("Content-Type"));
        }
    }

    @Test
    void ipv4BlockBoundaries() throws Exception {
        Filter allow = filter(List.of("10.1.2.0/24"), List.of());
        assertPasses(allow, "10.1.2.0", "10.1.2.1", "10.1.2.255");
        assertRefused(allow, "10.1.1.255", "10.1.3.0", "192.168.1.1");
        Filter deny = filter(List.of(), List.of("172.16.0.0/12"));
        assertRefused(deny, "172.16.0.0", "172.31.255.255");
        assertPasses(deny, "172.15.255.255", "172.32.0.0");
        Filter single = filter(List.of("192.168.1.7"), List.of());
        assertPasses(single, "192.168.1.7");
        assertRefused(single, "192.168.1.6", "192.168.1.8");
        Filter odd = filter(List.of("128.0.0.0/1"), List.of());   // sign bit set: masks compare as unsigned
        assertPasses(odd, "128.0.0.0", "255.255.255.255");
        assertRefused(odd, "127.255.255.255", "0.0.0.0");
    }

    @Test
    void ipv6BlockBoundaries() throws Exception {
        Filter f = filter(List.of("2001:db8::/32", "::1"), List.of());
        assertPasses(f, "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2001:DB8:0:0:0:0:0:7", "::1",
                "0:0:0:0:0:0:0:1");
        assertRefused(f, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db9::", "::2", "::");
        Filter p64 = filter(List.of(), List.of("2001:db8:1:2::/64"));   // the hi/lo word boundary
        assertRefused(p64, "2001:db8:1:2::", "2001:db8:1:2:ffff:ffff:ffff:ffff");
        assertPasses(p64, "2001:db8:1:1:ffff:ffff:ffff:ffff", "2001:db8:1:3::");
        Filter p65 = filter(List.of(), List.of("2001:db8::8000:0:0:0/65"));
        assertRefused(p65, "2001:db8::8000:0:0:0", "2001:db8::ffff:ffff:ffff:ffff");
        assertPasses(p65, "2001:db8::7fff:ffff:ffff:ffff", "2001:db8:0:1::");
    }

    @Test
    void zonesOfLinkLocalClientsAreIgnored() throws Exception {
        assertPasses(filter(List.of("fe80::/10"), List.of()), "fe80::1%eth0", "febf::1%2");
    }

    @Test
    void mappedClientsMatchIpv4Rules() throws Exception {
        Filter f = filter(List.of("10.0.0.0/8"), List.of("10.6.6.6"));
        assertPasses(f, "::ffff:10.1.2.3", "0:0:0:0:0:ffff:a01:203", "10.1.2.3");
        assertRefused(f, "::ffff:10.6.6.6", "::ffff:11.0.0.1", "::10.1.2.3");
        Filter mappedRule = filter(List.of("::ffff:10.0.0.0/104"), List.of());   // the same block, written mapped
        assertPasses(mappedRule, "10.255.255.255", "::ffff:10.0.0.0");
        assertRefused(mappedRule, "11.0.0.0");
    }

    @Test
    void ipv6RulesNeverMatchIpv4ClientsAndTheOtherWayRound() throws Exception {
        Filter all6 = filter(List.of(), List.of("::/0"));
        assertPasses(all6, "10.1.2.3", "::ffff:10.1.2.3");
        assertRefused(all6, "2001:db8::1", "::1");
        Filter all4 = filter(List.of(), List.of("0.0.0.0/0"));
        assertRefused(all4, "10.1.2.3", "::ffff:10.1.2.3");
        assertPasses(all4, "2001:db8::1", "::1");
    }

    @Test
    void denyWinsOverAllow() throws Exception {
        Filter f = filter(List.of("10.0.0.0/8", "2001:db8::/32"), List.of("10.1.0.0/16", "2001:db8:bad::/48"));
        assertPasses(f, "10.0.0.1", "10.2.0.0", "2001:db8:600d::1");
        assertRefused(f, "10.1.0.0", "10.1.255.255", "2001:db8:bad::1", "8.8.8.8");
        Filter both = filter(List.of("192.168.1.7"), List.of("192.168.1.7"));
        assertRefused(both, "192.168.1.7");
    }

    @Test
    void emptyAllowLetsEverythingNotDeniedThrough() throws Exception {
        Filter f = filter(List.of(), List.of("203.0.113.0/24"));
        assertPasses(f, "198.51.100.1", "2001:db8::1", "127.0.0.1");
        assertRefused(f, "203.0.113.9");
    }

    @Test
    void aClientAddressThatIsNotAnIpIsRefused() throws Exception {
        assertRefused(filter(List.of(), List.of("203.0.113.0/24")), "unix:/run/sluice.sock", "", "localhost");
    }

    @Test
    void statusAndMessageAreConfigurable() throws Exception {
        Filter f = new IpRestrictionFilterFactory().create(FilterConfig.of(Map.of("deny", List.of("10.0.0.0/8"),
                "status", 404L, "message", "no such thing")));
        Outcome.Respond r = assertInstanceOf(Outcome.Respond.class, from(f, "10.0.0.1"));
        assertEquals(404, r.status());
        assertEquals("{\"error\":\"ip_forbidden\",\"message\":\"no such thing\"}", r.bodyText());
    }
}
