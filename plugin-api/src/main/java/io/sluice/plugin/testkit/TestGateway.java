package io.sluice.plugin.testkit;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.sluice.plugin.Json;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A real Sluice gateway for a plugin's tests (what Pongo is to Kong): a standalone node started as its own process
 * on free loopback ports, with an empty embedded store, an admin token of its own and an echo upstream in the test
 * JVM. Upload the plugin under test, attach it to a route, send real requests through the proxy.
 *
 * <pre>{@code
 * try (TestGateway gw = TestGateway.start()) {
 *     gw.upload(Path.of("target/my-filter-1.0.0.jar"));
 *     gw.route("demo", "/demo/**", "[{\"name\": \"my-filter\", \"config\": {\"tag\": \"t1\"}}]");
 *     HttpResponse<String> r = gw.get("/demo/x");
 *     assertEquals("t1", gw.lastUpstreamRequest().orElseThrow().header("X-Tag").orElseThrow());
 * }
 * }</pre>
 *
 * <p>Why a process and not a node inside the test JVM: the plugin is loaded exactly as in production (its jar
 * inspected in a child JVM, its own class loader that sees only plugin-api and pf4j from the gateway), never
 * confused with the copy of its classes on the test class path; and plugin-api stays free of the gateway's
 * libraries (Helidon, GraalJS, the store).
 *
 * <p>Which gateway: the system property {@code sluice.home}, else the environment variable {@code SLUICE_HOME}: a
 * Sluice checkout where {@code bin/sluice} (or {@code mvn install}) has built
 * {@code runtime/target/sluice-runtime.jar}.
 * It runs on the test's own JVM ({@code java.home}, 25 or newer). Test without one with {@link #available()}.
 */
public final class TestGateway implements AutoCloseable {
    private static final Pattern LISTENER = Pattern.compile("^\\s*(proxy|admin):\\s+http://[^:]+:(\\d+)");
    private static final Duration START_TIMEOUT = Duration.ofSeconds(
            Long.getLong("sluice.gateway.start-timeout-s", 180));
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();

    private final Process process;
    private final Path dataDir;
    private final Path log;
    private final String token;
    private final int proxyPort;
    private final int adminPort;
    private final EchoUpstream upstream;

    private TestGateway(Process process, Path dataDir, Path log, String token, int proxyPort, int adminPort,
                        EchoUpstream upstream) {
        this.process = process;
        this.dataDir = dataDir;
        this.log = log;
        this.token = token;
        this.proxyPort = proxyPort;
        this.adminPort = adminPort;
        this.upstream = upstream;
    }

    /**
     * Whether a built gateway was found ({@code sluice.home} or {@code SLUICE_HOME}); for JUnit's
     * {@code assumeTrue(TestGateway.available(), TestGateway.unavailableReason())}.
     *
     * @return true when {@link #start()} can run one
     */
    public static boolean available() {
        return home().map(h -> Files.isRegularFile(jar(h))).orElse(false);
    }

    /**
     * Why {@link #available()} is false, or an empty string.
     *
     * @return the reason
     */
    public static String unavailableReason() {
        Optional<Path> home = home();
        if (home.isEmpty()) {
            return "no gateway for TestGateway: set -Dsluice.home (or SLUICE_HOME) to a Sluice checkout built with"
                    + " bin/sluice";
        }
        return available() ? "" : "no gateway for TestGateway: " + jar(home.get())
                + " does not exist; build it with bin/sluice (or mvn install) in " + home.get();
    }

    /**
     * Starts the gateway found by {@code sluice.home} / {@code SLUICE_HOME}; returns once it is ready.
     *
     * @return the running gateway
     * @throws IllegalStateException when there is none or it did not start (with the end of its log)
     */
    public static TestGateway start() {
        return start(home().orElseThrow(() -> new IllegalStateException(unavailableReason())));
    }

    /**
     * Starts the gateway of a Sluice checkout; returns once it is ready.
     *
     * @param home the checkout, with {@code runtime/target/sluice-runtime.jar} built
     * @return the running gateway
     * @throws IllegalStateException when it did not start (with the end of its log)
     */
    public static TestGateway start(Path home) {
        Path jar = jar(home);
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(jar + " does not exist; build it with bin/sluice in " + home);
        }
        EchoUpstream upstream = EchoUpstream.start();
        Path dataDir;
        Path log;
        try {
            dataDir = Files.createTempDirectory("sluice-test-gateway");
            // kept after close(): in the build's target folder when there is one, else the temporary folder
            Path target = Path.of("target");
            log = Files.isDirectory(target) ? Files.createTempFile(target, "test-gateway-", ".log")
                    : Files.createTempFile("sluice-test-gateway-", ".log");
        } catch (IOException e) {
            upstream.close();
            throw new UncheckedIOException(e);
        }
        String token = "tg-" + HexFormat.of().formatHex(new SecureRandom().generateSeed(16));
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(List.of("-Xms64m", "-Xmx512m", "-XX:+UseSerialGC"));
        Path graal = jar.resolveSibling("graal");
        Path compiler = jar.resolveSibling("graal-compiler");
        if (Files.isDirectory(graal) && Files.isDirectory(compiler)) {
            // as bin/sluice: GraalJS's optimizing compiler, for JavaScript filters
            cmd.addAll(List.of("-XX:+UnlockExperimentalVMOptions", "-XX:+EnableJVMCI",
                    "--module-path", graal.toString(), "--add-modules", "org.graalvm.polyglot",
                    "--upgrade-module-path", compiler.toString(),
                    "--enable-native-access=org.graalvm.truffle", "--sun-misc-unsafe-memory-access=allow"));
        }
        cmd.addAll(List.of("-jar", jar.toString(), "start", "--data-dir", dataDir.toString(),
                "--proxy-host", "127.0.0.1", "--proxy-port", "0", "--admin-host", "127.0.0.1", "--admin-port", "0"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).directory(dataDir.toFile());
        pb.environment().put("SLUICE_ADMIN_TOKEN", token);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            upstream.close();
            throw new IllegalStateException("cannot run " + cmd.getFirst() + ": " + e.getMessage(), e);
        }
        CompletableFuture<Integer> proxy = new CompletableFuture<>();
        CompletableFuture<Integer> admin = new CompletableFuture<>();
        Deque<String> tail = new ArrayDeque<>();
        Thread.ofPlatform().daemon().name("test-gateway-log").start(() -> pump(p, log, proxy, admin, tail));
        TestGateway gw = null;
        try {
            long end = System.nanoTime() + START_TIMEOUT.toNanos();
            int proxyPort = proxy.get(START_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            int adminPort = admin.get(Math.max(1, (end - System.nanoTime()) / 1_000_000), TimeUnit.MILLISECONDS);
            gw = new TestGateway(p, dataDir, log, token, proxyPort, adminPort, upstream);
            while (gw.adminCall("GET", "/ready", null, null).statusCode() != 200) {
                if (System.nanoTime() - end > 0) {
                    throw new TimeoutException("not ready");
                }
                Thread.sleep(100);
            }
            return gw;
        } catch (InterruptedException | ExecutionException | TimeoutException | RuntimeException e) {
            String why = "the gateway did not start within " + START_TIMEOUT.toSeconds() + " s (" + e + "); log "
                    + log + ", last lines:\n" + String.join("\n", snapshot(tail));
            if (gw != null) {
                gw.close();
            } else {
                stop(p);
                upstream.close();
                delete(dataDir);
            }
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new IllegalStateException(why, e);
        }
    }

    /** @return the proxy's base URL, {@code http://127.0.0.1:PORT} */
    public String proxyUrl() {
        return "http://127.0.0.1:" + proxyPort;
    }

    /** @return the admin API's base URL, {@code http://127.0.0.1:PORT} */
    public String adminUrl() {
        return "http://127.0.0.1:" + adminPort;
    }

    /** @return the gateway's platform admin token */
    public String token() {
        return token;
    }

    /** @return the echo upstream's base URL (routes made by {@link #route} point at it) */
    public String upstreamUrl() {
        return upstream.url();
    }

    /** @return the gateway's log (stdout and stderr) */
    public Path log() {
        return log;
    }

    /**
     * Uploads a filter ({@code POST /v1/filters}): a {@code .jar} as a Java plugin, anything else as a JavaScript
     * module.
     *
     * @param file the jar or the {@code .js} file
     * @return the response: 201 with the stored filter version, or the refusal ({@code 400 invalid_filter}, ...)
     */
    public HttpResponse<String> upload(Path file) {
        boolean jar = file.getFileName().toString().endsWith(".jar");
        try {
            return adminCall("POST", "/v1/filters", jar ? "application/java-archive" : "application/javascript",
                    Files.readAllBytes(file));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Puts a route ({@code PUT /v1/routes/{id}}) whose upstream is the echo upstream.
     *
     * @param id          route id
     * @param path        its path pattern, such as {@code /demo/**}
     * @param pluginsJson its {@code plugins} list as JSON, such as {@code [{"name": "my-filter", "config": {}}]}
     * @return the response: 200/201, or the refusal (400 with the config problems)
     */
    public HttpResponse<String> route(String id, String path, String pluginsJson) {
        String body = "{\"paths\": [" + Json.quote(path) + "], \"upstream\": {\"targets\": [{\"url\": "
                + Json.quote(upstream.url()) + "}]}, \"plugins\": " + pluginsJson + "}";
        return adminCall("PUT", "/v1/routes/" + id, "application/json", body.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Calls the admin API with the gateway's platform token.
     *
     * @param method      HTTP method
     * @param path        such as {@code /v1/filters}
     * @param contentType the body's type, or null without a body
     * @param body        the body, or null
     * @return the response
     */
    public HttpResponse<String> adminCall(String method, String path, String contentType, byte[] body) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(adminUrl() + path)).timeout(Duration.ofSeconds(60))
                .header("Authorization", "Bearer " + token).header("Accept", "application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofByteArray(body));
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        return send(b.build());
    }

    /**
     * GET through the proxy.
     *
     * @param path    path and query
     * @param headers name, value, name, value, ...
     * @return the response
     */
    public HttpResponse<String> get(String path, String... headers) {
        return request("GET", path, null, headers);
    }

    /**
     * A request through the proxy.
     *
     * @param method  HTTP method
     * @param path    path and query
     * @param body    UTF-8 body, or null
     * @param headers name, value, name, value, ...
     * @return the response
     */
    public HttpResponse<String> request(String method, String path, String body, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(proxyUrl() + path)).timeout(Duration.ofSeconds(30))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        if (headers.length > 0) {
            b.headers(headers);
        }
        return send(b.build());
    }

    /**
     * The last request the echo upstream received, if any.
     *
     * @return method, path and headers as the gateway sent them upstream
     */
    public Optional<UpstreamRequest> lastUpstreamRequest() {
        return upstream.last();
    }

    /** @return how many requests reached the echo upstream */
    public int upstreamRequests() {
        return upstream.count();
    }

    /** Stops the gateway (and the echo upstream) and deletes its data directory; the log is kept. */
    @Override
    public void close() {
        stop(process);
        upstream.close();
        delete(dataDir);
    }

    /**
     * A request as the echo upstream received it.
     *
     * @param method  HTTP method
     * @param path    path and query
     * @param headers header names in lower case, with their values
     * @param body    UTF-8 body
     */
    public record UpstreamRequest(String method, String path, Map<String, List<String>> headers, String body) {
        /**
         * A header's first value.
         *
         * @param name any case
         * @return the value, if sent
         */
        public Optional<String> header(String name) {
            List<String> v = headers.get(name.toLowerCase(Locale.ROOT));
            return v == null || v.isEmpty() ? Optional.empty() : Optional.of(v.getFirst());
        }
    }

    private static HttpResponse<String> send(HttpRequest request) {
        try {
            return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(request.method() + " " + request.uri() + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static Optional<Path> home() {
        String h = System.getProperty("sluice.home");
        if (h == null || h.isBlank() || h.contains("${")) {
            h = System.getenv("SLUICE_HOME");
        }
        return h == null || h.isBlank() ? Optional.empty() : Optional.of(Path.of(h).toAbsolutePath().normalize());
    }

    private static Path jar(Path home) {
        return home.resolve("runtime").resolve("target").resolve("sluice-runtime.jar");
    }

    private static void pump(Process p, Path log, CompletableFuture<Integer> proxy, CompletableFuture<Integer> admin,
                             Deque<String> tail) {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
             Writer out = Files.newBufferedWriter(log)) {
            String line;
            while ((line = in.readLine()) != null) {
                out.write(line);
                out.write('\n');
                out.flush();
                synchronized (tail) {
                    tail.addLast(line);
                    if (tail.size() > 40) {
                        tail.removeFirst();
                    }
                }
                Matcher m = LISTENER.matcher(line);
                if (m.find()) {
                    (m.group(1).equals("proxy") ? proxy : admin).complete(Integer.parseInt(m.group(2)));
                }
            }
        } catch (IOException e) {
            // the process ended; what it printed is in the log
        }
        IllegalStateException ended = new IllegalStateException("the gateway process ended");
        proxy.completeExceptionally(ended);
        admin.completeExceptionally(ended);
    }

    private static List<String> snapshot(Deque<String> tail) {
        synchronized (tail) {
            return List.copyOf(tail);
        }
    }

    private static void stop(Process p) {
        List<ProcessHandle> children = p.descendants().toList();
        p.destroy();   // SIGTERM: the gateway's shutdown hook closes the node
        try {
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        children.forEach(ProcessHandle::destroyForcibly);
    }

    private static void delete(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            // a temporary directory; nothing else to do
        }
    }

    /** An upstream in the test JVM that answers 200 with what it received, as JSON, and remembers it. */
    private static final class EchoUpstream {
        private final HttpServer server;
        private volatile UpstreamRequest last;
        private volatile int count;

        private EchoUpstream(HttpServer server) {
            this.server = server;
        }

        static EchoUpstream start() {
            try {
                HttpServer s = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
                EchoUpstream e = new EchoUpstream(s);
                s.createContext("/", e::handle);
                s.start();
                return e;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        String url() {
            return "http://127.0.0.1:" + server.getAddress().getPort();
        }

        Optional<UpstreamRequest> last() {
            return Optional.ofNullable(last);
        }

        int count() {
            return count;
        }

        private void handle(HttpExchange ex) throws IOException {
            Map<String, List<String>> headers = new LinkedHashMap<>();
            ex.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(Locale.ROOT), List.copyOf(v)));
            String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            String path = ex.getRequestURI().getRawPath()
                    + (ex.getRequestURI().getRawQuery() == null ? "" : "?" + ex.getRequestURI().getRawQuery());
            synchronized (this) {
                last = new UpstreamRequest(ex.getRequestMethod(), path, Map.copyOf(headers), body);
                count++;
            }
            StringBuilder json = new StringBuilder("{\"method\": ").append(Json.quote(ex.getRequestMethod()))
                    .append(", \"path\": ").append(Json.quote(path)).append(", \"headers\": {");
            String sep = "";
            for (Map.Entry<String, List<String>> h : headers.entrySet()) {
                json.append(sep).append(Json.quote(h.getKey())).append(": ")
                        .append(Json.quote(h.getValue().getFirst()));
                sep = ", ";
            }
            byte[] out = json.append("}}").toString().getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "application/json");
            ex.sendResponseHeaders(200, out.length);
            try (var os = ex.getResponseBody()) {
                os.write(out);
            }
        }

        void close() {
            server.stop(0);
        }
    }
}
