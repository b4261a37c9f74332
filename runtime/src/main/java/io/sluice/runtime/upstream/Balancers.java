package io.sluice.runtime.upstream;

import java.util.concurrent.ThreadLocalRandom;

/** The balancer implementations. */
final class Balancers {
    private Balancers() {
    }

    static Balancer create(Balancer.Kind kind, Endpoint[] endpoints) {
        // placeholder until the real implementations land: weighted random over the available, untried endpoints
        return (key, tried) -> {
            Endpoint best = null;
            int total = 0;
            for (Endpoint e : endpoints) {
                if (!contains(tried, e) && (e.available() || best == null)) {
                    total += e.weight();
                    if (ThreadLocalRandom.current().nextInt(total) < e.weight()) {
                        best = e;
                    }
                }
            }
            return best;
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
}
