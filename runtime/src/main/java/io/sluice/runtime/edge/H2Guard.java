package io.sluice.runtime.edge;

import io.helidon.http.http2.Http2ErrorCode;
import io.helidon.http.http2.Http2Exception;

import java.util.concurrent.atomic.LongAdder;

/**
 * Reads an HTTP/2 connection's frame headers as the bytes arrive from the socket, before Helidon parses them, and
 * ends the connection (GOAWAY {@code ENHANCE_YOUR_CALM}, then close) on the two floods that cost a server work
 * without costing the client any:
 * <ul>
 *   <li><b>Rapid reset</b> (CVE-2023-44487): a client opening streams and cancelling them at once, so each
 *       HEADERS starts a request the client never waits for. More than {@value #MAX_RESETS} RST_STREAM frames from
 *       the client within {@value #RESET_WINDOW_MS} ms end the connection (a browser or gRPC client cancels a
 *       handful).</li>
 *   <li><b>CONTINUATION flood</b> (CVE-2024-27316): a header block that never ends, sent as endless (often empty)
 *       CONTINUATION frames, which the server buffers. More than {@value #MAX_CONTINUATIONS} CONTINUATION frames in
 *       one header block end the connection; the block's size is also capped by {@code SETTINGS_MAX_HEADER_LIST_SIZE}.
 *   </li>
 * </ul>
 * Work per byte is a counter decrement: payloads are skipped, only the 9-byte frame headers are read.
 */
final class H2Guard {
    /** Client RST_STREAM frames allowed per window. */
    static final int MAX_RESETS = 200;
    static final long RESET_WINDOW_MS = 10_000;
    /** CONTINUATION frames allowed in one header block (8 KiB of headers fit in one 16 KiB frame). */
    static final int MAX_CONTINUATIONS = 16;

    private static final int PREFACE_LENGTH = 24;
    private static final int HEADERS = 0x1;
    private static final int RST_STREAM = 0x3;
    private static final int CONTINUATION = 0x9;
    private static final int END_HEADERS = 0x4;

    private final Runnable prefaceDone;
    private final LongAdder floods;
    private int prefaceLeft = PREFACE_LENGTH;
    private final byte[] head = new byte[9];
    private int headLength;
    private long payloadLeft;
    private int continuations;
    private int resets;
    private long windowStart = System.nanoTime();

    /**
     * @param prefaceDone called once the 24-byte connection preface has arrived
     * @param floods      counts connections ended by this guard
     */
    H2Guard(Runnable prefaceDone, LongAdder floods) {
        this.prefaceDone = prefaceDone;
        this.floods = floods;
    }

    /**
     * Looks at bytes read from the client.
     *
     * @param bytes  the bytes
     * @param length how many of them were read
     * @throws Http2Exception {@code ENHANCE_YOUR_CALM} when the client floods
     */
    void accept(byte[] bytes, int length) {
        int i = 0;
        if (prefaceLeft > 0) {
            int k = Math.min(prefaceLeft, length);
            prefaceLeft -= k;
            i = k;
            if (prefaceLeft == 0) {
                prefaceDone.run();
            }
        }
        while (i < length) {
            if (payloadLeft > 0) {
                int k = (int) Math.min(payloadLeft, length - i);
                payloadLeft -= k;
                i += k;
                continue;
            }
            head[headLength++] = bytes[i++];
            if (headLength == head.length) {
                headLength = 0;
                frame();
            }
        }
    }

    private void frame() {
        payloadLeft = (head[0] & 0xffL) << 16 | (head[1] & 0xff) << 8 | head[2] & 0xff;
        int type = head[3] & 0xff;
        int flags = head[4] & 0xff;
        switch (type) {
            case HEADERS -> continuations = 0;
            case CONTINUATION -> {
                if (++continuations > MAX_CONTINUATIONS && (flags & END_HEADERS) == 0) {
                    flood("more than " + MAX_CONTINUATIONS + " CONTINUATION frames in one header block");
                }
            }
            case RST_STREAM -> {
                long now = System.nanoTime();
                if (now - windowStart > RESET_WINDOW_MS * 1_000_000L) {
                    windowStart = now;
                    resets = 0;
                }
                if (++resets > MAX_RESETS) {
                    flood("more than " + MAX_RESETS + " streams reset by the client within " + RESET_WINDOW_MS
                            + " ms");
                }
            }
            default -> {
                // other frames are Helidon's to check
            }
        }
    }

    private void flood(String why) {
        floods.increment();
        throw new Http2Exception(Http2ErrorCode.ENHANCE_YOUR_CALM, why);
    }
}
