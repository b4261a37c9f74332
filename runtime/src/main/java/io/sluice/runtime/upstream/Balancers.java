package io.sluice.runtime.upstream;

import java.util.Arrays;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The balancer implementations.
 *
 * <h2>Load balancing</h2>
 *
 * <p>Every balancer skips targets that are not available (marked unhealthy by the active checks or ejected by
 * passive outlier detection) and targets this request already tried. When no untried target is available, it
 * still sends the attempt to one of the untried ones ("panic": trying a target beats refusing the request). A
 * balancer is rebuilt when the upstream's targets or weights change; in-flight counts and latency estimates
 * belong to the targets and survive that.
 *
 * <p><b>{@code round_robin}</b> (the default) is nginx's smooth weighted round robin: weights 5/1/1 give
 * {@code a a b a c a a}, not {@code a a a a a b c}. The schedule is computed once per membership change (at most
 * 4096 slots; weights are reduced by their gcd, and scaled down proportionally when still larger, each staying
 * ≥ 1) and every gateway thread steps one shared atomic counter through it, so a pick is one atomic increment. A
 * target that is skipped gives its slots to the next ones, so the rest keep their relative weights. Pick it when
 * targets are alike and requests cost about the same; it is the cheapest and the most predictable.
 *
 * <p><b>{@code least_requests}</b> draws two distinct targets at random (weighted by weight) and sends the request
 * to the one with fewer requests in flight relative to its weight; on a tie the first draw wins, so idle targets
 * still get traffic in proportion to their weight. Pick it when request costs vary a lot (long polls, uploads,
 * slow queries) or targets differ in capacity: it steers away from a busy target without the herding that
 * "always the least loaded" causes. Cost: two random numbers and two counter reads per pick. Counts are per
 * gateway instance, not fleet-wide.
 *
 * <p><b>{@code consistent_hash}</b> places each target on a hash ring 160 times (scaled by its weight relative to
 * the mean) and sends a request to the first target clockwise from its key's 64-bit hash (the key comes from a
 * header, cookie, consumer or client address). The same key reaches the same target on every gateway instance;
 * adding a target to N moves only about 1/(N+1) of the keys, all to the new one, and removing one moves only its
 * keys. An unavailable or tried target is passed over to the next one clockwise, so its keys spread over the
 * others. Requests without a key are balanced round robin. Pick it for cache affinity or sticky state; expect
 * uneven load when a few keys are hot. Cost: one hash of the key and a binary search (ring of ~160 entries per
 * target).
 *
 * <p><b>{@code ewma}</b> is power of two choices on cost = peak-EWMA latency × (requests in flight + 1), divided
 * by weight: of two random targets the cheaper one wins. The latency estimate jumps up on a slow answer at once
 * and decays back over about 10 s, so a target that turns slow (GC pause, noisy neighbour, far zone) loses
 * traffic within a few requests. Pick it when targets' latencies differ or change over time; like
 * {@code least_requests} it is local to each gateway instance, and an unmeasured target starts at 1 ms so it is
 * tried but not flooded.
 *
 * <p>All of them snapshot the endpoints' weights when built (a re-weight builds a new balancer) and never block
 * or allocate in {@link Balancer#pick}.
 */
final class Balancers {
    /** Most slots a round-robin schedule has (twice the endpoints when there are more than half that many). */
    static final int MAX_SCHEDULE = 4096;
    /** Virtual nodes per endpoint of mean weight on the hash ring. */
    static final int VNODES = 160;
    /** Schedule slots a round-robin pick tries before it scans the endpoints. */
    private static final int MAX_SKIPS = 16;
    /** Ring entries a hash pick walks before it scans the endpoints. */
    private static final int MAX_WALK = 128;
    /** Random draws a power-of-two pick makes for an eligible candidate before it scans. */
    private static final int MAX_DRAWS = 8;

    private Balancers() {
    }

    static Balancer create(Balancer.Kind kind, Endpoint[] endpoints) {
        Endpoint[] eps = endpoints.clone();
        if (eps.length == 1) {
            // one target: every algorithm picks it (the panic rule included), with no shared counter to contend on
            Endpoint only = eps[0];
            return (key, tried) -> contains(tried, only) ? null : only;
        }
        return switch (kind) {
            case ROUND_ROBIN -> new RoundRobin(eps);
            case LEAST_REQUESTS -> new TwoChoices(eps, false);
            case CONSISTENT_HASH -> new ConsistentHash(eps);
            case EWMA -> new TwoChoices(eps, true);
        };
    }

    static boolean contains(Endpoint[] tried, Endpoint e) {
        if (tried != null) {
            for (Endpoint t : tried) {
                if (t == e) {
                    return true;
                }
            }
        }
        return false;
    }

    /** What the balancers share: the endpoints, their weights as of creation, and the last-resort scan. */
    private abstract static class Base implements Balancer {
        final Endpoint[] eps;
        final int[] weights;

        Base(Endpoint[] eps) {
            this.eps = eps;
            this.weights = new int[eps.length];
            for (int i = 0; i < eps.length; i++) {
                weights[i] = Math.max(1, eps[i].weight());
            }
        }

        /**
         * The first available untried endpoint from {@code start} on; failing that the first untried one (panic);
         * null when all were tried.
         */
        final Endpoint scan(int start, Endpoint[] tried) {
            Endpoint panic = null;
            int n = eps.length;
            for (int k = 0, i = start; k < n; k++, i = i + 1 == n ? 0 : i + 1) {
                Endpoint e = eps[i];
                if (!contains(tried, e)) {
                    if (e.available()) {
                        return e;
                    }
                    if (panic == null) {
                        panic = e;
                    }
                }
            }
            return panic;
        }

        final boolean eligible(Endpoint e, Endpoint[] tried) {
            return !contains(tried, e) && e.available();
        }
    }

    /**
     * nginx's smooth weighted round robin, precomputed: the schedule is one period of the sequence nginx would
     * produce, and a shared counter steps through it. A skipped slot (unavailable or tried endpoint) takes the next
     * counter value rather than the next slot, so the skipped endpoint's share spreads over the others in
     * proportion to their weights instead of going to its successor.
     */
    static final class RoundRobin extends Base {
        final int[] schedule;
        private final AtomicLong next;

        RoundRobin(Endpoint[] eps) {
            super(eps);
            this.schedule = schedule(weights);
            // start somewhere random so that gateway instances rebuilt together do not all begin on one target
            this.next = new AtomicLong(schedule.length == 0 ? 0 : ThreadLocalRandom.current().nextInt(schedule.length));
        }

        @Override
        public Endpoint pick(String key, Endpoint[] tried) {
            int len = schedule.length;
            if (len == 0) {
                return null;
            }
            int slot = 0;
            for (int k = Math.min(len, MAX_SKIPS); k > 0; k--) {
                slot = (int) ((next.getAndIncrement() & Long.MAX_VALUE) % len);
                Endpoint e = eps[schedule[slot]];
                if (eligible(e, tried)) {
                    return e;
                }
            }
            return scan(schedule[slot], tried);
        }

        /**
         * One period of nginx's smooth weighted round robin: each step adds every weight to its current value,
         * picks the largest current (the first on ties) and subtracts the total from it.
         *
         * @param weights the weights, each ≥ 1
         * @return endpoint indexes, each appearing in proportion to its (reduced, possibly scaled) weight
         */
        static int[] schedule(int[] weights) {
            int n = weights.length;
            int[] w = reduce(weights);
            long total = 0;
            boolean uniform = true;
            for (int x : w) {
                total += x;
                uniform &= x == w[0];
            }
            int limit = Math.max(MAX_SCHEDULE, 2 * n);
            if (total > limit && !uniform) {
                // floor to a total of limit - n, so that raising the zeros to 1 stays within the limit
                long target = limit - n;
                for (int i = 0; i < n; i++) {
                    w[i] = (int) Math.max(1, w[i] * target / total);
                }
                w = reduce(w);
                total = 0;
                for (int x : w) {
                    total += x;
                }
            }
            int[] out = new int[(int) total];
            if (uniform) {
                // equal weights reduce to 1 each: plain rotation (what the general loop would also produce)
                for (int i = 0; i < n; i++) {
                    out[i] = i;
                }
                return out;
            }
            // O(total × n); total ≤ max(MAX_SCHEDULE, 2n)
            long[] current = new long[n];
            for (int s = 0; s < out.length; s++) {
                int best = 0;
                for (int i = 0; i < n; i++) {
                    current[i] += w[i];
                    if (current[i] > current[best]) {
                        best = i;
                    }
                }
                current[best] -= total;
                out[s] = best;
            }
            return out;
        }

        private static int[] reduce(int[] weights) {
            int g = 0;
            for (int x : weights) {
                g = gcd(g, x);
            }
            int[] w = weights.clone();
            if (g > 1) {
                for (int i = 0; i < w.length; i++) {
                    w[i] /= g;
                }
            }
            return w;
        }

        private static int gcd(int a, int b) {
            while (b != 0) {
                int t = a % b;
                a = b;
                b = t;
            }
            return a;
        }
    }

    /**
     * Power of two choices: two distinct endpoints drawn at random in proportion to their weights, the less loaded
     * one wins, the first drawn on a tie (so with no load at all the picks follow the weights). Load is in-flight
     * requests ({@code least_requests}) or {@link Endpoint#cost()} ({@code ewma}), both divided by weight.
     */
    static final class TwoChoices extends Base {
        private final boolean ewma;
        /** cumulative[i] = weights[0] + … + weights[i]; null when all weights are equal. */
        private final long[] cumulative;
        private final long total;

        TwoChoices(Endpoint[] eps, boolean ewma) {
            super(eps);
            this.ewma = ewma;
            long sum = 0;
            boolean uniform = true;
            long[] cum = new long[eps.length];
            for (int i = 0; i < eps.length; i++) {
                sum += weights[i];
                cum[i] = sum;
                uniform &= weights[i] == weights[0];
            }
            this.total = sum;
            this.cumulative = uniform ? null : cum;
        }

        @Override
        public Endpoint pick(String key, Endpoint[] tried) {
            int n = eps.length;
            if (n <= 1) {
                return n == 0 || contains(tried, eps[0]) ? null : eps[0];
            }
            ThreadLocalRandom rnd = ThreadLocalRandom.current();
            int a = -1;
            for (int k = 0; k < MAX_DRAWS; k++) {
                int i = draw(rnd, -1);
                if (eligible(eps[i], tried)) {
                    a = i;
                    break;
                }
            }
            if (a < 0) {
                return scan(rnd.nextInt(n), tried);
            }
            int b = -1;
            for (int k = 0; k < MAX_DRAWS; k++) {
                int i = draw(rnd, a);
                if (eligible(eps[i], tried)) {
                    b = i;
                    break;
                }
            }
            if (b < 0) {
                return eps[a];
            }
            return lighter(a, b) ? eps[a] : eps[b];
        }

        /** Whether a is at most as loaded as b, per unit of weight. */
        private boolean lighter(int a, int b) {
            if (ewma) {
                return eps[a].cost() * weights[b] <= eps[b].cost() * weights[a];
            }
            return (long) eps[a].inflight() * weights[b] <= (long) eps[b].inflight() * weights[a];
        }

        /** A random endpoint index in proportion to weight, never {@code except} (-1 for none). */
        private int draw(ThreadLocalRandom rnd, int except) {
            int n = eps.length;
            if (cumulative == null) {
                if (except < 0) {
                    return rnd.nextInt(n);
                }
                int i = rnd.nextInt(n - 1);
                return i >= except ? i + 1 : i;
            }
            long r;
            if (except < 0) {
                r = rnd.nextLong(total);
            } else {
                r = rnd.nextLong(total - weights[except]);
                if (r >= cumulative[except] - weights[except]) {
                    r += weights[except];
                }
            }
            // the first i with cumulative[i] > r
            int lo = 0;
            int hi = n - 1;
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (cumulative[mid] > r) {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
            return lo;
        }
    }

    /**
     * A hash ring with virtual nodes: each endpoint is hashed onto it {@link #VNODES} times scaled by its weight
     * relative to the mean (at least once), at {@code hash(url + "#" + i)}. A key goes to the owner of the first
     * ring point at or after its hash, passing over unavailable and tried endpoints clockwise. The ring depends
     * only on the endpoints' URLs and weights, not on their order, so every gateway instance maps a key alike.
     */
    static final class ConsistentHash extends Base {
        final long[] ring;
        final int[] owner;
        private final RoundRobin unkeyed;

        ConsistentHash(Endpoint[] eps) {
            super(eps);
            this.unkeyed = new RoundRobin(eps);
            int n = eps.length;
            long totalWeight = 0;
            for (int w : weights) {
                totalWeight += w;
            }
            int[] vnodes = new int[n];
            int size = 0;
            for (int i = 0; i < n; i++) {
                vnodes[i] = (int) Math.max(1, Math.round((double) VNODES * weights[i] * n / totalWeight));
                size += vnodes[i];
            }
            long[] hashes = new long[size];
            int[] owners = new int[size];
            int p = 0;
            for (int i = 0; i < n; i++) {
                for (int v = 0; v < vnodes[i]; v++) {
                    hashes[p] = hash(eps[i].url() + "#" + v);
                    owners[p++] = i;
                }
            }
            Integer[] order = new Integer[size];
            for (int k = 0; k < size; k++) {
                order[k] = k;
            }
            // a 64-bit collision is broken by URL so that the ring does not depend on the endpoints' order
            Arrays.sort(order, (x, y) -> {
                int c = Long.compare(hashes[x], hashes[y]);
                return c != 0 ? c : eps[owners[x]].url().compareTo(eps[owners[y]].url());
            });
            this.ring = new long[size];
            this.owner = new int[size];
            for (int k = 0; k < size; k++) {
                ring[k] = hashes[order[k]];
                owner[k] = owners[order[k]];
            }
        }

        @Override
        public Endpoint pick(String key, Endpoint[] tried) {
            if (key == null || ring.length == 0) {
                return unkeyed.pick(key, tried);
            }
            int pos = Arrays.binarySearch(ring, hash(key));
            if (pos < 0) {
                pos = -pos - 1;
            }
            if (pos == ring.length) {
                pos = 0;
            }
            int home = owner[pos];
            Endpoint panic = null;
            for (int k = Math.min(ring.length, MAX_WALK); k > 0; k--) {
                Endpoint e = eps[owner[pos]];
                if (!contains(tried, e)) {
                    if (e.available()) {
                        return e;
                    }
                    if (panic == null) {
                        panic = e;
                    }
                }
                pos = pos + 1 == ring.length ? 0 : pos + 1;
            }
            Endpoint e = scan(home, tried);
            return e == null || e.available() || panic == null ? e : panic;
        }
    }

    private static final long C1 = 0x87c37b91114253d5L;
    private static final long C2 = 0x4cf5ad432745937fL;

    /**
     * A 64-bit hash of the string's UTF-16 chars: MurmurHash3's x64 block mix over four chars at a time, and its
     * fmix64 finalizer. Changing it remaps every key, so it must stay as it is.
     *
     * @param s the string
     * @return the hash
     */
    static long hash(String s) {
        int n = s.length();
        long h = 0x9e3779b97f4a7c15L;
        int i = 0;
        for (; i + 4 <= n; i += 4) {
            long k = s.charAt(i) | (long) s.charAt(i + 1) << 16 | (long) s.charAt(i + 2) << 32
                    | (long) s.charAt(i + 3) << 48;
            h ^= mixK(k);
            h = Long.rotateLeft(h, 27) * 5 + 0x52dce729;
        }
        if (i < n) {
            long k = 0;
            for (int shift = 0; i < n; i++, shift += 16) {
                k |= (long) s.charAt(i) << shift;
            }
            h ^= mixK(k);
        }
        h ^= n;
        return fmix64(h);
    }

    private static long mixK(long k) {
        k *= C1;
        k = Long.rotateLeft(k, 31);
        return k * C2;
    }

    private static long fmix64(long h) {
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb93fe53d1a49L;
        h ^= h >>> 33;
        return h;
    }
}
