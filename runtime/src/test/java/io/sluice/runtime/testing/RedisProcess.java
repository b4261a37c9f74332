package io.sluice.runtime.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A real redis-server started by a test on a free loopback port, so the test can stop and restart it without
 * touching anyone else's Redis. Needs {@code redis-server} on the PATH (.ci/run installs it).
 */
public final class RedisProcess implements AutoCloseable {
    private final int port;
    private final Path dir;
    private Process process;

    private RedisProcess(int port) throws IOException {
        this.port = port;
        this.dir = Files.createTempDirectory("sluice-redis");
    }

    /** Starts one on a free port and waits until it answers PING. */
    public static RedisProcess start() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        RedisProcess r = new RedisProcess(port);
        r.startAgain();
        return r;
    }

    /** Starts the server (again) on the same port. */
    public void startAgain() throws Exception {
        process = new ProcessBuilder("redis-server", "--port", Integer.toString(port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", dir.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("redis.log").toFile()).start();
        long end = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < end) {
            if (ping()) {
                return;
            }
            Thread.sleep(20);
        }
        throw new IllegalStateException("redis-server did not start on port " + port + ": "
                + Files.readString(dir.resolve("redis.log")));
    }

    /** Stops the server and waits for it to exit. */
    public void stop() throws InterruptedException {
        if (process != null) {
            process.destroy();
            process.waitFor();
            process = null;
        }
    }

    /** @return redis://127.0.0.1:port */
    public String url() {
        return "redis://127.0.0.1:" + port;
    }

    /**
     * How many times Redis has run a command since it started (from {@code INFO commandstats}).
     *
     * @param command lower-case command name, e.g. {@code evalsha}
     * @return the call count, 0 if never called
     */
    public long calls(String command) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(2000);
            s.getOutputStream().write("INFO commandstats\r\n".getBytes(StandardCharsets.US_ASCII));
            java.io.BufferedReader r = new java.io.BufferedReader(
                    new java.io.InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII));
            int length = Integer.parseInt(r.readLine().substring(1));   // $<bytes> of a bulk reply
            char[] body = new char[length];
            int n = 0;
            while (n < length) {
                n += r.read(body, n, length - n);
            }
            for (String line : new String(body).split("\r\n")) {
                if (line.startsWith("cmdstat_" + command + ":calls=")) {
                    return Long.parseLong(line.substring(line.indexOf('=') + 1, line.indexOf(',')));
                }
            }
            return 0;
        }
    }

    private boolean ping() {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(500);
            OutputStream out = s.getOutputStream();
            out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
            InputStream in = s.getInputStream();
            byte[] b = new byte[7];
            int n = in.readNBytes(b, 0, 7);
            return n == 7 && new String(b, StandardCharsets.US_ASCII).equals("+PONG\r\n");
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }
}
