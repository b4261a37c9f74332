package io.sluice.runtime.routing;

import io.sluice.registry.config.PathPattern;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Router lookup time against route count (run with runtime/bench/router.sh). Each route has a literal prefix,
 * a parameter and a literal, plus a wildcard fallback. {@code spread}: requests cycle through 1024 paths of
 * routes drawn from all of them (so with 10,000 routes most lookups touch memory that is not in cache);
 * {@code hot}: requests cycle through paths of the same 10 routes whatever the route count (the algorithmic
 * cost alone).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class RouterBenchmark {
    @Param({"10", "10000"})
    public int routes;

    @Param({"spread", "hot"})
    public String traffic;

    private Router<String> router;
    private String[] paths;
    private int next;

    @Setup
    public void setUp() {
        Router.Builder<String> b = Router.builder();
        for (int i = 0; i < routes; i++) {
            b.add(PathPattern.parse("/svc" + i + "/v1/items/{id}"), List.of("GET"), List.of(), "r" + i);
        }
        b.add(PathPattern.parse("/**"), List.of(), List.of(), "fallback");
        router = b.build();
        SplittableRandom random = new SplittableRandom(42);
        paths = new String[1024];
        for (int i = 0; i < paths.length; i++) {
            int route = traffic.equals("hot") ? random.nextInt(10) * (routes / 10) : random.nextInt(routes);
            paths[i] = "/svc" + route + "/v1/items/" + random.nextInt(1_000_000);
        }
    }

    @Benchmark
    public Object lookup() {
        String path = paths[next++ & (paths.length - 1)];
        return router.lookup("GET", "", path);
    }
}
