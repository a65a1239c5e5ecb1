package dev.turnstile.appliance.store.impl;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The local append-only spill: where events go when Postgres is behind by more than the queue's
 * capacity, and where they come back from, oldest first, when it returns.
 *
 * <p>Segments are files {@code spill-NNNNNNNNNN.jsonl} (one {@link EventCodec} line per event) in the
 * spill directory, numbered in the order they were started, across restarts: a segment left by an
 * earlier run is older than anything this run writes and is replayed first. A segment is only
 * appended to; once it is being replayed, new events go to the next one; once it is fully written to
 * Postgres it is deleted. A crash in the middle of a replay replays the segment again, harmlessly,
 * since every row is keyed.
 *
 * <p>{@code parked.jsonl} beside them holds events Postgres refused for their content (a constraint
 * violation): never replayed automatically; each line says why.
 *
 * <p>Not thread-safe: owned by the writer, on its worker context (file I/O never runs on an event loop). The figures ({@link #bytes()}, {@link #events()})
 * are volatile so the status page can read them from anywhere.
 */
final class SpillStore {
    private static final Logger LOG = LoggerFactory.getLogger(SpillStore.class);
    private static final Pattern SEGMENT = Pattern.compile("spill-(\\d{10})\\.jsonl");
    static final String PARKED_FILE = "parked.jsonl";

    private final Path dir;
    /** Segments not yet fully replayed, oldest first. The last one may be the write segment. */
    private final Deque<Path> segments = new ArrayDeque<>();
    private long nextNumber = 1;

    private FileChannel writeChannel;
    private Path writeSegment;

    private BufferedReader reader;
    private Path readSegment;
    private long readLineNo;
    private boolean readExhausted;
    private long chunkBytes;
    private int chunkEvents;

    private volatile long bytes;
    private volatile long events;
    private volatile long parked;

    SpillStore(Path dir) {
        this.dir = dir;
    }

    /** Creates the directory and finds the segments an earlier run left. */
    void open() throws IOException {
        Files.createDirectories(dir);
        List<Path> found = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "spill-*.jsonl")) {
            for (Path p : ds) {
                if (SEGMENT.matcher(p.getFileName().toString()).matches()) {
                    found.add(p);
                }
            }
        }
        found.sort((a, b) -> a.getFileName().toString().compareTo(b.getFileName().toString()));
        long b = 0;
        long n = 0;
        for (Path p : found) {
            Matcher m = SEGMENT.matcher(p.getFileName().toString());
            m.matches();
            nextNumber = Math.max(nextNumber, Long.parseLong(m.group(1)) + 1);
            long size = Files.size(p);
            if (size == 0) {
                Files.deleteIfExists(p);
                continue;
            }
            b += size;
            n += countLines(p);
            segments.addLast(p);
        }
        bytes = b;
        events = n;
        Path parkedFile = dir.resolve(PARKED_FILE);
        if (Files.exists(parkedFile)) {
            parked = countLines(parkedFile);
        }
    }

    private static long countLines(Path p) throws IOException {
        long n = 0;
        try (BufferedReader r = Files.newBufferedReader(p, StandardCharsets.UTF_8)) {
            while (r.readLine() != null) {
                n++;
            }
        }
        return n;
    }

    Path dir() {
        return dir;
    }

    boolean hasData() {
        return !segments.isEmpty();
    }

    /** Bytes waiting in spill segments (not yet written to Postgres). */
    long bytes() {
        return bytes;
    }

    /** Events waiting in spill segments. */
    long events() {
        return events;
    }

    /** Lines in the parked file. */
    long parked() {
        return parked;
    }

    /** Appends {@code batch} (in order) to the write segment and forces it to disk. */
    void append(List<QueuedEvent> batch) throws IOException {
        if (batch.isEmpty()) {
            return;
        }
        if (writeChannel == null) {
            writeSegment = dir.resolve(String.format("spill-%010d.jsonl", nextNumber++));
            writeChannel = FileChannel.open(writeSegment, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                    StandardOpenOption.APPEND);
            segments.addLast(writeSegment);
        }
        StringBuilder sb = new StringBuilder(1 << 20);
        long len = 0;
        for (int i = 0; i < batch.size(); i++) {
            EventCodec.encodeSpilled(sb, batch.get(i));
            sb.append('\n');
            if (sb.length() >= (1 << 20) - 1024 || i == batch.size() - 1) {
                ByteBuffer buf = StandardCharsets.UTF_8.encode(java.nio.CharBuffer.wrap(sb));
                len += buf.remaining();
                while (buf.hasRemaining()) {
                    writeChannel.write(buf);
                }
                sb.setLength(0);
            }
        }
        writeChannel.force(false);
        bytes += len;
        events += batch.size();
    }

    /**
     * Reads up to {@code max} events from the oldest segment, for one batch. Call
     * {@link #commitChunk()} once they are written; until then the same events must be retried
     * (the caller keeps them). Lines that do not decode are parked with their place.
     */
    List<QueuedEvent> readChunk(int max) throws IOException {
        List<QueuedEvent> out = new ArrayList<>(Math.min(max, 4096));
        chunkBytes = 0;
        chunkEvents = 0;
        while (out.size() < max) {
            if (reader == null) {
                Path oldest = segments.peekFirst();
                if (oldest == null) {
                    break;
                }
                if (oldest.equals(writeSegment)) {
                    closeWriter(); // new events go to a new segment from now on
                }
                reader = Files.newBufferedReader(oldest, StandardCharsets.UTF_8);
                readSegment = oldest;
                readLineNo = 0;
                readExhausted = false;
            }
            if (readExhausted) {
                break; // the caller commits this chunk first, which deletes the segment
            }
            String line = reader.readLine();
            if (line == null) {
                readExhausted = true;
                break;
            }
            readLineNo++;
            chunkBytes += line.getBytes(StandardCharsets.UTF_8).length + 1L;
            chunkEvents++;
            if (line.isBlank()) {
                continue;
            }
            try {
                out.add(EventCodec.decode(line));
            } catch (IllegalArgumentException e) {
                LOG.error("spill file {} line {} does not decode ({}); parked in {}", readSegment.getFileName(),
                        readLineNo, e.getMessage(), dir.resolve(PARKED_FILE));
                parkRaw(line, "undecodable line " + readLineNo + " of " + readSegment.getFileName());
            }
        }
        if (reader != null && !readExhausted) {
            reader.mark(1); // at the end already? then committing this chunk deletes the segment at once
            if (reader.read() < 0) {
                readExhausted = true;
            } else {
                reader.reset();
            }
        }
        return out;
    }

    /** Lines in the chunk last read (events plus any undecodable lines). */
    long chunkLines() {
        return chunkEvents;
    }

    /** The chunk from {@link #readChunk} is written: forget it, and delete its segment when exhausted. */
    void commitChunk() throws IOException {
        bytes = Math.max(0, bytes - chunkBytes);
        events = Math.max(0, events - chunkEvents);
        chunkBytes = 0;
        chunkEvents = 0;
        if (reader != null && readExhausted) {
            reader.close();
            reader = null;
            segments.remove(readSegment);
            Files.deleteIfExists(readSegment);
            readSegment = null;
            readExhausted = false;
            if (segments.isEmpty()) {
                bytes = 0;
                events = 0;
            }
        }
    }

    /** Appends one refused event to {@code parked.jsonl} with the reason. */
    void park(QueuedEvent q, String why) throws IOException {
        parkRaw(EventCodec.encode(q), why);
    }

    private void parkRaw(String encoded, String why) throws IOException {
        String line = "{\"parkedAt\":\"" + Instant.now() + "\",\"why\":" + io.vertx.core.json.Json.encode(why)
                + ",\"event\":" + (encoded.startsWith("{") ? encoded : io.vertx.core.json.Json.encode(encoded)) + "}\n";
        Files.writeString(dir.resolve(PARKED_FILE), line, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        parked++;
    }

    private void closeWriter() throws IOException {
        if (writeChannel != null) {
            writeChannel.close();
            writeChannel = null;
            writeSegment = null;
        }
    }

    void close() {
        try {
            closeWriter();
            if (reader != null) {
                reader.close();
                reader = null;
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
