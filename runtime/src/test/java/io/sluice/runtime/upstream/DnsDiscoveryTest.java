package io.sluice.runtime.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.sluice.runtime.upstream.DnsResolver.Answer;
import io.sluice.runtime.upstream.DnsResolver.Resolved;
import io.sluice.runtime.upstream.LoopbackDnsServer.Srv;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class DnsDiscoveryTest {
    /** Generous: the machine is shared and slow at times. */
    private static final Duration MARGIN = Duration.ofSeconds(3);

    private LoopbackDnsServer dns;
    private DnsResolver resolver;
    private final List<DnsDiscovery> opened = new ArrayList<>();
    /** What onChange was called with, and on which thread. */
    private final List<List<Resolved>> changes = new CopyOnWriteArrayList<>();
    private final List<String> changeThreads = new CopyOnWriteArrayList<>();

    @BeforeEach
    void startDns() throws Exception {
        dns = LoopbackDnsServer.start();
        resolver = DnsResolver.at(dns.address(), Duration.ofMillis(400));
    }

    @AfterEach
    void stop() throws Exception {
        opened.forEach(DnsDiscovery::close);
        dns.close();
    }

    private DnsDiscovery discovery(String spec, long refreshMs) {
        return discovery(resolver, spec, refreshMs);
    }

    private DnsDiscovery discovery(DnsResolver r, String spec, long refreshMs) {
        DnsDiscovery d = new DnsDiscovery(r, spec, refreshMs, targets -> {
            changeThreads.add(Thread.currentThread().getName());
            changes.add(targets);
        });
        opened.add(d);
        return d;
    }

    private static Resolved target(String ip, int port, int weight) throws UnknownHostException {
        return new Resolved(new InetSocketAddress(InetAddress.getByName(ip), port), weight);
    }

    private static Resolved target(String ip, int port) throws UnknownHostException {
        return target(ip, port, DnsResolver.DEFAULT_WEIGHT);
    }

    /** Polls until the condition holds; fails when it does not within max. */
    private static void await(String what, Duration max, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                fail("not within " + max.toMillis() + " ms: " + what);
            }
            Thread.sleep(10);
        }
    }

    @Test
    void resolvesARecordsWithThePortBeforeStartReturns() throws Exception {
        dns.setAddresses("users.internal", 60, "192.0.2.2", "192.0.2.1", "2001:db8::1");
        DnsDiscovery d = discovery("users.internal:8080", 60_000).start();

        List<Resolved> expected = List.of(target("192.0.2.1", 8080), target("192.0.2.2", 8080),
                target("2001:db8::1", 8080));
        assertEquals(expected, d.current(), "the first answer is there when start() returns");
        assertNull(d.lastError());
        assertEquals(List.of(expected), changes);
        assertTrue(changeThreads.getFirst().startsWith("sluice-dns"), changeThreads.toString());
        assertEquals("192.0.2.1", d.current().getFirst().address().getHostString(), "an IP literal, no host name");
    }

    @Test
    void thePortDefaultsTo80() throws Exception {
        dns.setAddresses("web.internal", 60, "192.0.2.7");
        DnsDiscovery d = discovery("web.internal", 60_000).start();
        assertEquals(List.of(target("192.0.2.7", 80)), d.current());
    }

    @Test
    void reResolvesWithinRefreshAndCallsOnChangeOnlyOnChange() throws Exception {
        dns.setAddresses("users.internal", 60, "192.0.2.1", "192.0.2.2");
        long refresh = 300;
        DnsDiscovery d = discovery("users.internal:8080", refresh).start();
        assertEquals(1, changes.size());

        // the same set in another order, several refreshes long: no change
        dns.setAddresses("users.internal", 60, "192.0.2.2", "192.0.2.1");
        int before = dns.queries();
        await("three more resolutions", Duration.ofMillis(3 * refresh).plus(MARGIN),
                () -> dns.queries() >= before + 6);
        assertEquals(1, changes.size(), "no onChange for the same targets: " + changes);

        dns.setAddresses("users.internal", 60, "192.0.2.3");
        long changedAt = System.nanoTime();
        await("the new answer", Duration.ofMillis(refresh).plus(MARGIN),
                () -> d.current().equals(List.of(uncheckedTarget("192.0.2.3", 8080))));
        long tookMs = (System.nanoTime() - changedAt) / 1_000_000;
        assertTrue(tookMs < refresh + 1500, "picked up after " + tookMs + " ms");
        assertEquals(2, changes.size());
        assertEquals(List.of(uncheckedTarget("192.0.2.3", 8080)), changes.getLast());
        assertTrue(changeThreads.stream().allMatch(t -> t.startsWith("sluice-dns")), changeThreads.toString());
    }

    @Test
    void aShortTtlReResolvesSoonerThanRefresh() throws Exception {
        dns.setAddresses("users.internal", 1, "192.0.2.1");
        DnsDiscovery d = discovery("users.internal:8080", 60_000).start();
        assertEquals(List.of(target("192.0.2.1", 8080)), d.current());

        dns.setAddresses("users.internal", 1, "192.0.2.9");
        // refresh_ms alone would take a minute; the 1 s TTL brings it within about a second
        await("the new answer, driven by the TTL", Duration.ofSeconds(1).plus(MARGIN),
                () -> d.current().equals(List.of(uncheckedTarget("192.0.2.9", 8080))));
    }

    @Test
    void aZeroTtlFallsBackToRefreshNotABusyLoop() throws Exception {
        dns.setAddresses("users.internal", 0, "192.0.2.1");
        DnsDiscovery d = discovery("users.internal:8080", 200).start();
        int before = dns.queries();
        long start = System.nanoTime();
        await("a few resolutions", MARGIN, () -> dns.queries() >= before + 4);
        long elapsedMs = (System.nanoTime() - start) / 1_000_000;
        // 2 queries (A, AAAA) per resolution, one resolution per 200 ms: 4 more queries take ≥ ~200 ms
        assertTrue(elapsedMs >= 150, "resolved too often: 4 queries in " + elapsedMs + " ms");
        assertEquals(List.of(target("192.0.2.1", 8080)), d.current());
    }

    @Test
    void keepsTheLastGoodAnswerOnServfailThenRecovers() throws Exception {
        dns.setAddresses("users.internal", 60, "192.0.2.1");
        DnsDiscovery d = discovery("users.internal:8080", 200).start();
        List<Resolved> good = List.of(target("192.0.2.1", 8080));
        assertEquals(good, d.current());

        dns.servfail(true);
        await("an error recorded", MARGIN, () -> d.lastError() != null);
        assertTrue(d.lastError().contains("SERVFAIL"), d.lastError());
        int before = dns.queries();
        await("more failed attempts", MARGIN, () -> dns.queries() >= before + 4);
        assertEquals(good, d.current(), "the last good answer stays");
        assertEquals(1, changes.size(), "no onChange for a failure: " + changes);
        assertNotNull(d.lastError());

        dns.setAddresses("users.internal", 60, "192.0.2.5");
        dns.servfail(false);
        await("recovered", MARGIN,
                () -> d.lastError() == null && d.current().equals(List.of(uncheckedTarget("192.0.2.5", 8080))));
        assertEquals(2, changes.size());
    }

    @Test
    void keepsTheLastGoodAnswerWhenTheServerStopsAnsweringThenRecovers() throws Exception {
        dns.setAddresses("users.internal", 60, "192.0.2.1");
        DnsDiscovery d = discovery("users.internal:8080", 200).start();
        List<Resolved> good = List.of(target("192.0.2.1", 8080));
        assertEquals(good, d.current());

        dns.silent(true);
        await("a timeout recorded", MARGIN, () -> d.lastError() != null);
        assertTrue(d.lastError().contains("timed out"), d.lastError());
        assertEquals(good, d.current(), "the last good answer stays");
        assertEquals(1, changes.size(), "no onChange for a failure: " + changes);

        dns.silent(false);
        await("recovered", MARGIN, () -> d.lastError() == null);
        assertEquals(good, d.current());
        assertEquals(1, changes.size(), "the same answer again is no change");
    }

    @Test
    void srvGivesPortsAndWeightsOfTheLowestPriority() throws Exception {
        for (boolean additional : new boolean[] {false, true}) {
            dns.srvAdditional(additional);
            dns.setSrv("_http._tcp.users.internal", 60,
                    new Srv(10, 5, 8081, "a.users.internal"),
                    new Srv(10, 0, 8082, "b.users.internal"),
                    new Srv(20, 50, 9000, "backup.users.internal"));
            dns.setAddresses("a.users.internal", 60, "192.0.2.1");
            dns.setAddresses("b.users.internal", 60, "192.0.2.2", "2001:db8::2");
            dns.setAddresses("backup.users.internal", 60, "192.0.2.9");
            changes.clear();
            DnsDiscovery d = discovery("_http._tcp.users.internal", 60_000).start();

            List<Resolved> expected = List.of(target("192.0.2.1", 8081, 5), target("192.0.2.2", 8082, 1),
                    target("2001:db8::2", 8082, 1));
            assertEquals(expected, d.current(), "additional section: " + additional);
            assertEquals(List.of(expected), changes);
            d.close();
        }
    }

    @Test
    void srvFollowsChangedRecords() throws Exception {
        dns.setSrv("_http._tcp.users.internal", 1, new Srv(0, 10, 8081, "a.users.internal"));
        dns.setAddresses("a.users.internal", 60, "192.0.2.1");
        dns.setAddresses("b.users.internal", 60, "192.0.2.2");
        DnsDiscovery d = discovery("_http._tcp.users.internal", 200).start();
        assertEquals(List.of(target("192.0.2.1", 8081, 10)), d.current());

        dns.setSrv("_http._tcp.users.internal", 1, new Srv(0, 10, 8081, "a.users.internal"),
                new Srv(0, 30, 8083, "b.users.internal"));
        await("the second SRV target", MARGIN, () -> d.current().size() == 2);
        assertEquals(List.of(target("192.0.2.1", 8081, 10), target("192.0.2.2", 8083, 30)), d.current());
    }

    @Test
    void aNameFailingAtStartIsEmptyThenResolvesOnceDnsWorks() throws Exception {
        DnsDiscovery d = discovery("late.internal:9000", 60_000).start();
        assertEquals(List.of(), d.current());
        assertNotNull(d.lastError());
        assertTrue(d.lastError().contains("NXDOMAIN"), d.lastError());
        assertTrue(changes.isEmpty());

        dns.setAddresses("late.internal", 60, "192.0.2.4");
        // failures retry on a short backoff, not after refresh_ms (a minute here)
        await("the answer once DNS has it", MARGIN,
                () -> d.current().equals(List.of(uncheckedTarget("192.0.2.4", 9000))));
        assertNull(d.lastError());
        assertEquals(1, changes.size());
    }

    @Test
    void closeStopsTheQueries() throws Exception {
        dns.setAddresses("users.internal", 0, "192.0.2.1");
        DnsDiscovery d = discovery("users.internal:8080", 100).start();
        int before = dns.queries();
        await("it keeps resolving while open", MARGIN, () -> dns.queries() >= before + 4);

        d.close();
        int atClose = dns.queries();
        // ten refresh intervals: an open discovery would query ~20 more times
        long until = System.nanoTime() + Duration.ofMillis(1000).toNanos();
        while (System.nanoTime() - until < 0) {
            assertTrue(dns.queries() <= atClose + 2, "queries after close: " + (dns.queries() - atClose));
            Thread.sleep(20);
        }
        assertFalse(dns.queries() > atClose + 2);
    }

    @Test
    void closeIsPromptDuringAQueryThatGetsNoAnswer() throws Exception {
        dns.setAddresses("users.internal", 0, "192.0.2.1");
        DnsResolver slow = DnsResolver.at(dns.address(), Duration.ofSeconds(10));
        DnsDiscovery d = discovery(slow, "users.internal:8080", 100).start();
        dns.silent(true);
        int before = dns.queries();
        await("a query in flight", MARGIN, () -> dns.queries() > before);

        long start = System.nanoTime();
        d.close();
        long tookMs = (System.nanoTime() - start) / 1_000_000;
        assertTrue(tookMs < 1000, "close took " + tookMs + " ms");
        assertNull(d.lastError(), "an interrupted query is no DNS failure: " + d.lastError());
    }

    @Test
    void resolverFailuresAreIOExceptionsThatSayWhy() throws Exception {
        dns.setSrv("_http._tcp.only-srv.internal", 60, new Srv(0, 1, 80, "nowhere.internal"));
        IOException nx = assertThrows(IOException.class, () -> resolver.resolve("missing.internal", 80));
        assertTrue(nx.getMessage().contains("missing.internal") && nx.getMessage().contains("NXDOMAIN"),
                nx.getMessage());
        dns.setSrv("srv-records-only.internal", 60, new Srv(0, 1, 80, "nowhere.internal"));
        IOException none = assertThrows(IOException.class, () -> resolver.resolve("srv-records-only.internal", 80));
        assertTrue(none.getMessage().contains("no A or AAAA records"), none.getMessage());
        IOException noTargets = assertThrows(IOException.class,
                () -> resolver.resolve("_http._tcp.only-srv.internal", 80));
        assertTrue(noTargets.getMessage().contains("no addresses"), noTargets.getMessage());

        dns.servfail(true);
        IOException sf = assertThrows(IOException.class, () -> resolver.resolve("missing.internal", 80));
        assertTrue(sf.getMessage().contains("SERVFAIL"), sf.getMessage());
        dns.servfail(false);
        dns.silent(true);
        IOException to = assertThrows(IOException.class, () -> resolver.resolve("missing.internal", 80));
        assertTrue(to.getMessage().contains("timed out"), to.getMessage());
    }

    @Test
    void answerTtlIsTheSmallestRecordTtl() throws Exception {
        dns.setSrv("_http._tcp.users.internal", 30, new Srv(0, 1, 8080, "a.users.internal"));
        dns.setAddresses("a.users.internal", 7, "192.0.2.1");
        Answer a = resolver.resolve("_http._tcp.users.internal", 80);
        assertEquals(7_000, a.ttlMillis());
        dns.setAddresses("users.internal", 12, "192.0.2.1");
        assertEquals(12_000, resolver.resolve("users.internal", 80).ttlMillis());
    }

    @Test
    void theServerComesFromTheSystemProperty() throws Exception {
        dns.setAddresses("users.internal", 60, "192.0.2.1");
        String old = System.getProperty(DnsResolver.SERVER_PROPERTY);
        System.setProperty(DnsResolver.SERVER_PROPERTY, "127.0.0.1:" + dns.address().getPort());
        try {
            DnsResolver r = DnsResolver.fromSystemProperty();
            assertEquals(List.of(target("192.0.2.1", 80)), r.resolve("users.internal", 80).targets());
        } finally {
            if (old == null) {
                System.clearProperty(DnsResolver.SERVER_PROPERTY);
            } else {
                System.setProperty(DnsResolver.SERVER_PROPERTY, old);
            }
        }
        assertEquals(new InetSocketAddress(InetAddress.getByName("::1"), 5353), DnsResolver.parseServer("[::1]:5353"));
        assertEquals(53, DnsResolver.parseServer("127.0.0.1").getPort());
        assertThrows(IllegalArgumentException.class, () -> DnsResolver.parseServer("127.0.0.1:99999"));
    }

    @Test
    void badSpecsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> discovery("users.internal:http", 1000));
        assertThrows(IllegalArgumentException.class, () -> discovery("users.internal:0", 1000));
        assertThrows(IllegalArgumentException.class, () -> discovery("_http._tcp.users.internal:80", 1000));
        assertThrows(IllegalArgumentException.class, () -> discovery(":80", 1000));
        assertThrows(IllegalArgumentException.class, () -> discovery("users.internal", 0));
    }

    private static Resolved uncheckedTarget(String ip, int port) {
        try {
            return target(ip, port);
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }
}
