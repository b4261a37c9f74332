package io.sluice.runtime.proxy;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.sluice.runtime.edge.EdgeConnections;
import io.sluice.runtime.observe.Telemetry;
import io.sluice.runtime.upstream.Switched;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.System.Logger.Level;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Relays a switched WebSocket connection: client to upstream on the request's thread, upstream to client on a
 * virtual thread of its own. Bytes pass unchanged (masked payloads stay masked); only frame headers are parsed,
 * to count frames, to refuse an unmasked client frame or a frame over {@code websocket_max_frame_bytes}, and so
 * that a frame header is never passed on in part. The first side to end ends both.
 */
final class WebSocketRelay {
    private static final System.Logger LOG = System.getLogger(WebSocketRelay.class.getName());
    private static final int BUFFER = 16 * 1024;
    /** The longest frame header: 2 bytes, 8 of length, 4 of mask. */
    private static final int MAX_HEADER = 14;

    private static final AtomicInteger OPEN = new AtomicInteger();

    static {
        Gauge.builder("sluice.websocket.connections", OPEN, AtomicInteger::get)
                .description("WebSocket connections being relayed").register(Telemetry.registry());
    }

    private final EdgeConnections.Tunnel client;
    private final Switched upstream;
    private final String route;
    private final int maxFrame;
    private final AtomicReference<String> reason = new AtomicReference<>();

    private WebSocketRelay(EdgeConnections.Tunnel client, Switched upstream, String route, int maxFrame) {
        this.client = client;
        this.upstream = upstream;
        this.route = route;
        this.maxFrame = maxFrame;
    }

    /**
     * Writes the 101 to the client, then relays until either side closes, the idle timeout closes the client's
     * connection, or a frame is refused; both connections are closed when it returns.
     *
     * @param client   the client connection, taken over
     * @param upstream the upstream connection that switched
     * @param head     the 101 for the client
     * @param route    route id (a metric tag)
     * @param maxFrame largest frame payload relayed
     * @return why it ended: {@code client_closed}, {@code upstream_closed}, {@code idle}, {@code frame_too_large},
     *         {@code unmasked_frame}
     */
    static String run(EdgeConnections.Tunnel client, Switched upstream, byte[] head, String route, int maxFrame) {
        WebSocketRelay relay = new WebSocketRelay(client, upstream, route, maxFrame);
        OPEN.incrementAndGet();
        try {
            try {
                client.write(head, 0, head.length);
            } catch (IOException e) {
                relay.end("client_closed");
                return relay.reason.get();
            }
            Thread back = Thread.ofVirtual().name("sluice-ws-upstream").start(relay::upstreamToClient);
            relay.clientToUpstream();
            try {
                back.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                relay.end("client_closed");
            }
            return relay.reason.get();
        } finally {
            OPEN.decrementAndGet();
            Counter.builder("sluice.websocket.closed").description("relayed WebSocket connections ended, by reason")
                    .tag("reason", relay.reason.get()).register(Telemetry.registry()).increment();
        }
    }

    /** The first reason wins; both connections are closed, which ends the other direction's read. */
    private void end(String why) {
        // the watchdog closed the client's connection: whichever read or write noticed, it was the idle timeout
        String because = client.timedOut() ? "idle" : why;
        if (reason.compareAndSet(null, because)) {
            LOG.log(Level.DEBUG, () -> "WebSocket on route " + route + " ended: " + because);
        }
        upstream.close();
        client.close();
    }

    private void clientToUpstream() {
        OutputStream out = upstream.output();
        pump(true, frames("client_to_upstream"), (b, off, len) -> client.read(b, off, len),
                (b, off, len) -> out.write(b, off, len));
    }

    private void upstreamToClient() {
        pump(false, frames("upstream_to_client"), upstream::read, client::write);
    }

    private Counter frames(String direction) {
        return Counter.builder("sluice.websocket.frames").description("WebSocket frames relayed")
                .tag("route", route).tag("direction", direction).register(Telemetry.registry());
    }

    @FunctionalInterface
    private interface Read {
        int read(byte[] b, int off, int len) throws IOException;
    }

    @FunctionalInterface
    private interface Write {
        void write(byte[] b, int off, int len) throws IOException;
    }

    /**
     * Copies one direction. A read fills the buffer after the kept part of a frame header; everything up to the
     * last complete header (and the payload bytes that follow it) is written on, an incomplete header is kept.
     */
    private void pump(boolean fromClient, Counter frames, Read in, Write out) {
        String closed = fromClient ? "client_closed" : "upstream_closed";
        String otherClosed = fromClient ? "upstream_closed" : "client_closed";
        byte[] buf = new byte[BUFFER + MAX_HEADER];
        int kept = 0;
        long payloadLeft = 0;
        while (true) {
            int n;
            try {
                n = in.read(buf, kept, BUFFER);
            } catch (IOException e) {
                end(closed);
                return;
            }
            if (n < 0) {
                end(closed);
                return;
            }
            client.active();
            int end = kept + n;
            int pos = 0;
            int counted = 0;
            while (pos < end) {
                if (payloadLeft > 0) {
                    int skip = (int) Math.min(payloadLeft, end - pos);
                    pos += skip;
                    payloadLeft -= skip;
                    continue;
                }
                int avail = end - pos;
                if (avail < 2) {
                    break;
                }
                int b1 = buf[pos + 1] & 0xff;
                boolean masked = (b1 & 0x80) != 0;
                int len7 = b1 & 0x7f;
                int headerLength = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + (masked ? 4 : 0);
                if (avail < headerLength) {
                    break;
                }
                long length = len7;
                if (len7 == 126) {
                    length = (buf[pos + 2] & 0xffL) << 8 | buf[pos + 3] & 0xffL;
                } else if (len7 == 127) {
                    length = 0;
                    for (int i = 2; i < 10; i++) {
                        length = length << 8 | buf[pos + i] & 0xffL;
                    }
                }
                if (fromClient && !masked) {
                    flush(out, buf, pos, frames, counted, otherClosed);
                    end("unmasked_frame");   // RFC 6455 §5.1: a server must close on an unmasked client frame
                    return;
                }
                if (length < 0 || length > maxFrame) {
                    flush(out, buf, pos, frames, counted, otherClosed);
                    end("frame_too_large");
                    return;
                }
                counted++;
                pos += headerLength;
                payloadLeft = length;
            }
            if (!flush(out, buf, pos, frames, counted, otherClosed)) {
                return;
            }
            kept = end - pos;
            if (kept > 0) {
                System.arraycopy(buf, pos, buf, 0, kept);
            }
        }
    }

    /** Writes the first {@code length} bytes on; false (and the relay ended) when the other side is gone. */
    private boolean flush(Write out, byte[] buf, int length, Counter frames, int counted, String otherClosed) {
        if (counted > 0) {
            frames.increment(counted);
        }
        if (length == 0) {
            return true;
        }
        try {
            out.write(buf, 0, length);
            return true;
        } catch (IOException e) {
            end(otherClosed);
            return false;
        }
    }
}
