package dev.turnstile.harness.conformance;

import dev.turnstile.protocol.Codec;
import dev.turnstile.protocol.Envelope;
import dev.turnstile.protocol.Limits;
import dev.turnstile.protocol.Message;
import dev.turnstile.protocol.MessageType;
import dev.turnstile.protocol.Preamble;
import dev.turnstile.protocol.ProtocolException;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * A plain blocking socket that speaks protocol v1 frame by frame, for scripted conversations.
 * Every read has a deadline, so no case can hang. Used only from the runner's own thread, never
 * from an event loop.
 */
final class BlockingConnection implements AutoCloseable {
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final long defaultTimeoutMs;
    private final List<Envelope> notices = new ArrayList<>();
    private boolean closed;
    private boolean greeted;

    private BlockingConnection(Socket socket, long defaultTimeoutMs) throws IOException {
        this.socket = socket;
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
        this.defaultTimeoutMs = defaultTimeoutMs;
    }

    static BlockingConnection open(String host, int port, long timeoutMs) throws CaseFailure {
        Socket s = new Socket();
        try {
            s.setTcpNoDelay(true);
            s.connect(new InetSocketAddress(host, port), (int) Math.min(Integer.MAX_VALUE, timeoutMs));
            return new BlockingConnection(s, timeoutMs);
        } catch (IOException e) {
            try {
                s.close();
            } catch (IOException ignored) {
                // nothing more to do
            }
            throw new CaseFailure("cannot connect to " + host + ":" + port + ": " + e.getMessage());
        }
    }

    // ------------------------------------------------------------------ writing

    void sendRaw(byte[] bytes) throws CaseFailure {
        try {
            out.write(bytes);
            out.flush();
        } catch (IOException e) {
            throw new CaseFailure("write failed (" + e.getMessage() + ")");
        }
    }

    void send(int correlationId, Message m) throws CaseFailure {
        sendRaw(Codec.encode(correlationId, m, version));
    }

    /** The negotiated protocol version (PROTOCOL.md 4.1): frames are encoded and decoded with it. */
    private int version = 1;
    /** The bytes of the last frame read (length prefix included), for byte-exact checks. */
    private byte[] lastFrame;

    void version(int v) {
        version = v;
    }

    int version() {
        return version;
    }

    byte[] lastFrame() {
        return lastFrame == null ? null : lastFrame.clone();
    }

    void sendPreamble(int min, int max) throws CaseFailure {
        sendRaw(Preamble.client(min, max));
    }

    // ------------------------------------------------------------------ reading

    /** Reads exactly {@code n} bytes; null on a clean end of stream before the first byte. */
    private byte[] readExactly(int n, long deadline, String what) throws CaseFailure {
        byte[] buf = new byte[n];
        int fill = 0;
        while (fill < n) {
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) {
                throw new CaseFailure("timed out waiting for " + what + " (" + fill + " of " + n + " bytes came)");
            }
            try {
                socket.setSoTimeout((int) Math.max(1, Math.min(Integer.MAX_VALUE, left)));
                int r = in.read(buf, fill, n - fill);
                if (r < 0) {
                    closed = true;
                    if (fill == 0) {
                        return null;
                    }
                    throw new CaseFailure("connection closed inside " + what + " (" + fill + " of " + n + " bytes came)");
                }
                fill += r;
            } catch (SocketTimeoutException e) {
                // loop re-checks the deadline
            } catch (IOException e) {
                if (fill == 0 && isReset(e)) {
                    closed = true;
                    return null;
                }
                throw new CaseFailure("read failed waiting for " + what + " (" + e.getMessage() + ")");
            }
        }
        return buf;
    }

    private static boolean isReset(IOException e) {
        return e instanceof SocketException || e instanceof EOFException;
    }

    /** Reads the server's 8-byte preamble answer; fails when the server closes first. */
    byte[] readPreamble() throws CaseFailure {
        byte[] b = readExactly(Preamble.LENGTH, System.currentTimeMillis() + defaultTimeoutMs, "the server preamble");
        if (b == null) {
            throw new CaseFailure("server closed the connection instead of answering the preamble");
        }
        return b;
    }

    /** Reads the next frame (notices included); fails when the connection closes. */
    Envelope readFrame(long timeoutMs, String what) throws CaseFailure {
        long deadline = System.currentTimeMillis() + timeoutMs;
        byte[] prefix = readExactly(Limits.LENGTH_PREFIX, deadline, what);
        if (prefix == null) {
            throw new CaseFailure("connection closed while waiting for " + what);
        }
        int length;
        try {
            length = Codec.checkLengthPrefix(prefix, 0);
        } catch (ProtocolException e) {
            throw new CaseFailure("server sent a bad length prefix while we waited for " + what + ": " + e.getMessage());
        }
        byte[] rest = readExactly(length, deadline, what);
        if (rest == null) {
            throw new CaseFailure("connection closed after a length prefix while waiting for " + what);
        }
        byte[] frame = new byte[Limits.LENGTH_PREFIX + length];
        System.arraycopy(prefix, 0, frame, 0, Limits.LENGTH_PREFIX);
        System.arraycopy(rest, 0, frame, Limits.LENGTH_PREFIX, length);
        lastFrame = frame;
        try {
            return Codec.decode(frame, dev.turnstile.protocol.MessageType.Sender.EITHER, version);
        } catch (ProtocolException e) {
            throw new CaseFailure("server sent a frame our decoder refuses (" + e.getMessage() + "): "
                    + HexFormat.of().formatHex(frame, 0, Math.min(frame.length, 64)));
        }
    }

    /** Reads the next frame that is not a NOTICE push (those are kept aside). */
    Envelope read(String what) throws CaseFailure {
        return read(defaultTimeoutMs, what);
    }

    Envelope read(long timeoutMs, String what) throws CaseFailure {
        long deadline = System.currentTimeMillis() + timeoutMs;
        for (int i = 0; i < 1000; i++) {
            Envelope e = readFrame(Math.max(1, deadline - System.currentTimeMillis()), what);
            if (e.message().type() == MessageType.NOTICE && e.correlationId() == 0) {
                notices.add(e);
                continue;
            }
            return e;
        }
        throw new CaseFailure("more than 1000 NOTICE frames while waiting for " + what);
    }

    /**
     * Waits for the server to close. Returns normally on end of stream or reset; fails when bytes
     * arrive (reporting them) or when the connection stays open past the timeout.
     */
    void expectClosedWithoutBytes(long timeoutMs, String why) throws CaseFailure {
        long deadline = System.currentTimeMillis() + timeoutMs;
        byte[] one = new byte[256];
        while (true) {
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) {
                throw new CaseFailure("connection still open " + timeoutMs + " ms after " + why);
            }
            try {
                socket.setSoTimeout((int) Math.max(1, left));
                int r = in.read(one);
                if (r < 0) {
                    closed = true;
                    return;
                }
                throw new CaseFailure("expected the connection to close after " + why + " but " + r
                        + " byte(s) came: " + HexFormat.of().formatHex(one, 0, Math.min(r, 32)));
            } catch (SocketTimeoutException e) {
                // re-check the deadline
            } catch (IOException e) {
                closed = true;
                return; // reset: closed
            }
        }
    }

    /** Waits for the server to close, skipping notices; fails when another frame arrives or it stays open. */
    void expectClosed(long timeoutMs, String why) throws CaseFailure {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (true) {
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) {
                throw new CaseFailure("connection still open " + timeoutMs + " ms after " + why);
            }
            byte[] prefix = readExactly(Limits.LENGTH_PREFIX, deadline, "the close after " + why);
            if (prefix == null) {
                return;
            }
            int length;
            try {
                length = Codec.checkLengthPrefix(prefix, 0);
            } catch (ProtocolException e) {
                throw new CaseFailure("expected a close after " + why + " but got bytes " + HexFormat.of().formatHex(prefix));
            }
            byte[] rest = readExactly(length, deadline, "a frame");
            if (rest == null) {
                throw new CaseFailure("connection closed inside a frame after " + why);
            }
            if (rest.length > 0 && rest[0] == (byte) MessageType.NOTICE.code()) {
                continue;
            }
            throw new CaseFailure("expected the connection to close after " + why + " but got another frame of type 0x"
                    + (rest.length > 0 ? String.format("%02X", rest[0] & 0xFF) : "??"));
        }
    }

    /** Reads and drops whatever comes until the server closes or the timeout passes; true when it closed. */
    boolean drainUntilClosed(long timeoutMs) {
        long deadline = System.currentTimeMillis() + timeoutMs;
        byte[] buf = new byte[4096];
        while (true) {
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) {
                return false;
            }
            try {
                socket.setSoTimeout((int) Math.max(1, left));
                if (in.read(buf) < 0) {
                    closed = true;
                    return true;
                }
            } catch (SocketTimeoutException e) {
                // re-check the deadline
            } catch (IOException e) {
                closed = true;
                return true;
            }
        }
    }

    /** True once we saw the server close or closed the socket ourselves. */
    boolean isClosed() {
        return closed || socket.isClosed();
    }

    /** True once HELLO was answered by WELCOME on this connection. */
    boolean greeted() {
        return greeted;
    }

    void markGreeted() {
        greeted = true;
    }

    List<Envelope> notices() {
        return notices;
    }

    /** Abortive close: RST, the way a killed process's socket ends. */
    void kill() {
        try {
            socket.setSoLinger(true, 0);
        } catch (IOException ignored) {
            // closing anyway
        }
        close();
    }

    @Override
    public void close() {
        closed = true;
        try {
            socket.close();
        } catch (IOException ignored) {
            // nothing more to do
        }
    }
}
