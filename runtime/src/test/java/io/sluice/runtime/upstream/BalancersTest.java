package io.sluice.runtime.upstream;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BalancersTest {
    private static final Balancer.Kind[] KINDS = Balancer.Kind.values();

    private static Endpoint[] endpoints(int... weights) {
        Endpoint[] eps = new Endpoint[weights.length];
        for (int i = 0; i < weights.length; i++) {
            eps[i] = new Endpoint("http://10.0.0." + (i + 1) + ":8080", "", weights[i], null);
        }
        return eps;
    }

    private static void down(Endpoint e) {
        assertTrue(e.health.probed(false, "refused", 1, 1));
        assertTrue(!e.available());
    }

    private static void eject(Endpoint e) {
        assertTrue(e.health.failed("reset", 1, 60_000, () -> true));
        assertTrue(!e.available());
    }

    private static Map<Endpoint, Integer> count(Balancer b, int picks, String key) {
        Map<Endpoint, Integer> counts = new IdentityHashMap<>();
        for (int i = 0; i < picks; i++) {
            Endpoint e = b.pick(key, null);
            assertNotNull(e);
            counts.merge(e, 1, Integer::sum);
        }
        return counts;
    }

    private static void assertShares(Map<Endpoint, Integer> counts, Endpoint[] eps, double[] expected, double tolerance) {
        int total = counts.values().stream().mapToInt(Integer::intValue).sum();
        for (int i = 0; i < eps.length; i++) {
            double share = counts.getOrDefault(eps[i], 0) / (double) total;
            assertEquals(expected[i], share, tolerance, eps[i] + " got " + share + " of " + counts);
        }
    }

    // ---- round robin ----

    @Test
    void roundRobinFollowsWeights() {
        Endpoint[] eps = endpoints(50, 30, 20);
        Balancer b = Balancer.create(Balancer.Kind.ROUND_ROBIN, eps);
        assertShares(count(b, 10_000, null), eps, new double[] {0.5, 0.3, 0.2}, 0.02);
    }

    @Test
    void roundRobinIsSmooth() {
        Endpoint[] eps = endpoints(5, 1, 1);
        Balancer b = Balancer.create(Balancer.Kind.ROUND_ROBIN, eps);
        StringBuilder seq = new StringBuilder();
        for (int i = 0; i < 700; i++) {
            seq.append((char) ('a' + List.of(eps).indexOf(b.pick(null, null))));
        }
        int[] longest = new int[3];
        int run = 0;
        for (int i = 0; i < seq.length(); i++) {
            run = i > 0 && seq.charAt(i) == seq.charAt(i - 1) ? run + 1 : 1;
            int who = seq.charAt(i) - 'a';
            longest[who] = Math.max(longest[who], run);
        }
        assertTrue(longest[0] <= 4, "a picked " + longest[0] + " times in a row: " + seq);
        assertEquals(1, longest[1], seq::toString);
        assertEquals(1, longest[2], seq::toString);
        // exactly nginx's period, from wherever the counter started
        String period = seq.substring(0, 7);
        assertTrue(("aabacaa" + "aabacaa").contains(period), period);
        assertEquals(period.repeat(100), seq.toString());
    }

    @Test
    void roundRobinScheduleIsCappedAndStillWeighted() {
        int[] schedule = Balancers.RoundRobin.schedule(new int[] {6007, 3001, 997, 1});
        assertTrue(schedule.length <= Balancers.MAX_SCHEDULE, "length " + schedule.length);
        int[] seen = new int[4];
        for (int i : schedule) {
            seen[i]++;
        }
        assertTrue(seen[3] >= 1, "every endpoint keeps a slot");
        assertEquals(0.6, seen[0] / (double) schedule.length, 0.005);
        assertEquals(0.3, seen[1] / (double) schedule.length, 0.005);
        assertEquals(10, Balancers.RoundRobin.schedule(new int[] {50, 30, 20}).length, "reduced by the gcd");
        assertEquals(3, Balancers.RoundRobin.schedule(new int[] {7, 7, 7}).length);
    }

    @Test
    void roundRobinSpreadsASkippedEndpointsShareByWeight() {
        Endpoint[] eps = endpoints(2, 1, 1);
        down(eps[0]);
        Balancer b = Balancer.create(Balancer.Kind.ROUND_ROBIN, eps);
        Map<Endpoint, Integer> counts = count(b, 4_000, null);
        assertShares(counts, eps, new double[] {0, 0.5, 0.5}, 0.02);
    }

    @Test
    void roundRobinConcurrent() throws Exception {
        Endpoint[] eps = endpoints(50, 30, 20);
        Balancer b = Balancer.create(Balancer.Kind.ROUND_ROBIN, eps);
        int threads = 4;
        int picks = 20_000;
        List<Map<Endpoint, Integer>> results = new ArrayList<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Map<Endpoint, Integer> mine = new IdentityHashMap<>();
            results.add(mine);
            workers.add(Thread.ofPlatform().start(() -> {
                try {
                    start.await();
                    for (int i = 0; i < picks; i++) {
                        mine.merge(b.pick(null, null), 1, Integer::sum);
                    }
                } catch (Throwable e) {
                    failure.set(e);
                }
            }));
        }
        start.countDown();
        for (Thread w : workers) {
            w.join();
        }
        assertNull(failure.get());
        Map<Endpoint, Integer> all = new IdentityHashMap<>();
        results.forEach(m -> m.forEach((e, c) -> all.merge(e, c, Integer::sum)));
        assertEquals(threads * picks, all.values().stream().mapToInt(Integer::intValue).sum());
        assertShares(all, eps, new double[] {0.5, 0.3, 0.2}, 0.02);
    }

    // ---- the contract, for every kind ----

    @Test
    void everyKindSkipsUnavailableEndpoints() {
        for (Balancer.Kind kind : KINDS) {
            Endpoint[] eps = endpoints(1, 5, 1);
            down(eps[1]);
            eject(eps[2]);
            Balancer b = Balancer.create(kind, eps);
            for (int i = 0; i < 500; i++) {
                assertSame(eps[0], b.pick(i % 2 == 0 ? null : "key-" + i, null), kind::wire);
            }
            // back in rotation once healthy again
            assertTrue(eps[1].health.probed(true, "200", 1, 1));
            Map<Endpoint, Integer> counts = new IdentityHashMap<>();
            for (int i = 0; i < 500; i++) {
                counts.merge(b.pick(i % 2 == 0 ? null : "key-" + i, null), 1, Integer::sum);
            }
            assertTrue(counts.getOrDefault(eps[1], 0) > 0, kind.wire() + " " + counts);
            assertNull(counts.get(eps[2]), kind.wire() + " " + counts);
        }
    }

    @Test
    void everyKindSkipsTriedEndpoints() {
        for (Balancer.Kind kind : KINDS) {
            Endpoint[] eps = endpoints(10, 1, 1, 1);
            Balancer b = Balancer.create(kind, eps);
            Endpoint[] tried = {eps[0], eps[2]};
            Map<Endpoint, Integer> counts = new IdentityHashMap<>();
            for (int i = 0; i < 1_000; i++) {
                Endpoint e = b.pick(i % 2 == 0 ? null : "key-" + i, tried);
                assertTrue(e == eps[1] || e == eps[3], kind.wire() + " picked tried " + e);
                counts.merge(e, 1, Integer::sum);
            }
            assertEquals(2, counts.size(), kind.wire() + " uses both untried endpoints: " + counts);
        }
    }

    @Test
    void everyKindPanicsToAnUntriedEndpointWhenNoneIsAvailable() {
        for (Balancer.Kind kind : KINDS) {
            Endpoint[] eps = endpoints(1, 2, 3);
            down(eps[0]);
            down(eps[1]);
            eject(eps[2]);
            Balancer b = Balancer.create(kind, eps);
            for (int i = 0; i < 200; i++) {
                String key = i % 2 == 0 ? null : "key-" + i;
                assertNotNull(b.pick(key, null), kind::wire);
                assertSame(eps[1], b.pick(key, new Endpoint[] {eps[0], eps[2]}), kind::wire);
            }
            // an available but tried endpoint does not count: the untried unavailable ones are still tried
            Endpoint[] more = endpoints(1, 1);
            down(more[1]);
            assertSame(more[1], Balancer.create(kind, more).pick("k", new Endpoint[] {more[0]}), kind::wire);
        }
    }

    @Test
    void everyKindReturnsNullWhenAllWereTried() {
        for (Balancer.Kind kind : KINDS) {
            Endpoint[] eps = endpoints(1, 2, 3);
            down(eps[1]);
            Balancer b = Balancer.create(kind, eps);
            assertNull(b.pick("k", eps.clone()), kind::wire);
            assertNull(b.pick(null, new Endpoint[] {eps[2], eps[0], eps[1]}), kind::wire);
            assertNull(Balancer.create(kind, new Endpoint[0]).pick("k", null), kind::wire);
            Endpoint[] one = endpoints(1);
            assertSame(one[0], Balancer.create(kind, one).pick("k", null), kind::wire);
            assertNull(Balancer.create(kind, one).pick("k", one), kind::wire);
        }
    }

    // ---- least requests ----

    @Test
    void leastRequestsPrefersFewerInFlight() {
        Endpoint[] eps = endpoints(1, 1, 1, 1);
        for (int i = 0; i < 50; i++) {
            eps[0].begin();
        }
        Balancer b = Balancer.create(Balancer.Kind.LEAST_REQUESTS, eps);
        Map<Endpoint, Integer> counts = count(b, 4_000, null);
        // it only wins when paired with itself, which two distinct choices never do
        assertEquals(0, counts.getOrDefault(eps[0], 0), counts::toString);
        assertShares(counts, eps, new double[] {0, 1 / 3.0, 1 / 3.0, 1 / 3.0}, 0.04);
    }

    @Test
    void leastRequestsFollowsWeightsWhenIdleAndLoadPerWeight() {
        Endpoint[] eps = endpoints(50, 30, 20);
        Balancer b = Balancer.create(Balancer.Kind.LEAST_REQUESTS, eps);
        assertShares(count(b, 20_000, null), eps, new double[] {0.5, 0.3, 0.2}, 0.02);
        // 10 in flight on weight 50 is less loaded than 3 on weight 10
        Endpoint[] two = endpoints(50, 10);
        for (int i = 0; i < 10; i++) {
            two[0].begin();
        }
        for (int i = 0; i < 3; i++) {
            two[1].begin();
        }
        Map<Endpoint, Integer> counts = count(Balancer.create(Balancer.Kind.LEAST_REQUESTS, two), 1_000, null);
        assertEquals(1_000, counts.getOrDefault(two[0], 0), counts::toString);
    }

    @Test
    void leastRequestsBalancesLiveLoad() {
        // each pick holds its request for a while: the in-flight counts should even out
        Endpoint[] eps = endpoints(1, 1, 1, 1);
        Balancer b = Balancer.create(Balancer.Kind.LEAST_REQUESTS, eps);
        List<Endpoint> open = new ArrayList<>();
        long spread = 0;
        for (int i = 0; i < 5_000; i++) {
            Endpoint e = b.pick(null, null);
            e.begin();
            open.add(e);
            if (open.size() > 40) {
                open.removeFirst().end(1_000_000);
            }
            if (i > 100) {
                int min = Integer.MAX_VALUE;
                int max = 0;
                for (Endpoint x : eps) {
                    min = Math.min(min, x.inflight());
                    max = Math.max(max, x.inflight());
                }
                spread += max - min;
            }
        }
        // about 2.3 with two choices, 6.2 with a random pick
        double mean = spread / 4_899.0;
        assertTrue(mean < 4, "mean in-flight spread " + mean);
    }

    // ---- consistent hash ----

    private static Map<String, String> assign(Balancer b, int keys) {
        Map<String, String> owners = new HashMap<>();
        for (int i = 0; i < keys; i++) {
            String key = "user-" + i;
            owners.put(key, b.pick(key, null).url());
        }
        return owners;
    }

    private static void assertSameOwners(Map<String, String> expected, Map<String, String> actual) {
        assertEquals(expected.keySet(), actual.keySet());
        long differ = expected.keySet().stream().filter(k -> !expected.get(k).equals(actual.get(k))).count();
        assertEquals(0, differ, differ + " of " + expected.size() + " keys map to another endpoint");
    }

    @Test
    void consistentHashIsStableAndIndependentOfOrder() {
        Endpoint[] eps = endpoints(1, 1, 1, 1);
        Balancer b = Balancer.create(Balancer.Kind.CONSISTENT_HASH, eps);
        Map<String, String> first = assign(b, 10_000);
        assertSameOwners(first, assign(b, 10_000));
        Endpoint[] reversed = endpoints(1, 1, 1, 1);
        java.util.Collections.reverse(java.util.Arrays.asList(reversed));
        assertSameOwners(first, assign(Balancer.create(Balancer.Kind.CONSISTENT_HASH, reversed), 10_000));
        Map<String, Integer> load = new HashMap<>();
        first.values().forEach(u -> load.merge(u, 1, Integer::sum));
        assertEquals(4, load.size());
        load.values().forEach(c -> assertEquals(0.25, c / 10_000.0, 0.08, load::toString));
    }

    @Test
    void consistentHashFollowsWeights() {
        Endpoint[] eps = endpoints(2, 1, 1);
        Map<String, Integer> load = new HashMap<>();
        assign(Balancer.create(Balancer.Kind.CONSISTENT_HASH, eps), 20_000).values()
                .forEach(u -> load.merge(u, 1, Integer::sum));
        assertEquals(0.5, load.get(eps[0].url()) / 20_000.0, 0.08, load::toString);
    }

    @Test
    void consistentHashAddingAnEndpointMovesOnlyItsShare() {
        Endpoint[] four = endpoints(1, 1, 1, 1);
        Endpoint[] five = endpoints(1, 1, 1, 1, 1);
        Map<String, String> before = assign(Balancer.create(Balancer.Kind.CONSISTENT_HASH, four), 10_000);
        Map<String, String> after = assign(Balancer.create(Balancer.Kind.CONSISTENT_HASH, five), 10_000);
        int moved = 0;
        for (var e : before.entrySet()) {
            String now = after.get(e.getKey());
            if (!now.equals(e.getValue())) {
                moved++;
                assertEquals(five[4].url(), now, "key " + e.getKey() + " moved between old endpoints");
            }
        }
        assertTrue(moved <= 2_500, "moved " + moved);
        assertTrue(moved >= 1_000, "moved only " + moved);
    }

    @Test
    void consistentHashRemovingAnEndpointMovesOnlyItsKeys() {
        Endpoint[] four = endpoints(1, 1, 1, 1);
        Endpoint[] three = {four[0], four[1], four[3]};
        Map<String, String> before = assign(Balancer.create(Balancer.Kind.CONSISTENT_HASH, four), 10_000);
        Map<String, String> after = assign(Balancer.create(Balancer.Kind.CONSISTENT_HASH, three), 10_000);
        int moved = 0;
        Map<String, Integer> gained = new HashMap<>();
        for (var e : before.entrySet()) {
            String now = after.get(e.getKey());
            if (e.getValue().equals(four[2].url())) {
                moved++;
                gained.merge(now, 1, Integer::sum);
            } else {
                assertEquals(e.getValue(), now, "key " + e.getKey() + " was not on the removed endpoint");
            }
        }
        assertTrue(moved > 1_000, "moved " + moved);
        assertEquals(3, gained.size(), "the removed endpoint's keys spread over the rest: " + gained);
    }

    @Test
    void consistentHashPassesOverAnUnavailableEndpointAndComesBack() {
        Endpoint[] eps = endpoints(1, 1, 1, 1);
        Balancer b = Balancer.create(Balancer.Kind.CONSISTENT_HASH, eps);
        Map<String, String> before = assign(b, 5_000);
        down(eps[1]);
        Map<String, String> during = assign(b, 5_000);
        for (var e : before.entrySet()) {
            if (!e.getValue().equals(eps[1].url())) {
                assertEquals(e.getValue(), during.get(e.getKey()));
            } else {
                assertNotEquals(eps[1].url(), during.get(e.getKey()));
            }
        }
        assertTrue(eps[1].health.probed(true, "200", 1, 1));
        assertSameOwners(before, assign(b, 5_000));
    }

    @Test
    void consistentHashWithoutKeyIsRoundRobin() {
        Endpoint[] eps = endpoints(50, 30, 20);
        Balancer b = Balancer.create(Balancer.Kind.CONSISTENT_HASH, eps);
        assertShares(count(b, 10_000, null), eps, new double[] {0.5, 0.3, 0.2}, 0.02);
    }

    @Test
    void hashSpreadsBits() {
        // neighbouring inputs give unrelated hashes: about half the bits differ
        long flips = 0;
        for (int i = 0; i < 1_000; i++) {
            flips += Long.bitCount(Balancers.hash("key-" + i) ^ Balancers.hash("key-" + (i + 1)));
        }
        assertEquals(32, flips / 1_000.0, 1.5);
        assertNotEquals(Balancers.hash("ab"), Balancers.hash("ba"));
        assertNotEquals(Balancers.hash(""), Balancers.hash("\0"));
    }

    // ---- ewma ----

    @Test
    void ewmaAvoidsTheSlowEndpoint() {
        Endpoint[] eps = endpoints(1, 1, 1, 1);
        for (Endpoint e : eps) {
            e.begin();
            e.end(e == eps[2] ? 200_000_000 : 2_000_000);
        }
        Balancer b = Balancer.create(Balancer.Kind.EWMA, eps);
        Map<Endpoint, Integer> counts = new IdentityHashMap<>();
        List<Endpoint> open = new ArrayList<>();
        for (int i = 0; i < 4_000; i++) {
            Endpoint e = b.pick(null, null);
            counts.merge(e, 1, Integer::sum);
            e.begin();
            open.add(e);
            if (open.size() > 20) {
                Endpoint done = open.removeFirst();
                done.end(done == eps[2] ? 200_000_000 : 2_000_000);
            }
        }
        double slow = counts.getOrDefault(eps[2], 0) / 4_000.0;
        assertTrue(slow < 0.05, "slow endpoint got " + slow + " of " + counts);
        for (Endpoint e : eps) {
            if (e != eps[2]) {
                assertTrue(counts.getOrDefault(e, 0) > 800, counts::toString);
            }
        }
    }

    @Test
    void ewmaSpreadsEvenlyOverAlikeEndpoints() {
        Endpoint[] eps = endpoints(1, 1, 1, 1);
        Balancer b = Balancer.create(Balancer.Kind.EWMA, eps);
        assertShares(count(b, 8_000, null), eps, new double[] {0.25, 0.25, 0.25, 0.25}, 0.03);
    }
}
