package io.sluice.runtime.routing;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.sluice.registry.config.PathPattern;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Fuzzes the router against a plain reference matcher. The input is text, one command per line, so seeds are
 * readable and hand-writable:
 * <pre>
 * R /pattern [METHOD,METHOD|*] [host,host|*]     a route (pattern through the config's PathPattern parser)
 * L METHOD host|- /path                            a lookup
 * </pre>
 * Invariants: {@link PathPattern#parse} fails only with IllegalArgumentException; the builder throws only for the
 * conflicts the reference predicts; every lookup gives exactly the reference's answer (the route whose pattern
 * matches, by the documented precedence, with the same parameters; else 405 with the first matching path's
 * methods; else 404); lookups are repeatable and do not depend on the order routes were added in.
 * Regression inputs: {@code src/test/resources/io/sluice/runtime/routing/RouterFuzzTestInputs/lookup/}.
 */
class RouterFuzzTest {
    private static final int MAX_ROUTES = 64;
    private static final int MAX_LOOKUPS = 64;
    private static final int MAX_PARAMS = 32;   // Router's documented limit

    /** A route as added, with the order it was added in as its id. */
    record Spec(int id, PathPattern pattern, List<String> methods, List<String> hosts) {
    }

    @FuzzTest(maxDuration = "4m")
    void lookup(byte[] input) {
        List<Spec> accepted = new ArrayList<>();
        List<String[]> lookups = new ArrayList<>();
        Set<String> taken = new HashSet<>();
        Router.Builder<Spec> builder = Router.builder();
        for (String line : new String(input, StandardCharsets.UTF_8).split("\n", -1)) {
            String[] t = line.split(" ", -1);
            if (t.length >= 2 && t[0].equals("R") && accepted.size() < MAX_ROUTES) {
                PathPattern pattern;
                try {
                    pattern = PathPattern.parse(t[1]);
                } catch (IllegalArgumentException e) {
                    continue;   // documented: a bad pattern is the user's error
                }
                List<String> methods = list(t.length > 2 ? t[2] : "*");
                List<String> hosts = list(t.length > 3 ? t[3] : "*");
                Spec spec = new Spec(accepted.size(), pattern, methods, hosts);
                if (conflicts(spec, taken)) {
                    continue;   // the builder refuses these; a refused add leaves the builder unusable
                }
                try {
                    builder.add(pattern, methods, hosts, spec);
                } catch (IllegalArgumentException e) {
                    fail("router refused a route the reference accepts: " + spec + ": " + e.getMessage());
                }
                accepted.add(spec);
            } else if (t.length >= 4 && t[0].equals("L") && lookups.size() < MAX_LOOKUPS) {
                String path = String.join(" ", Arrays.copyOfRange(t, 3, t.length));
                lookups.add(new String[] {t[1], t[2].equals("-") ? "" : t[2], path.startsWith("/") ? path : "/" + path});
            }
        }
        Router<Spec> router = builder.build();
        Router.Builder<Spec> reversed = Router.builder();
        for (Spec s : accepted.reversed()) {
            reversed.add(s.pattern(), s.methods(), s.hosts(), s);
        }
        Router<Spec> router2 = reversed.build();
        for (String[] l : lookups) {
            String method = l[0];
            String host = l[1];
            String path = l[2];
            Router.Result<Spec> got = router.lookup(method, host, path);
            String where = method + " " + host + " " + path;
            assertEquals(expected(accepted, method, host, path), got, where);
            assertEquals(got, router.lookup(method, host, path), "repeated lookup of " + where);
            assertEquals(got, router2.lookup(method, host, path), "routes added in reverse order, " + where);
        }
    }

    private static List<String> list(String token) {
        if (token.isEmpty() || token.equals("*")) {
            return List.of();
        }
        return List.of(token.split(",", -1));
    }

    /** Mirrors the builder's rule: one route per (host tree, shape, method or any); at most 32 parameters. */
    private static boolean conflicts(Spec s, Set<String> taken) {
        long params = s.pattern().segments().stream().filter(x -> !(x instanceof PathPattern.Literal)).count();
        if (params > MAX_PARAMS) {
            return true;
        }
        List<String> keys = new ArrayList<>();
        for (String h : s.hosts().isEmpty() ? List.of("\0any") : s.hosts()) {
            for (String m : s.methods().isEmpty() ? List.of("\0any") : s.methods()) {
                keys.add(h + "\n" + m + "\n" + s.pattern().shape());
            }
        }
        if (new HashSet<>(keys).size() < keys.size() || keys.stream().anyMatch(taken::contains)) {
            return true;
        }
        taken.addAll(keys);
        return false;
    }

    // ---- the reference: try every route, order the matches by the documented precedence ----

    private record Match(Spec spec, boolean hostSpecific, int[] kinds, Map<String, String> params) {
    }

    private static Router.Result<Spec> expected(List<Spec> routes, String method, String host, String path) {
        List<String> segs = path.length() <= 1 ? List.of() : Arrays.asList(path.substring(1).split("/", -1));
        List<Match> matches = new ArrayList<>();
        for (Spec s : routes) {
            Map<String, String> params = match(s.pattern(), segs);
            if (params == null) {
                continue;
            }
            int[] kinds = s.pattern().segments().stream().mapToInt(x -> switch (x) {
                case PathPattern.Literal l -> 0;
                case PathPattern.Param p -> 1;
                case PathPattern.Rest r -> 2;
            }).toArray();
            if (s.hosts().contains(host)) {
                matches.add(new Match(s, true, kinds, params));
            }
            if (s.hosts().isEmpty()) {
                matches.add(new Match(s, false, kinds, params));
            }
        }
        // host-specific first, then per segment literal < param < rest, a pattern that ends first beats a longer one
        matches.sort(Comparator.comparing((Match m) -> !m.hostSpecific())
                .thenComparing(Match::kinds, Arrays::compare));
        // matches with equal keys share one method slot in the router: resolve the method within each group
        for (int i = 0; i < matches.size(); ) {
            int j = i;
            while (j < matches.size() && matches.get(j).hostSpecific() == matches.get(i).hostSpecific()
                    && Arrays.equals(matches.get(j).kinds(), matches.get(i).kinds())) {
                j++;
            }
            Match hit = resolve(matches.subList(i, j), method);
            if (hit != null) {
                return new Router.Found<>(hit.spec(), hit.params());
            }
            i = j;
        }
        if (matches.isEmpty()) {
            return new Router.NotFound<>();
        }
        Match first = matches.getFirst();
        Set<String> allowed = new TreeSet<>();
        for (Match m : matches) {
            if (m.hostSpecific() == first.hostSpecific() && Arrays.equals(m.kinds(), first.kinds())) {
                allowed.addAll(m.spec().methods());
            }
        }
        if (allowed.contains("GET")) {
            allowed.add("HEAD");
        }
        return new Router.MethodNotAllowed<>(allowed);
    }

    /** The explicit method, else the any-method route, else GET for HEAD. */
    private static Match resolve(List<Match> group, String method) {
        for (Match m : group) {
            if (m.spec().methods().contains(method)) {
                return m;
            }
        }
        for (Match m : group) {
            if (m.spec().methods().isEmpty()) {
                return m;
            }
        }
        return method.equals("HEAD") ? resolve(group, "GET") : null;
    }

    /** Parameters if the pattern matches the path's segments, else null. */
    private static Map<String, String> match(PathPattern p, List<String> segs) {
        Map<String, String> params = new HashMap<>();
        List<PathPattern.Segment> ps = p.segments();
        for (int k = 0; k < ps.size(); k++) {
            switch (ps.get(k)) {
                case PathPattern.Rest r -> {
                    params.put("**", String.join("/", segs.subList(Math.min(k, segs.size()), segs.size())));
                    return params;
                }
                case PathPattern.Literal l -> {
                    if (k >= segs.size() || !segs.get(k).equals(l.value())) {
                        return null;
                    }
                }
                case PathPattern.Param q -> {
                    if (k >= segs.size() || segs.get(k).isEmpty()) {
                        return null;
                    }
                    params.put(q.name(), segs.get(k));
                }
            }
        }
        return ps.size() == segs.size() ? params : null;
    }
}
