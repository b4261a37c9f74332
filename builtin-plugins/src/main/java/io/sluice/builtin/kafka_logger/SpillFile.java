package io.sluice.builtin.kafka_logger;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A bounded, append-only file of the records the producer could not deliver, read back in order once the broker
 * is there again and emptied when everything in it was delivered.
 *
 * <p>One line per record: key, TAB, value, LF. Neither part holds a TAB or an LF (request ids are
 * {@code [A-Za-z0-9._:-]}, and JSON escapes control characters), so a line is a record and a record is never
 * split. A last line without its LF (the process died in the middle of a write) is cut off when the file is
 * opened; a line that does not parse is skipped when read. Both are counted in {@link #takeLost()}.
 *
 * <p>Appends are serialized by a lock and write to the page cache; {@link #sync()} forces them to disk (the sender
 * calls it about once a second), so a process crash loses nothing that was appended and a power loss at most the
 * last second. The file is locked against a second process while open. Reading is for one thread only (the
 * sender): {@link #read} does not move the read position, {@link #commit} does, and {@link #clearIfDrained}
 * truncates the file once the position reached its end.
 */
final class SpillFile implements Closeable {
    /** The longest line accepted; also the most {@link #read} takes at once. */
    static final int MAX_LINE = 1 << 20;

    /**
     * One record read back.
     *
     * @param key   the Kafka key
     * @param value the Kafka value
     * @param end   file offset just past this line (what to {@link #commit} once it was delivered)
     */
    record Line(byte[] key, byte[] value, long end) {
    }

    private final Path path;
    private final long maxBytes;
    private final FileChannel channel;
    private final FileLock lock;
    private final ReentrantLock writes = new ReentrantLock();
    private final AtomicLong lost = new AtomicLong();
    private volatile long size;       // written under `writes`
    private volatile long readPosition;
    private volatile boolean dirty;

    private SpillFile(Path path, long maxBytes, FileChannel channel, FileLock lock, long size, long lost) {
        this.path = path;
        this.maxBytes = maxBytes;
        this.channel = channel;
        this.lock = lock;
        this.size = size;
        this.lost.set(lost);
    }

    /**
     * Opens (or creates) a spill file, cutting off a torn last line.
     *
     * @param path     the file; its directory is created if missing
     * @param maxBytes the most the file may hold
     * @return the open file, positioned to replay whatever an earlier process left in it
     * @throws IOException if it cannot be created, read, or is in use by another process
     */
    static SpillFile open(Path path, long maxBytes) throws IOException {
        Path parent = path.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        try {
            FileLock lock;
            try {
                lock = ch.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                throw new IOException("spill file " + path + " is in use by another process");
            }
            long size = ch.size();
            long complete = endOfLastLine(ch, size);
            long torn = 0;
            if (complete < size) {
                ch.truncate(complete);
                torn = 1;
            }
            return new SpillFile(path, maxBytes, ch, lock, complete, torn);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** Offset just past the last LF, scanning back from the end. */
    private static long endOfLastLine(FileChannel ch, long size) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(8192);
        long pos = size;
        while (pos > 0) {
            int n = (int) Math.min(buf.capacity(), pos);
            buf.clear().limit(n);
            readFully(ch, buf, pos - n);
            for (int i = n - 1; i >= 0; i--) {
                if (buf.get(i) == '\n') {
                    return pos - n + i + 1;
                }
            }
            pos -= n;
        }
        return 0;
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        long at = position;
        while (buf.hasRemaining()) {
            int r = ch.read(buf, at);
            if (r < 0) {
                break;
            }
            at += r;
        }
    }

    /**
     * Appends one record if it fits.
     *
     * @return false when the file is full (or the write failed): the caller counts the record as dropped
     */
    boolean append(byte[] key, byte[] value) {
        int length = key.length + 1 + value.length + 1;
        if (length > MAX_LINE) {
            return false;
        }
        ByteBuffer line = ByteBuffer.allocate(length);
        line.put(key).put((byte) '\t').put(value).put((byte) '\n').flip();
        writes.lock();
        try {
            long at = size;
            if (at + length > maxBytes) {
                return false;
            }
            try {
                while (line.hasRemaining()) {
                    at += channel.write(line, at);
                }
            } catch (IOException e) {
                try {
                    channel.truncate(size);   // no torn line left behind
                } catch (IOException ignored) {
                    // the next open cuts it off
                }
                return false;
            }
            size = at;
            dirty = true;
            return true;
        } finally {
            writes.unlock();
        }
    }

    /**
     * Reads records from the read position on, without moving it.
     *
     * @param maxRecords the most records to return
     * @return the next records, in order; empty when everything was read
     */
    List<Line> read(int maxRecords) throws IOException {
        long from = readPosition;
        long to = size;
        List<Line> out = new ArrayList<>();
        if (from >= to) {
            return out;
        }
        ByteBuffer buf = ByteBuffer.allocate((int) Math.min(MAX_LINE, to - from));
        readFully(channel, buf, from);
        byte[] bytes = buf.array();
        int n = buf.position();
        int start = 0;
        while (out.size() < maxRecords && start < n) {
            int lf = indexOf(bytes, (byte) '\n', start, n);
            if (lf < 0) {
                if (start == 0) {
                    // no LF in MAX_LINE bytes: not something append wrote; skip the block
                    lost.incrementAndGet();
                    readPosition = from + n;
                    return read(maxRecords);
                }
                break;
            }
            int tab = indexOf(bytes, (byte) '\t', start, lf);
            if (tab <= start || lf - tab < 3 || bytes[tab + 1] != '{' || bytes[lf - 1] != '}') {
                if (!out.isEmpty()) {
                    break;   // counted once, when it is first in line
                }
                lost.incrementAndGet();   // damaged line: cannot be delivered
                readPosition = from + lf + 1;
            } else {
                out.add(new Line(Arrays.copyOfRange(bytes, start, tab), Arrays.copyOfRange(bytes, tab + 1, lf),
                        from + lf + 1));
            }
            start = lf + 1;
        }
        return out;
    }

    private static int indexOf(byte[] b, byte c, int from, int to) {
        for (int i = from; i < to; i++) {
            if (b[i] == c) {
                return i;
            }
        }
        return -1;
    }

    /**
     * Moves the read position past delivered records.
     *
     * @param end a {@link Line#end()} returned by {@link #read}
     */
    void commit(long end) {
        if (end > readPosition) {
            readPosition = end;
        }
    }

    /**
     * Empties the file if everything in it was delivered.
     *
     * @return true if the file is now empty
     */
    boolean clearIfDrained() throws IOException {
        writes.lock();
        try {
            if (readPosition < size) {
                return false;
            }
            channel.truncate(0);
            channel.force(false);
            size = 0;
            readPosition = 0;
            dirty = false;
            return true;
        } finally {
            writes.unlock();
        }
    }

    /** Forces appended records to disk, if any were appended since the last call. */
    void sync() throws IOException {
        if (dirty) {
            dirty = false;
            channel.force(false);
        }
    }

    /** @return bytes in the file, delivered or not */
    long size() {
        return size;
    }

    /** @return bytes not yet delivered */
    long unread() {
        return size - readPosition;
    }

    /** @return records found damaged (torn or unparsable) since the last call */
    long takeLost() {
        return lost.getAndSet(0);
    }

    /** @return the file */
    Path path() {
        return path;
    }

    @Override
    public void close() throws IOException {
        writes.lock();
        try {
            if (channel.isOpen()) {
                if (dirty) {
                    channel.force(false);
                }
                lock.release();
                channel.close();
            }
        } finally {
            writes.unlock();
        }
    }
}
