package dev.turnstile.harness.common;

import dev.turnstile.protocol.Limits;
import io.vertx.core.buffer.Buffer;
import java.util.function.Consumer;

/**
 * Cuts a stream of Vert.x buffers into whole frames (length prefix included). Nothing is handed
 * on until a frame is complete; a length prefix outside 6..65536 makes {@link #feed} return false
 * (the stream cannot be resynchronised). One per connection, used on its event loop only.
 */
public final class FrameSplitter {
    private Buffer pending;

    /**
     * @return false when a length prefix is out of range; the connection should be closed
     */
    public boolean feed(Buffer data, Consumer<byte[]> sink) {
        Buffer buf;
        if (pending == null) {
            buf = data;
        } else {
            pending.appendBuffer(data);
            buf = pending;
        }
        int pos = 0;
        int len = buf.length();
        while (len - pos >= Limits.LENGTH_PREFIX) {
            long frameLength = buf.getUnsignedInt(pos);
            if (frameLength > Limits.MAX_FRAME_LENGTH || frameLength < Limits.HEADER_AFTER_LENGTH) {
                pending = null;
                return false;
            }
            int total = Limits.LENGTH_PREFIX + (int) frameLength;
            if (len - pos < total) {
                break;
            }
            sink.accept(buf.getBytes(pos, pos + total));
            pos += total;
        }
        pending = pos == len ? null : buf.getBuffer(pos, len);
        return true;
    }

    /** Bytes held for a frame not yet complete. */
    public int pendingBytes() {
        return pending == null ? 0 : pending.length();
    }
}
