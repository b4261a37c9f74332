package io.sluice.runtime.observe;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.micrometer.core.instrument.FunctionCounter;

import java.io.BufferedOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * The access log: one line per proxied request, to stdout or a file, as JSON or in the combined log format.
 * The request path only builds an {@link Entry} and offers it to a bounded queue; it never waits. When the queue
 * is full the line is dropped and counted ({@code sluice_access_log_dropped_total}). One daemon thread formats and
 * writes: every {@value #DRAIN_EVERY_MS} ms it takes what is queued, and flushes when the queue runs empty. Every
 * value is escaped, so no header, path or address can break a line or add one (docs: observability.md#access-log).
 */
public final class AccessLog implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(AccessLog.class.getName());
    /** Lines waiting to be written; beyond this, lines are dropped (a slow disk never slows requests). */
    public static final int DEFAULT_CAPACITY = 16_384;
    private static final long WARN_EVERY_MS = 60_000;
    /** How often the writer looks for lines: a line reaches its file at most this much later (plus the write). */
    static final long DRAIN_EVERY_MS = 10;
    private static final JsonFactory JSON = new JsonFactory();
    private static final DateTimeFormatter CLF_TIME =
            DateTimeFormatter.ofPattern("dd/MMM/yyyy:HH:mm:ss Z", Locale.ROOT).withZone(ZoneId.systemDefault());

    /** No access log. */
    public static final AccessLog OFF = new AccessLog();

    /** How a line is written. */
    public enum Format {
        /** One JSON object per line. */
        JSON,
        /** The NCSA combined log format, as Apache httpd and nginx write it. */
        COMBINED
    }

    /**
     * One request, as the request path saw it. Strings may be null (unknown).
     *
     * @param epochMillis when the request arrived
     * @param client      the client's address (the real one behind trusted proxies)
     * @param method      request method
     * @param target      the request target as received (path and query)
     * @param protocol    e.g. {@code HTTP/1.1}
     * @param status      response status, 0 when none was sent
     * @param bytes       bytes written to the client for this response (status line, headers and body)
     * @param referer     the Referer header
     * @param userAgent   the User-Agent header
     * @param nanos       time from the request head to the end of the response
     * @param route       the matched route's id
     * @param requestId   the X-Request-Id sent upstream and back
     * @param consumer    the authenticated consumer's id
     * @param upstream    the upstream target that answered
     * @param error       Sluice's error code when the gateway answered with an error
     */
    public record Entry(long epochMillis, String client, String method, String target, String protocol, int status,
                        long bytes, String referer, String userAgent, long nanos, String route, String requestId,
                        String consumer, String upstream, String error) {
    }

    private final Format format;
    private final ArrayBlockingQueue<Entry> queue;
    private final OutputStream out;
    private final boolean closeOut;
    private final String where;
    private final LongAdder dropped = new LongAdder();
    private final LongAdder written = new LongAdder();
    private final Thread writer;
    private volatile boolean closed;

    private AccessLog() {
        this.format = Format.COMBINED;
        this.queue = null;
        this.out = null;
        this.closeOut = false;
        this.where = "off";
        this.writer = null;
    }

    private AccessLog(Format format, OutputStream out, boolean closeOut, String where, int capacity) {
        this.format = format;
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.out = out;
        this.closeOut = closeOut;
        this.where = where;
        this.writer = Thread.ofPlatform().daemon().name("sluice-access-log").unstarted(this::drain);
        this.writer.start();
    }

    /**
     * An access log to any stream (tests; {@link #stdout} and {@link #file} for the command line).
     *
     * @param format   line format
     * @param out      where lines go
     * @param closeOut whether {@link #close} closes {@code out}
     * @param where    what {@code out} is, for messages
     * @param capacity lines that may wait to be written
     * @return a running access log
     */
    public static AccessLog create(Format format, OutputStream out, boolean closeOut, String where, int capacity) {
        AccessLog log = new AccessLog(format, out, closeOut, where, capacity);
        FunctionCounter.builder("sluice.access_log.dropped", log, AccessLog::dropped)
                .description("access log lines dropped because the queue was full or the write failed")
                .register(Telemetry.registry());
        return log;
    }

    /**
     * @param format line format
     * @return an access log to the process's standard output
     */
    public static AccessLog stdout(Format format) {
        return create(format, new FileOutputStream(FileDescriptor.out), false, "stdout", DEFAULT_CAPACITY);
    }

    /**
     * @param format line format
     * @param file   appended to (created if missing)
     * @return an access log to {@code file}
     * @throws IOException when it cannot be opened
     */
    public static AccessLog file(Format format, Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        OutputStream o = Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND,
                StandardOpenOption.WRITE);
        return create(format, o, true, file.toString(), DEFAULT_CAPACITY);
    }

    /**
     * @return whether lines are written at all (skip building entries when not)
     */
    public boolean on() {
        return queue != null;
    }

    /**
     * Queues one line; never blocks. Dropped and counted when the queue is full.
     *
     * @param entry the request
     */
    public void log(Entry entry) {
        if (queue != null && (closed || !queue.offer(entry))) {
            dropped.increment();
        }
    }

    /**
     * @return lines dropped so far (queue full, log closed or write failed)
     */
    public long dropped() {
        return dropped.sum();
    }

    /**
     * @return lines written so far
     */
    public long written() {
        return written.sum();
    }

    private void drain() {
        List<Entry> batch = new ArrayList<>(256);
        Lines buf = new Lines(64 * 1024);
        long warned = 0;
        long lastDropped = 0;
        boolean failing = false;
        OutputStream o = new BufferedOutputStream(out, 64 * 1024);
        boolean unflushed = false;
        try {
            while (true) {
                // The writer polls on a timer rather than waiting on the queue: a waiting consumer makes every
                // offer() wake it (a futex call and a context switch per request, about 30% of a loaded core's
                // time on one core). Asleep, it costs the request path only the queue's uncontended lock.
                queue.drainTo(batch, 4096);
                if (batch.isEmpty()) {
                    if (unflushed) {
                        try {
                            o.flush();
                        } catch (IOException ex) {
                            failing = writeFailed(ex, failing);
                        }
                        unflushed = false;
                    }
                    if (closed && queue.isEmpty()) {
                        break;
                    }
                    Thread.sleep(DRAIN_EVERY_MS);
                    continue;
                }
                for (Entry e : batch) {
                    format(e, buf);
                }
                try {
                    buf.writeTo(o);
                    unflushed = true;
                    written.add(batch.size());
                    failing = false;
                } catch (IOException ex) {
                    dropped.add(batch.size());
                    failing = writeFailed(ex, failing);
                }
                buf.reset();
                batch.clear();
                long d = dropped.sum();
                long now = System.currentTimeMillis();
                if (d != lastDropped && now - warned >= WARN_EVERY_MS) {
                    LOG.log(System.Logger.Level.WARNING, "access log: " + (d - lastDropped) + " lines dropped"
                            + " (queue full or write failed); " + d + " in all (sluice_access_log_dropped_total)");
                    warned = now;
                    lastDropped = d;
                }
            }
            o.flush();
            if (closeOut) {
                o.close();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "access log: closing " + where + " failed: " + e);
        }
    }

    /** Warns once per run of failed writes. @return that writes are failing */
    private boolean writeFailed(IOException ex, boolean failing) {
        if (!failing) {
            LOG.log(System.Logger.Level.WARNING, "access log: cannot write to " + where + ": " + ex);
        }
        return true;
    }

    /** Stops taking lines, writes what is queued, and closes a file. */
    @Override
    public void close() {
        if (writer == null || closed) {
            return;
        }
        closed = true;
        try {
            writer.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    void format(Entry e, Lines buf) {
        if (format == Format.JSON) {
            json(e, buf);
        } else {
            combined(e, buf);
        }
        buf.write('\n');
    }

    /**
     * One line without its newline (tests).
     *
     * @param e the request
     * @return the line
     */
    public String line(Entry e) {
        Lines buf = new Lines(256);
        format(e, buf);
        return buf.text().stripTrailing();
    }

    /** One second's timestamps, formatted once: lines come thousands per second (formatting each was 1% of a core). */
    private record Stamp(long second, String clf, String isoSecond) {
        /** @return e.g. {@code 2026-12-01T05:50:14.123Z} */
        String iso(long epochMillis) {
            int ms = (int) Math.floorMod(epochMillis, 1000L);
            return isoSecond + (char) ('0' + ms / 100) + (char) ('0' + ms / 10 % 10) + (char) ('0' + ms % 10) + 'Z';
        }
    }

    private Stamp stamp = new Stamp(Long.MIN_VALUE, "", "");

    private Stamp time(long epochMillis) {
        long second = Math.floorDiv(epochMillis, 1000L);
        Stamp s = stamp;   // immutable: a racing caller (line(), in tests) at worst formats it again
        if (s.second != second) {
            Instant at = Instant.ofEpochSecond(second);
            String iso = DateTimeFormatter.ISO_INSTANT.format(at);   // ...:14Z, no fraction at a whole second
            s = new Stamp(second, CLF_TIME.format(at), iso.substring(0, iso.length() - 1) + ".");
            stamp = s;
        }
        return s;
    }

    private void json(Entry e, Lines buf) {
        // Jackson escapes quotes, backslashes and every control character: a value cannot end the line
        try (JsonGenerator g = JSON.createGenerator(buf)) {
            g.writeStartObject();
            g.writeStringField("time", time(e.epochMillis()).iso(e.epochMillis()));
            g.writeStringField("client", e.client());
            g.writeStringField("method", e.method());
            g.writeStringField("target", e.target());
            g.writeStringField("protocol", e.protocol());
            g.writeNumberField("status", e.status());
            g.writeNumberField("bytes", Math.max(e.bytes(), 0));
            g.writeNumberField("duration_ms", Math.round(e.nanos() / 1_000.0) / 1_000.0);
            g.writeStringField("route", e.route());
            g.writeStringField("request_id", e.requestId());
            g.writeStringField("consumer", e.consumer());
            g.writeStringField("upstream", e.upstream());
            g.writeStringField("error", e.error());
            g.writeStringField("referer", e.referer());
            g.writeStringField("user_agent", e.userAgent());
            g.writeEndObject();
        } catch (IOException ex) {
            throw new java.io.UncheckedIOException(ex);   // not with a byte array
        }
    }

    /** {@code %h - %u [%t] "%r" %>s %b "%{Referer}i" "%{User-Agent}i"}; %u is the consumer. */
    private void combined(Entry e, Lines buf) {
        clf(buf, e.client());
        buf.write(' ');
        buf.write('-');
        buf.write(' ');
        clf(buf, e.consumer());
        ascii(buf, " [" + time(e.epochMillis()).clf() + "] \"");
        escaped(buf, e.method() == null ? "-" : e.method());
        buf.write(' ');
        escaped(buf, e.target() == null ? "-" : e.target());
        buf.write(' ');
        escaped(buf, e.protocol() == null ? "-" : e.protocol());
        ascii(buf, "\" " + e.status() + " " + (e.bytes() > 0 ? Long.toString(e.bytes()) : "-") + " \"");
        escaped(buf, e.referer() == null || e.referer().isEmpty() ? "-" : e.referer());
        ascii(buf, "\" \"");
        escaped(buf, e.userAgent() == null || e.userAgent().isEmpty() ? "-" : e.userAgent());
        buf.write('"');
    }

    /** A bare field: "-" when unknown; escaped, and a space would split the field, so it is escaped too. */
    private static void clf(Lines buf, String v) {
        if (v == null || v.isEmpty()) {
            buf.write('-');
            return;
        }
        byte[] b = v.getBytes(StandardCharsets.UTF_8);
        for (byte x : b) {
            if (x == ' ') {
                hex(buf, x);
            } else {
                escape(buf, x);
            }
        }
    }

    /** nginx's escaping: {@code "} and {@code \} with a backslash, anything not printable ASCII as {@code \xHH}. */
    private static void escaped(Lines buf, String v) {
        for (byte x : v.getBytes(StandardCharsets.UTF_8)) {
            escape(buf, x);
        }
    }

    private static void escape(Lines buf, byte x) {
        if (x == '"' || x == '\\') {
            buf.write('\\');
            buf.write(x);
        } else if (x < 0x20 || x >= 0x7f) {   // bytes are signed: >= 0x80 is negative
            hex(buf, x);
        } else {
            buf.write(x);
        }
    }

    private static void hex(Lines buf, byte x) {
        String h = "0123456789ABCDEF";
        buf.write('\\');
        buf.write('x');
        buf.write(h.charAt((x >> 4) & 0xF));
        buf.write(h.charAt(x & 0xF));
    }

    private static void ascii(Lines buf, String s) {
        buf.writeBytes(s.getBytes(StandardCharsets.US_ASCII));
    }

    /**
     * The writer's line buffer: a byte array that grows, without {@link java.io.ByteArrayOutputStream}'s lock on every
     * byte (the combined format writes most bytes one at a time; only the writer thread uses it).
     */
    static final class Lines extends OutputStream {
        private byte[] bytes;
        private int count;

        Lines(int capacity) {
            bytes = new byte[capacity];
        }

        private void ensure(int more) {
            if (count + more > bytes.length) {
                bytes = java.util.Arrays.copyOf(bytes, Math.max(bytes.length * 2, count + more));
            }
        }

        @Override
        public void write(int b) {
            ensure(1);
            bytes[count++] = (byte) b;
        }

        @Override
        public void write(byte[] b, int off, int len) {
            ensure(len);
            System.arraycopy(b, off, bytes, count, len);
            count += len;
        }

        void writeBytes(byte[] b) {
            write(b, 0, b.length);
        }

        void writeTo(OutputStream out) throws IOException {
            out.write(bytes, 0, count);
        }

        void reset() {
            count = 0;
        }

        String text() {
            return new String(bytes, 0, count, StandardCharsets.UTF_8);
        }
    }

    @Override
    public String toString() {
        return queue == null ? "off" : where + " (" + format.name().toLowerCase(Locale.ROOT) + ")";
    }
}
