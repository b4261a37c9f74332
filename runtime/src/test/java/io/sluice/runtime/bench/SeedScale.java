package io.sluice.runtime.bench;

import io.sluice.registry.distribution.ConfigFollower;
import io.sluice.registry.distribution.SnapshotFile;
import io.sluice.registry.model.EntitySet;
import io.sluice.registry.store.ConfigVersion;
import io.sluice.registry.store.Store;
import io.sluice.registry.store.VersionChanges;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The driver of {@code runtime/bench/seedscale.sh} (issue 15): generates the seed-scale config, and measures
 * admin write latency, propagation to data-plane processes, and propagation to simulated subscribers
 * ({@link ConfigFollower}s in this JVM). Not a test: a main class run with the test class path. Each
 * measuring command prints one summary line of {@code name=value} pairs and writes its raw samples to a file.
 *
 * <pre>
 *   gen DOC KEYS ROUTES CONSUMERS UPSTREAM_URL
 *   import ADMIN TOKEN DOC
 *   latency ADMIN TOKEN put|key WARMUP N OFFSET RAW
 *   propagate ADMIN TOKEN N PREFIX RAW DP_PROXY_PORT...
 *   subscribers PG_URL REDIS_URL ADMIN TOKEN SUBSCRIBERS STORES ROUNDS CHANGES DIR RAW_PREFIX
 * </pre>
 */
public final class SeedScale {
    private static final HexFormat HEX = HexFormat.of();
    /** The upstream of the routes the driver writes (JVM property seed.upstream). */
    static final String upstream = System.getProperty("seed.upstream", "http://127.0.0.1:1");
    /** The seed config's size, for the routes and consumers the latency runs pick (JVM properties). */
    static final int ROUTES = Integer.getInteger("seed.routes", 2000);
    static final int CONSUMERS = Integer.getInteger("seed.consumers", 50_000);

    private SeedScale() {
    }

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "gen" -> gen(Path.of(args[1]), Path.of(args[2]), Integer.parseInt(args[3]), Integer.parseInt(args[4]),
                    args[5]);
            case "import" -> importDoc(args[1], args[2], Path.of(args[3]));
            case "latency" -> latency(args[1], args[2], args[3], Integer.parseInt(args[4]), Integer.parseInt(args[5]),
                    Integer.parseInt(args[6]), Path.of(args[7]));
            case "propagate" -> propagate(args[1], args[2], Integer.parseInt(args[3]), args[4], Path.of(args[5]),
                    Arrays.copyOfRange(args, 6, args.length));
            case "subscribers" -> subscribers(args[1], args[2], args[3], args[4], Integer.parseInt(args[5]),
                    Integer.parseInt(args[6]), Integer.parseInt(args[7]), Integer.parseInt(args[8]), Path.of(args[9]),
                    args[10]);
            default -> throw new IllegalArgumentException("unknown command " + args[0]);
        }
        System.exit(0);
    }

    // ---- the seed config

    /** Route i (1-based): /svc-i/**; odd routes run key-auth + rate-limit (local). */
    static String route(int i, String upstream, int rate) {
        StringBuilder b = new StringBuilder();
        b.append("{\"id\":\"r-").append(i).append("\",\"paths\":[\"/svc-").append(i).append("/**\"],")
                .append("\"strip_prefix\":\"/svc-").append(i).append("\",")
                .append("\"upstream\":{\"targets\":[{\"url\":\"").append(upstream).append("\"}]}");
        if (i % 2 == 1) {
            b.append(",\"plugins\":[{\"name\":\"key-auth\"},{\"name\":\"rate-limit\",\"config\":{\"rate\":")
                    .append(rate).append(",\"burst\":").append(rate * 2).append(",\"by\":\"consumer\"}}]");
        }
        return b.append('}').toString();
    }

    static void gen(Path doc, Path keys, int routes, int consumers, String upstream) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        SecureRandom rnd = new SecureRandom();
        try (BufferedWriter w = Files.newBufferedWriter(doc); PrintWriter kw = new PrintWriter(Files.newBufferedWriter(keys))) {
            w.write("{\"routes\":[");
            for (int i = 1; i <= routes; i++) {
                w.write((i > 1 ? ",\n" : "\n") + route(i, upstream, 1000));
            }
            w.write("],\n\"consumers\":[");
            byte[] raw = new byte[16];
            for (int c = 1; c <= consumers; c++) {
                rnd.nextBytes(raw);
                String key = "sk_seed_" + HEX.formatHex(raw);
                String hash = HEX.formatHex(sha.digest(key.getBytes(StandardCharsets.US_ASCII)));
                w.write((c > 1 ? ",\n" : "\n") + "{\"id\":\"c-" + c + "\",\"tags\":[\"seed\"],\"api_keys\":[{\"id\":\"k"
                        + c + "\",\"hash\":\"sha256:" + hash + "\"}]}");
                if (c <= 100) {
                    kw.println("c-" + c + " " + key);
                }
            }
            w.write("]}\n");
        }
        System.out.printf(Locale.ROOT, "generated routes=%d consumers=%d bytes=%d%n", routes, consumers, Files.size(doc));
    }

    // ---- admin calls

    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).build();

    record Answer(int status, long version, String body, long nanos) {
    }

    static Answer call(String admin, String token, String method, String path, String contentType, String body)
            throws IOException, InterruptedException {
        HttpRequest.Builder rb = HttpRequest.newBuilder(URI.create(admin + path))
                .timeout(Duration.ofSeconds(path.startsWith("/v1/config/import") ? 1200 : 120))
                .header("Authorization", "Bearer " + token);
        if (body != null) {
            rb.header("Content-Type", contentType).method(method, HttpRequest.BodyPublishers.ofString(body));
        } else {
            rb.method(method, HttpRequest.BodyPublishers.noBody());
        }
        HttpRequest req = rb.build();
        long t0 = System.nanoTime();
        HttpResponse<String> r = HTTP.send(req, HttpResponse.BodyHandlers.ofString());
        long nanos = System.nanoTime() - t0;
        long v = r.headers().firstValue("Sluice-Config-Version").map(Long::parseLong).orElse(-1L);
        return new Answer(r.statusCode(), v, r.body(), nanos);
    }

    static void importDoc(String admin, String token, Path doc) throws Exception {
        String body = Files.readString(doc);
        Answer a = call(admin, token, "POST", "/v1/config/import", "application/json", body);
        if (a.status() != 200) {
            throw new IllegalStateException("import answered " + a.status() + ": " + clip(a.body()));
        }
        System.out.printf(Locale.ROOT, "import ms=%.0f version=%d bytes=%d%n", a.nanos() / 1e6, a.version(), body.length());
    }

    /** Route PUTs (an existing route's rate-limit config changes) or API-key creations, one after the other. */
    static void latency(String admin, String token, String kind, int warmup, int n, int offset, Path raw) throws Exception {
        List<Long> samples = new ArrayList<>();
        for (int op = 0; op < warmup + n; op++) {
            int k = offset + op;
            Answer a;
            if (kind.equals("put")) {
                int route = 2 * (k % (ROUTES / 2)) + 1;   // odd routes carry the plugins
                a = call(admin, token, "PUT", "/v1/routes/r-" + route, "application/json",
                        route(route, upstream, 1001 + k));   // its rate-limit config changes
            } else {
                int consumer = 1 + (int) ((k * 7919L) % CONSUMERS);
                a = call(admin, token, "POST", "/v1/consumers/c-" + consumer + "/api-keys", "application/json", "{}");
            }
            if (a.status() != 200 && a.status() != 201) {
                throw new IllegalStateException(kind + " answered " + a.status() + ": " + clip(a.body()));
            }
            if (op >= warmup) {
                samples.add(a.nanos());
            }
        }
        writeRaw(raw, samples);
        System.out.println(kind + " " + stats(samples));
    }

    static String clip(String s) {
        return s.length() > 500 ? s.substring(0, 500) + "..." : s;
    }

    // ---- propagation to data-plane processes

    static void propagate(String admin, String token, int n, String prefix, Path raw, String[] proxyPorts) throws Exception {
        int dps = proxyPorts.length;
        List<List<Long>> perDp = new ArrayList<>();
        for (int d = 0; d < dps; d++) {
            perDp.add(new ArrayList<>());
        }
        List<Long> lastOfAll = new ArrayList<>();
        List<Long> puts = new ArrayList<>();
        HttpClient[] clients = new HttpClient[dps];
        for (int d = 0; d < dps; d++) {
            clients[d] = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        }
        int timeouts = 0;
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(raw))) {
            w.println("# change put_ms then ms from the PUT's response to each data plane serving the route");
            for (int i = 0; i < n; i++) {
                String id = prefix + "-" + i;
                String body = "{\"paths\":[\"/" + id + "/**\"],\"strip_prefix\":\"/" + id + "\",\"upstream\":{\"targets\":[{\"url\":\""
                        + upstream + "\"}]}}";
                Answer a = call(admin, token, "PUT", "/v1/routes/" + id, "application/json", body);
                long t0 = System.nanoTime();
                if (a.status() != 201) {
                    throw new IllegalStateException("route PUT answered " + a.status() + ": " + clip(a.body()));
                }
                puts.add(a.nanos());
                long[] seen = new long[dps];
                CountDownLatch done = new CountDownLatch(dps);
                for (int d = 0; d < dps; d++) {
                    int dd = d;
                    Thread.ofPlatform().start(() -> {
                        seen[dd] = poll(clients[dd], "http://127.0.0.1:" + proxyPorts[dd] + "/" + id + "/x", t0);
                        done.countDown();
                    });
                }
                done.await();
                long max = 0;
                StringBuilder line = new StringBuilder(id + " " + String.format(Locale.ROOT, "%.3f", a.nanos() / 1e6));
                for (int d = 0; d < dps; d++) {
                    if (seen[d] < 0) {
                        timeouts++;
                        seen[d] = TimeUnit.SECONDS.toNanos(10);
                    }
                    perDp.get(d).add(seen[d]);
                    max = Math.max(max, seen[d]);
                    line.append(String.format(Locale.ROOT, " %.3f", seen[d] / 1e6));
                }
                lastOfAll.add(max);
                w.println(line);
                Thread.sleep(50 + ThreadLocalRandom.current().nextInt(100));   // changes apart, not in a burst
            }
        }
        List<Long> all = new ArrayList<>();
        perDp.forEach(all::addAll);
        StringBuilder out = new StringBuilder("propagate all " + stats(all) + " last_of_" + dps + " " + stats(lastOfAll)
                + " put " + stats(puts) + " timeouts=" + timeouts);
        for (int d = 0; d < dps; d++) {
            out.append(" | dp").append(d + 1).append(' ').append(stats(perDp.get(d)));
        }
        System.out.println(out);
    }

    /** Polls a proxy URL every 2 ms until it answers 200; nanoseconds since t0, or -1 after 10 s. */
    static long poll(HttpClient c, String url, long t0) {
        HttpRequest req = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(2)).GET().build();
        while (System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(10)) {
            try {
                HttpResponse<Void> r = c.send(req, HttpResponse.BodyHandlers.discarding());
                if (r.statusCode() == 200) {
                    return System.nanoTime() - t0;
                }
                Thread.sleep(2);
            } catch (IOException e) {
                try {
                    Thread.sleep(2);
                } catch (InterruptedException ie) {
                    return -1;
                }
            } catch (InterruptedException e) {
                return -1;
            }
        }
        return -1;
    }

    // ---- simulated subscribers

    /** Keeps an EntitySet like a data plane's tracker, and when each version arrived (epoch micros). */
    static final class SimApplier implements ConfigFollower.Applier {
        private static volatile EntitySet shared;
        private static volatile long sharedVersion = -1;
        final Map<Long, Long> arrivedMicros = new ConcurrentHashMap<>();
        volatile long version = -1;
        private EntitySet entities;
        final java.util.concurrent.atomic.AtomicInteger fulls = new java.util.concurrent.atomic.AtomicInteger();

        @Override
        public synchronized void full(ConfigVersion v, EntitySet all) {
            // every subscriber reads the whole config from the store itself; to keep 100 copies in one heap, the
            // copies of one version share the body strings (a data plane holds its own)
            synchronized (SimApplier.class) {
                if (sharedVersion == v.version()) {
                    entities = shared.copy();
                } else {
                    shared = all;
                    sharedVersion = v.version();
                    entities = all.copy();
                }
            }
            version = v.version();
            fulls.incrementAndGet();
            arrivedMicros.put(v.version(), micros(Instant.now()));
        }

        @Override
        public synchronized void changes(VersionChanges vc) {
            entities.apply(vc.changes());
            version = vc.version().version();
            arrivedMicros.put(version, micros(Instant.now()));
        }
    }

    static long micros(Instant t) {
        return t.getEpochSecond() * 1_000_000L + t.getNano() / 1000;
    }

    static void subscribers(String pg, String redis, String admin, String token, int subs, int stores, int rounds,
                            int changes, Path dir, String rawPrefix) throws Exception {
        Logger.getLogger("").setLevel(Level.WARNING);
        List<Store> storeList = new ArrayList<>();
        for (int s = 0; s < stores; s++) {
            storeList.add(Store.postgresReader(pg));
        }
        List<ConfigFollower> followers = new ArrayList<>();
        List<SimApplier> appliers = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int i = 0; i < subs; i++) {
            Path d = dir.resolve("sub-" + i);
            Files.createDirectories(d);
            SimApplier a = new SimApplier();
            ConfigFollower f = new ConfigFollower(storeList.get(i % stores), Optional.of(redis), new SnapshotFile(d), a,
                    Duration.ofMillis(Long.getLong("sluice.poll.ms", 5000)));
            f.start();
            followers.add(f);
            appliers.add(a);
        }
        double startS = (System.nanoTime() - t0) / 1e9;
        // every subscriber is subscribed to Redis before changes are made
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (followers.stream().anyMatch(f -> !f.subscribed()) && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        long subscribed = followers.stream().filter(ConfigFollower::subscribed).count();
        System.out.printf(Locale.ROOT, "subscribers started=%d in_s=%.1f subscribed=%d stores=%d%n", subs, startS,
                subscribed, stores);
        for (int r = 1; r <= rounds; r++) {
            List<Long> fromCommit = new ArrayList<>();
            List<Long> fromResponse = new ArrayList<>();
            List<Long> lastOfAll = new ArrayList<>();
            int missing = 0;
            try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(Path.of(rawPrefix + "-round" + r + ".txt")))) {
                w.println("# version put_ms then, per subscriber, ms from the commit (version created_at) to applied");
                for (int i = 0; i < changes; i++) {
                    String id = "sub-r" + r + "-" + i + "-" + System.nanoTime() % 100000;
                    String body = "{\"paths\":[\"/" + id + "/**\"],\"upstream\":{\"targets\":[{\"url\":\"" + upstream
                            + "\"}]}}";
                    Answer a = call(admin, token, "PUT", "/v1/routes/" + id, "application/json", body);
                    long respMicros = micros(Instant.now());
                    if (a.status() != 201) {
                        throw new IllegalStateException("route PUT answered " + a.status() + ": " + clip(a.body()));
                    }
                    long v = a.version();
                    long wait = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                    while (System.nanoTime() < wait && appliers.stream().anyMatch(x -> x.version < v)) {
                        Thread.sleep(1);
                    }
                    // the commit's own timestamp: taken by the control plane when its commit transaction began
                    Optional<ConfigVersion> cv = storeList.get(0).version(v);
                    long commitMicros = cv.map(c -> micros(c.createdAt())).orElse(respMicros);
                    StringBuilder line = new StringBuilder(v + String.format(Locale.ROOT, " %.3f", a.nanos() / 1e6));
                    long max = 0;
                    for (SimApplier x : appliers) {
                        Long at = x.arrivedMicros.get(v);
                        if (at == null) {
                            // applied later, as part of a newer change set, or not within 10 s
                            missing++;
                            at = respMicros + 10_000_000L;
                        }
                        fromCommit.add((at - commitMicros) * 1000);
                        fromResponse.add((at - respMicros) * 1000);
                        max = Math.max(max, (at - commitMicros) * 1000);
                        line.append(String.format(Locale.ROOT, " %.3f", (at - commitMicros) / 1e3));
                    }
                    lastOfAll.add(max);
                    w.println(line);
                    Thread.sleep(50 + ThreadLocalRandom.current().nextInt(100));
                }
            }
            System.out.println("subscribers round=" + r + " from_commit " + stats(fromCommit) + " from_response "
                    + stats(fromResponse) + " last_of_" + subs + " " + stats(lastOfAll) + " missing=" + missing
                    + " full_loads=" + appliers.stream().mapToInt(x -> x.fulls.get()).sum());
        }
        for (ConfigFollower f : followers) {
            f.close();
        }
        storeList.forEach(Store::close);
    }

    // ---- numbers

    static String stats(List<Long> nanos) {
        long[] s = nanos.stream().mapToLong(Long::longValue).sorted().toArray();
        if (s.length == 0) {
            return "n=0";
        }
        return String.format(Locale.ROOT, "n=%d p50=%.2f p99=%.2f max=%.2f", s.length, pct(s, 0.50) / 1e6,
                pct(s, 0.99) / 1e6, s[s.length - 1] / 1e6);
    }

    /** Nearest rank. */
    static long pct(long[] sorted, double q) {
        int i = (int) Math.ceil(q * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    static void writeRaw(Path raw, List<Long> samples) throws IOException {
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(raw))) {
            for (long s : samples) {
                w.printf(Locale.ROOT, "%.3f%n", s / 1e6);
            }
        }
    }
}
