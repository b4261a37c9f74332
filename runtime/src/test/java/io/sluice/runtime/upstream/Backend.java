package io.sluice.runtime.upstream;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.IntFunction;

/**
 * A real HTTP/1.1 upstream for the balancing and health tests, on a raw server socket so that it can be killed
 * hard (listener closed, every open connection reset) and started again on the same port. It answers every
 * request with {@code X-Upstream: <name>} and the body {@code <name>}, after {@link #delayMs}, with
 * {@link #status}; {@code GET /health} answers {@link #healthStatus} and is counted apart.
 * Also the tests' load client ({@link Client}, {@link #run}) and a metrics scrape.
 */
final class Backend implements AutoCloseable {
    final String name;
    private final int port;
    private volatile ServerSocket server;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final AtomicInteger served = new AtomicInteger();
    private final AtomicInteger probes = new AtomicInteger();
    private final AtomicInteger inflight = new AtomicInteger();
    /** Status of proxied requests. */
    volatile int status = 200;
    /** Status of {@code GET /health}. */
    volatile int healthStatus = 200;
    /** Wait before answering a proxied request. */
    volatile long delayMs;

    private Backend(String name, int port) throws IOException {
        this.name = name;
        this.server = listen(port);
        this.port = server.getLocalPort();
        accept(server);
    }

    static Backend start(String name) throws IOException {
        return new Backend(name, 0);
    }

    private static ServerSocket listen(int port) throws IOException {
        ServerSocket s = new ServerSocket();
        s.setReuseAddress(true);
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 256);
        return s;
    }

    private void accept(ServerSocket s) {
        Thread.ofVirtual().name("backend-" + name).start(() -> {
            while (!s.isClosed()) {
                try {
                    Socket c = s.accept();
                    open.add(c);
                    if (s.isClosed()) {   // killed meanwhile
                        reset(c);
                        return;
                    }
                    Thread.ofVirtual().start(() -> serve(c));
                } catch (IOException e) {
                    return;
                }
            }
        });
    }

    private void serve(Socket c) {
        try (c) {
            c.setTcpNoDelay(true);
            InputStream in = new BufferedInputStream(c.getInputStream());
            OutputStream out = new BufferedOutputStream(c.getOutputStream());
            while (true) {
                String line = readLine(in);
                if (line == null || line.isEmpty()) {
                    return;
                }
                long length = 0;
                boolean chunked = false;
                String h;
                while ((h = readLine(in)) != null && !h.isEmpty()) {
                    String lower = h.toLowerCase(Locale.ROOT);
                    if (lower.startsWith("content-length:")) {
                        length = Long.parseLong(h.substring(15).strip());
                    } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
                        chunked = true;
                    }
                }
                if (h == null) {
                    return;
                }
                readBody(in, length, chunked);
                String[] parts = line.split(" ");
                boolean health = parts[0].equals("GET") && parts[1].equals("/health");
                int code;
                if (health) {
                    probes.incrementAndGet();
                    code = healthStatus;
                } else {
                    served.incrementAndGet();
                    inflight.incrementAndGet();
                    long d = delayMs;
                    if (d > 0) {
                        Thread.sleep(d);
                    }
                    code = status;
                }
                try {
                    byte[] body = name.getBytes(StandardCharsets.UTF_8);
                    out.write(("HTTP/1.1 " + code + " X\r\nX-Upstream: " + name + "\r\nContent-Length: "
                            + body.length + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
                    out.write(body);
                    out.flush();
                } finally {
                    if (!health) {
                        inflight.decrementAndGet();
                    }
                }
            }
        } catch (IOException | InterruptedException e) {
            // the connection ends
        } finally {
            open.remove(c);
        }
    }

    private static void readBody(InputStream in, long length, boolean chunked) throws IOException {
        if (!chunked) {
            in.skipNBytes(length);
            return;
        }
        while (true) {
            int size = Integer.parseInt(readLine(in).split(";")[0].strip(), 16);
            if (size == 0) {
                String t;
                while ((t = readLine(in)) != null && !t.isEmpty()) {
                    // trailers
                }
                return;
            }
            in.skipNBytes(size);
            readLine(in);
        }
    }

    static String readLine(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0) {
            if (c == '\n') {
                int n = b.length();
                if (n > 0 && b.charAt(n - 1) == '\r') {
                    b.setLength(n - 1);
                }
                return b.toString();
            }
            b.append((char) c);
        }
        return b.isEmpty() ? null : b.toString();
    }

    /**
     * Kills it hard: the listener closes (connects are refused) and every open connection is reset.
     *
     * @return the proxied requests it had received but not answered
     */
    int kill() throws IOException {
        server.close();
        int unanswered = inflight.get();
        for (Socket s : open) {
            reset(s);
        }
        return unanswered;
    }

    /** @return connections open now */
    int connections() {
        return open.size();
    }

    private void reset(Socket s) {
        try {
            s.setSoLinger(true, 0);   // RST, not FIN: as a crashed process's peer sees it
        } catch (IOException ignored) {
            // already closed
        }
        try {
            s.close();
        } catch (IOException ignored) {
            // closing
        }
        open.remove(s);
    }

    /** Listens again on its port after {@link #kill}. */
    void restart() throws IOException {
        ServerSocket s = listen(port);
        server = s;
        accept(s);
    }

    String url() {
        return "http://127.0.0.1:" + port;
    }

    /** @return proxied requests answered (not health probes) */
    int served() {
        return served.get();
    }

    /** @return health probes received */
    int probes() {
        return probes.get();
    }

    @Override
    public void close() throws IOException {
        kill();
    }

    // ---- the load side

    /** A response seen by the client: the status, who answered ({@code X-Upstream}), the body; or a failure. */
    record Result(int status, String upstream, String body, String failure) {
        boolean ok() {
            return status == 200;
        }

        @Override
        public String toString() {
            return failure != null ? "failed: " + failure : status + " from " + upstream + ": " + body;
        }
    }

    /** One keep-alive client connection to the proxy, with buffered streams, that reconnects when closed. */
    static final class Client implements AutoCloseable {
        private final int port;
        private Socket socket;
        private InputStream in;
        private OutputStream out;

        Client(int port) {
            this.port = port;
        }

        /** Sends raw request text and reads the response; a transport failure is a Result, not an exception. */
        Result send(String raw) {
            try {
                if (socket == null) {
                    socket = new Socket("127.0.0.1", port);
                    socket.setTcpNoDelay(true);
                    socket.setSoTimeout(10_000);
                    in = new BufferedInputStream(socket.getInputStream());
                    out = new BufferedOutputStream(socket.getOutputStream());
                }
                out.write(raw.getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                return read();
            } catch (IOException | RuntimeException e) {
                close();
                return new Result(-1, null, null, e.toString());
            }
        }

        private Result read() throws IOException {
            String line = readLine(in);
            if (line == null) {
                throw new IOException("connection closed before a response");
            }
            int status = Integer.parseInt(line.substring(9, 12));
            long length = -1;
            boolean chunked = false;
            boolean close = false;
            String upstream = null;
            String h;
            while (!(h = readLine(in)).isEmpty()) {
                int colon = h.indexOf(':');
                String n = h.substring(0, colon).toLowerCase(Locale.ROOT);
                String v = h.substring(colon + 1).strip();
                switch (n) {
                    case "content-length" -> length = Long.parseLong(v);
                    case "transfer-encoding" -> chunked = v.equalsIgnoreCase("chunked");
                    case "connection" -> close = v.equalsIgnoreCase("close");
                    case "x-upstream" -> upstream = v;
                    default -> { }
                }
            }
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            if (chunked) {
                while (true) {
                    int size = Integer.parseInt(readLine(in).split(";")[0].strip(), 16);
                    if (size == 0) {
                        while (!readLine(in).isEmpty()) {
                            // trailers
                        }
                        break;
                    }
                    body.write(in.readNBytes(size));
                    readLine(in);
                }
            } else if (length >= 0) {
                body.write(in.readNBytes((int) length));
            } else {
                body.write(in.readAllBytes());
                close = true;
            }
            if (close) {
                close();
            }
            return new Result(status, upstream, body.toString(StandardCharsets.UTF_8), null);
        }

        @Override
        public void close() {
            if (socket != null) {
                try {
                    socket.close();
                } catch (IOException ignored) {
                    // closing
                }
                socket = null;
            }
        }
    }

    /** A GET request's raw text. */
    static String get(String path, String... headers) {
        StringBuilder b = new StringBuilder("GET ").append(path).append(" HTTP/1.1\r\nHost: gw\r\n");
        for (int i = 0; i < headers.length; i += 2) {
            b.append(headers[i]).append(": ").append(headers[i + 1]).append("\r\n");
        }
        return b.append("\r\n").toString();
    }

    /** A POST request's raw text with a small body. */
    static String post(String path, String body) {
        return "POST " + path + " HTTP/1.1\r\nHost: gw\r\nContent-Type: text/plain\r\nContent-Length: "
                + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body;
    }

    /**
     * Sends {@code total} requests from {@code threads} workers, each on its own keep-alive connection; worker
     * {@code t} sends requests {@code t, t + threads, ...}. A worker's exception fails the call.
     *
     * @return the results by request index
     */
    static Result[] run(int port, int threads, int total, IntFunction<String> request) throws Exception {
        Result[] out = new Result[total];
        try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            List<Future<?>> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int first = t;
                workers.add(pool.submit(() -> {
                    try (Client c = new Client(port)) {
                        for (int i = first; i < total; i += threads) {
                            out[i] = c.send(request.apply(i));
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : workers) {
                f.get(60, TimeUnit.SECONDS);
            }
        }
        return out;
    }

    /**
     * Sends requests from {@code threads} workers, each on its own keep-alive connection, while
     * {@code go} holds (and at most 60 s). A worker's exception fails the call.
     *
     * @return every result
     */
    static List<Result> runWhile(int port, int threads, BooleanSupplier go, IntFunction<String> request)
            throws Exception {
        long hardEnd = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        List<Result> out = java.util.Collections.synchronizedList(new ArrayList<>());
        try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            List<Future<?>> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                workers.add(pool.submit(() -> {
                    try (Client c = new Client(port)) {
                        for (int i = 0; go.getAsBoolean() && System.nanoTime() < hardEnd; i++) {
                            out.add(c.send(request.apply(i)));
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : workers) {
                f.get(90, TimeUnit.SECONDS);
            }
        }
        return out;
    }

    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    /** A plain GET on a node's admin port (no token): {@code /metrics}, {@code /upstreams/{id}/health}. */
    static HttpResponse<String> adminGet(int adminPort, String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The sum of a metric's samples in a Prometheus scrape (0 when absent). */
    static double metric(String scrape, String name) {
        double sum = 0;
        for (String l : scrape.split("\n")) {
            if (l.startsWith(name + " ") || l.startsWith(name + "{")) {
                sum += Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }

    /** Polls until the condition holds or the time is up. */
    static boolean await(Duration within, BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + within.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > end) {
                return condition.getAsBoolean();
            }
            Thread.sleep(20);
        }
        return true;
    }
}
