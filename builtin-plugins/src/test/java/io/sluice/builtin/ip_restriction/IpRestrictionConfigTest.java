package io.sluice.builtin.ip_restriction;

import io.sluice.builtin.ConfigCheck;
import io.sluice.plugin.FilterConfig;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class IpRestrictionConfigTest {
    private final IpRestrictionFilterFactory factory = new IpRestrictionFilterFactory();

    private String refused(Map<String, Object> config) {
        return assertThrows(IllegalArgumentException.class, () -> factory.create(FilterConfig.of(config))).getMessage();
    }

    @Test
    void acceptsAllowDenyAndBoth() {
        assertEquals(List.of(), ConfigCheck.problems(factory, "{\"allow\": [\"10.0.0.0/8\", \"2001:db8::/32\", \"::1\"]}"));
        assertEquals(List.of(), ConfigCheck.problems(factory, "{\"deny\": [\"192.168.1.7\"], \"status\": 404}"));
        assertEquals(List.of(), ConfigCheck.problems(factory, """
                {"allow": ["10.0.0.0/8"], "deny": ["10.6.6.0/24"], "status": 403, "message": "office network only"}"""));
        factory.create(FilterConfig.of(Map.of("allow", List.of("10.0.0.0/8", "2001:db8::/32", "::1", "0.0.0.0/0", "::/0",
                "::ffff:192.168.0.0/112", "255.255.255.255/32", "fe80::/10"), "deny", List.of())));
    }

    @Test
    void pinsTheSchemaErrors() {
        assertEquals(List.of("allow: string found, array expected"),
                ConfigCheck.problems(factory, "{\"allow\": \"10.0.0.0/8\"}"));
        assertEquals(List.of("deny[0]: integer found, string expected"), ConfigCheck.problems(factory, "{\"deny\": [10]}"));
        assertEquals(List.of("deny: must have only unique items in the array"),
                ConfigCheck.problems(factory, "{\"deny\": [\"::1\", \"::1\"]}"));
        assertEquals(List.of("status: must have a minimum value of 400"),
                ConfigCheck.problems(factory, "{\"deny\": [\"::1\"], \"status\": 200}"));
        assertEquals(List.of("whitelist: property 'whitelist' is not defined in the schema and the schema does not allow additional properties"),
                ConfigCheck.problems(factory, "{\"whitelist\": [\"::1\"]}"));
    }

    @Test
    void factoryNamesTheBadEntry() {
        assertEquals("allow[1]: '10.0.0.0/33' has a bad prefix length: expected /0 to /32 for IPv4",
                refused(Map.of("allow", List.of("10.0.0.0/8", "10.0.0.0/33"))));
        assertEquals("deny[0]: '2001:db8::/129' has a bad prefix length: expected /0 to /128 for IPv6",
                refused(Map.of("deny", List.of("2001:db8::/129"))));
        assertEquals("deny[0]: '10.0.0.0/' has a bad prefix length: expected /0 to /32 for IPv4",
                refused(Map.of("deny", List.of("10.0.0.0/"))));
        assertEquals("allow[0]: '10.0.0.256' is not an IPv4 or IPv6 address or CIDR block",
                refused(Map.of("allow", List.of("10.0.0.256"))));
        assertEquals("allow[0]: '2001:db8:::1/64' is not an IPv4 or IPv6 address or CIDR block",
                refused(Map.of("allow", List.of("2001:db8:::1/64"))));
        assertEquals("allow[0]: ' 10.0.0.1' is not an IPv4 or IPv6 address or CIDR block",
                refused(Map.of("allow", List.of(" 10.0.0.1"))));
        assertEquals("allow[0]: 'fe80::1%eth0' is not an IPv4 or IPv6 address or CIDR block",
                refused(Map.of("allow", List.of("fe80::1%eth0"))));
        assertEquals("deny[0]: 'localhost' is a host name; only IP addresses and CIDR blocks are accepted (names are never resolved)",
                refused(Map.of("deny", List.of("localhost"))));
        assertEquals("deny[0]: 'corp.example.com/24' is a host name; only IP addresses and CIDR blocks are accepted (names are never resolved)",
                refused(Map.of("deny", List.of("corp.example.com/24"))));
    }

    @Test
    void factoryRefusesBlocksWithHostBitsAndMixedMappedBlocks() {
        assertEquals("allow[0]: '10.1.2.3/8' has bits set past the /8 prefix; the block is 10.0.0.0/8",
                refused(Map.of("allow", List.of("10.1.2.3/8"))));
        assertEquals("deny[0]: '2001:db8::1/32' has bits set past the /32 prefix; the block is 2001:db8:0:0:0:0:0:0/32",
                refused(Map.of("deny", List.of("2001:db8::1/32"))));
        assertEquals("deny[0]: '::ffff:0:0/95' mixes IPv4-mapped and other IPv6 addresses; IPv4-mapped blocks need a prefix of /96 or longer (or write the IPv4 block)",
                refused(Map.of("deny", List.of("::ffff:0:0/95"))));
    }

    @Test
    void factoryRefusesAGuardWithNothingToCheck() {
        assertEquals("set at least one address or block in 'allow' or 'deny'", refused(Map.of()));
        assertEquals("set at least one address or block in 'allow' or 'deny'",
                refused(Map.of("allow", List.of(), "deny", List.of())));
    }
}
