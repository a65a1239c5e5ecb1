package dev.turnstile.protocol;

import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Cuts a byte stream into whole frames, in the manner of vertx-pg-client's decoder: nothing is
 * handed on until the whole frame is present, and an oversized length prefix is refused as soon
 * as its four bytes arrive, before any body is buffered (PROTOCOL.md section 3.2).
 *
 * <p>Memory held for a frame in progress grows with the bytes actually received, not with the
 * length the peer announced, so a peer that announces 64 KiB and sends nothing ties up a few
 * hundred bytes, not 64 KiB.
 *
 * <p>Not thread-safe: one per connection.
 */
public final class FrameAssembler {
    /** First buffer for a frame whose bytes arrive in pieces; doubled as bytes come in. */
    private static final int INITIAL_CAPACITY = 256;

    private final byte[] header = new byte[Limits.LENGTH_PREFIX];
    private int headerFill;
    /** The frame in progress (length prefix included), or null between frames. */
    private byte[] frame;
    private int frameFill;
    /** Size of the frame in progress: 4 + its length prefix. */
    private int frameTotal;
    private boolean failed;
    private boolean closed;

    /**
     * Feeds bytes; calls {@code sink} with each whole frame (length prefix included), in order.
     * If {@code sink} calls {@link #close()}, no further frame is delivered, not even one already
     * in {@code data}.
     *
     * @throws ProtocolException for an oversized or undersized length prefix; the assembler is then
     *     unusable (the connection must close)
     */
    public void feed(byte[] data, int off, int len, Consumer<byte[]> sink) throws ProtocolException {
        if (closed) {
            return;
        }
        if (failed) {
            throw new IllegalStateException("assembler already failed");
        }
        int i = off;
        int end = off + len;
        while (i < end && !closed) {
            if (frame == null) {
                int take = Math.min(Limits.LENGTH_PREFIX - headerFill, end - i);
                System.arraycopy(data, i, header, headerFill, take);
                headerFill += take;
                i += take;
                if (headerFill < Limits.LENGTH_PREFIX) {
                    break;
                }
                int length;
                try {
                    length = Codec.checkLengthPrefix(header, 0);
                } catch (ProtocolException e) {
                    failed = true;
                    throw e;
                }
                frameTotal = Limits.LENGTH_PREFIX + length;
                int available = end - i;
                // Whole body already here: one exact allocation. Otherwise start small and grow.
                int capacity = available >= length ? frameTotal
                        : Math.min(frameTotal, Math.max(INITIAL_CAPACITY, Limits.LENGTH_PREFIX + available));
                frame = new byte[capacity];
                System.arraycopy(header, 0, frame, 0, Limits.LENGTH_PREFIX);
                frameFill = Limits.LENGTH_PREFIX;
                headerFill = 0;
            }
            int take = Math.min(frameTotal - frameFill, end - i);
            if (frameFill + take > frame.length) {
                frame = Arrays.copyOf(frame, Math.min(frameTotal, Math.max(frame.length * 2, frameFill + take)));
            }
            System.arraycopy(data, i, frame, frameFill, take);
            frameFill += take;
            i += take;
            if (frameFill == frameTotal) {
                byte[] done = frame; // frame.length == frameTotal here: capacity never exceeds it
                frame = null;
                frameFill = 0;
                frameTotal = 0;
                sink.accept(done);
            }
        }
    }

    /**
     * Stops delivering frames: the rest of the bytes of the current {@link #feed} call and of every
     * later call are discarded. A connection calls this when it has decided to close, so that it
     * acts on nothing the peer sent after the offending frame.
     */
    public void close() {
        closed = true;
        frame = null;
        frameFill = 0;
        frameTotal = 0;
        headerFill = 0;
    }

    /** True once {@link #close()} was called. */
    public boolean isClosed() {
        return closed;
    }

    /** Bytes held for a frame not yet complete. */
    public int pendingBytes() {
        return frame == null ? headerFill : frameFill;
    }

    /** Bytes of buffer currently allocated for the frame in progress (for tests and metrics). */
    public int bufferedCapacity() {
        return frame == null ? 0 : frame.length;
    }
}
