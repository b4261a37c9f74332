package io.sluice.runtime.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real upstream on a socket that answers with exactly the bytes a test scripts, for HTTP/1.1 conformance
 * tests of the proxy's upstream side (chunked, close-delimited, 1xx, trailers, broken responses, stale
 * keep-alive connections). It parses requests properly (Content-Length and chunked bodies).
 */
public final class RawUpstream implements AutoCloseable {
    /** A request as received. */
    public record Request(String line, String headers, byte[] body, int connection) {
    }

    /** What to send back. */
    public record Reply(String raw, boolean closeAfter) {
        /** A reply that keeps the connection open. */
        public static Reply keep(String raw) {
            return new Reply(raw, false);
        }

        /** A reply after which the server closes the connection. */
        public static Reply close(String raw) {
            return new Reply(raw, true);
        }
    }

    /** The script. */
    @FunctionalInterface
    public interface Script {
        /**
         * @param request         what arrived
         * @param requestOnConn   0-based index of this request on its connection
         * @return the reply, or null to close the connection without answering
         */
        Reply reply(Request request, int requestOnConn) throws Exception;
    }

    private final ServerSocket server;
    private final Script script;
    private final AtomicInteger connections = new AtomicInteger();
    private final AtomicInteger closed = new AtomicInteger();
    private final ConcurrentLinkedQueue<Request> requests = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<Socket> sockets = new ConcurrentLinkedQueue<>();

    private RawUpstream(Script script) throws IOException {
        this.script = script;
        server = new ServerSocket(0, 128, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(this::acceptLoop);
    }

    /** Starts one on a free port. */
    public static RawUpstream start(Script script) throws IOException {
        return new RawUpstream(script);
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                sockets.add(s);
                int id = connections.incrementAndGet();
                Thread.ofVirtual().start(() -> serve(s, id));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket s, int connection) {
        try (s) {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            for (int n = 0; ; n++) {
                Request r = readRequest(in, connection);
                if (r == null) {
                    return;
                }
                requests.add(r);
                Reply reply = script.reply(r, n);
                if (reply == null) {
                    return;
                }
                out.write(reply.raw().getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                if (reply.closeAfter()) {
                    return;
                }
            }
        } catch (Exception e) {
            // connection ends
        } finally {
            closed.incrementAndGet();
        }
    }

    private static Request readRequest(InputStream in, int connection) throws IOException {
        String line = line(in);
        if (line == null) {
            return null;
        }
        StringBuilder headers = new StringBuilder();
        long length = 0;
        boolean chunked = false;
        String h;
        while ((h = line(in)) != null && !h.isEmpty()) {
            headers.append(h).append('\n');
            String lower = h.toLowerCase(Locale.ROOT);
            if (lower.startsWith("content-length:")) {
                length = Long.parseLong(h.substring(15).strip());
            } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
                chunked = true;
            }
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        if (chunked) {
            while (true) {
                int size = Integer.parseInt(line(in).split(";")[0].strip(), 16);
                if (size == 0) {
                    while (!line(in).isEmpty()) {
                        // trailers
                    }
                    break;
                }
                body.write(in.readNBytes(size));
                line(in);
            }
        } else {
            body.write(in.readNBytes((int) length));
        }
        return new Request(line, headers.toString(), body.toByteArray(), connection);
    }

    private static String line(InputStream in) throws IOException {
        return RawHttp.readLine(in);
    }

    /** @return base URL */
    public String url() {
        return "http://127.0.0.1:" + server.getLocalPort();
    }

    /** @return connections accepted so far */
    public int connections() {
        return connections.get();
    }

    /** @return connections that have ended (closed by either side) */
    public int closedConnections() {
        return closed.get();
    }

    /** @return requests received so far */
    public List<Request> requests() {
        return List.copyOf(requests);
    }

    /** Closes every open connection from the server side (as an idle timeout would). */
    public void dropConnections() throws IOException {
        Socket s;
        while ((s = sockets.poll()) != null) {
            s.close();
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        dropConnections();
    }
}
