package io.sluice.runtime.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A raw-socket HTTP/1.1 client for tests that must send exactly the bytes they mean (hop-by-hop headers,
 * smuggling probes) and see exactly what comes back, including whether the connection was closed.
 */
public final class RawHttp implements AutoCloseable {
    /** A parsed response. */
    public record Response(int status, List<String[]> headers, byte[] body, boolean closedAfter) {
        /** First value of a header, or null. */
        public String header(String name) {
            for (String[] h : headers) {
                if (h[0].equalsIgnoreCase(name)) {
                    return h[1];
                }
            }
            return null;
        }

        /** All values of a header. */
        public List<String> headers(String name) {
            List<String> out = new ArrayList<>();
            for (String[] h : headers) {
                if (h[0].equalsIgnoreCase(name)) {
                    out.add(h[1]);
                }
            }
            return out;
        }

        /** Body text. */
        public String text() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    private final Socket socket;
    private final InputStream in;

    /**
     * Connects to 127.0.0.1.
     *
     * @param port port
     */
    public RawHttp(int port) throws IOException {
        socket = new Socket("127.0.0.1", port);
        socket.setSoTimeout(10_000);
        in = socket.getInputStream();
    }

    /** Sends one request and reads one response. */
    public static Response exchange(int port, String raw) throws IOException {
        try (RawHttp c = new RawHttp(port)) {
            return c.send(raw);
        }
    }

    /**
     * Sends raw text (ISO-8859-1) and reads one response.
     *
     * @param raw the request bytes as text
     * @return the response
     */
    public Response send(String raw) throws IOException {
        socket.getOutputStream().write(raw.getBytes(StandardCharsets.ISO_8859_1));
        socket.getOutputStream().flush();
        return read(false);
    }

    /**
     * Sends raw text without reading.
     *
     * @param raw the request bytes as text
     */
    public void sendOnly(String raw) throws IOException {
        socket.getOutputStream().write(raw.getBytes(StandardCharsets.ISO_8859_1));
        socket.getOutputStream().flush();
    }

    /**
     * Reads one response.
     *
     * @param head true when the request was HEAD (no body follows)
     * @return the response
     */
    public Response read(boolean head) throws IOException {
        String status = line();
        if (status == null) {
            throw new IOException("connection closed before a response");
        }
        int code = Integer.parseInt(status.substring(9, 12));
        List<String[]> headers = new ArrayList<>();
        String l;
        long length = -1;
        boolean chunked = false;
        boolean close = false;
        while (!(l = line()).isEmpty()) {
            int c = l.indexOf(':');
            String n = l.substring(0, c);
            String v = l.substring(c + 1).strip();
            headers.add(new String[] {n, v});
            switch (n.toLowerCase(Locale.ROOT)) {
                case "content-length" -> length = Long.parseLong(v);
                case "transfer-encoding" -> chunked = v.equalsIgnoreCase("chunked");
                case "connection" -> close = v.equalsIgnoreCase("close");
                default -> { }
            }
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        if (head || code == 204 || code == 304) {
            // no body
        } else if (chunked) {
            while (true) {
                int size = Integer.parseInt(line().split(";")[0].strip(), 16);
                if (size == 0) {
                    while (!line().isEmpty()) {
                        // trailers
                    }
                    break;
                }
                body.write(in.readNBytes(size));
                line();
            }
        } else if (length >= 0) {
            body.write(in.readNBytes((int) length));
        } else {
            body.write(in.readAllBytes());
            close = true;
        }
        return new Response(code, headers, body.toByteArray(), close && peerClosed());
    }

    /** Whether the server has closed the connection (reads EOF within a second). */
    public boolean peerClosed() throws IOException {
        int old = socket.getSoTimeout();
        try {
            socket.setSoTimeout(1000);
            return in.read() < 0;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        } finally {
            socket.setSoTimeout(old);
        }
    }

    private String line() throws IOException {
        return readLine(in);
    }

    /**
     * Reads a CRLF- or LF-terminated line.
     *
     * @param in the stream
     * @return the line without its terminator, or null at end of stream
     */
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

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
