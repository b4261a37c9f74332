package io.sluice.runtime.testing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real HTTP upstream (the JDK's HttpServer) that records what it receives and answers with a description of
 * the request: {@code X-Upstream: name}, and a body {@code name METHOD target\n<request body>}. A path
 * containing {@code /sleep/N} makes it wait N ms first.
 */
public final class EchoUpstream implements AutoCloseable {
    /** One received request. */
    public record Received(String method, String target, Map<String, List<String>> headers, byte[] body) {
        /** First value of a header (case-insensitive), or null. */
        public String header(String name) {
            for (var e : headers.entrySet()) {
                if (e.getKey().equalsIgnoreCase(name)) {
                    return e.getValue().getFirst();
                }
            }
            return null;
        }

        /** Body as text. */
        public String bodyText() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    private final String name;
    private final HttpServer server;
    private final ConcurrentLinkedQueue<Received> received = new ConcurrentLinkedQueue<>();
    private final AtomicInteger count = new AtomicInteger();

    private EchoUpstream(String name) throws IOException {
        this.name = name;
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 256);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/", this::handle);
        server.start();
    }

    /**
     * Starts one on a free port.
     *
     * @param name answered in {@code X-Upstream}
     * @return the running upstream
     */
    public static EchoUpstream start(String name) throws IOException {
        return new EchoUpstream(name);
    }

    private void handle(HttpExchange ex) throws IOException {
        byte[] body;
        try (InputStream in = ex.getRequestBody()) {
            body = in.readAllBytes();
        }
        Map<String, List<String>> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        ex.getRequestHeaders().forEach((k, v) -> headers.put(k, List.copyOf(v)));
        String target = ex.getRequestURI().getRawPath()
                + (ex.getRequestURI().getRawQuery() == null ? "" : "?" + ex.getRequestURI().getRawQuery());
        Received r = new Received(ex.getRequestMethod(), target, headers, body);
        received.add(r);
        count.incrementAndGet();
        int sleep = target.indexOf("/sleep/");
        if (sleep >= 0) {
            String ms = target.substring(sleep + 7).replaceAll("[^0-9].*", "");
            try {
                Thread.sleep(Long.parseLong(ms));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        byte[] out = (name + " " + r.method() + " " + target + "\n").getBytes(StandardCharsets.UTF_8);
        byte[] all = new byte[out.length + body.length];
        System.arraycopy(out, 0, all, 0, out.length);
        System.arraycopy(body, 0, all, out.length, body.length);
        ex.getResponseHeaders().add("X-Upstream", name);
        ex.getResponseHeaders().add("Content-Type", "text/plain");
        ex.getResponseHeaders().add("Keep-Alive", "timeout=5");
        ex.getResponseHeaders().add("X-Hop", "secret");
        ex.getResponseHeaders().add("Connection", "X-Hop");
        boolean head = r.method().equals("HEAD");
        ex.sendResponseHeaders(200, head ? -1 : all.length);
        if (!head) {
            try (OutputStream os = ex.getResponseBody()) {
                os.write(all);
            }
        }
        ex.close();
    }

    /** @return base URL, http://127.0.0.1:port */
    public String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    /** @return the port */
    public int port() {
        return server.getAddress().getPort();
    }

    /** @return requests received so far */
    public int count() {
        return count.get();
    }

    /** @return the last request received */
    public Received last() {
        Received last = null;
        for (Received r : received) {
            last = r;
        }
        return last;
    }

    /** @return every request, in arrival order */
    public List<Received> all() {
        return List.copyOf(received);
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
