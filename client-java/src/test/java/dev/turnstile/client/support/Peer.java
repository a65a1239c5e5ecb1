package dev.turnstile.client.support;

import dev.turnstile.protocol.Codec;
import dev.turnstile.protocol.Envelope;
import dev.turnstile.protocol.FrameAssembler;
import dev.turnstile.protocol.Message;
import dev.turnstile.protocol.Preamble;
import dev.turnstile.protocol.ProtocolException;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayDeque;
import java.util.List;

/**
 * The server end of one loopback connection in a test: reads and writes frames with the real
 * codec. Every read gives up after {@link #READ_TIMEOUT_MS} so that no test can hang.
 */
public final class Peer implements AutoCloseable {
    public static final int READ_TIMEOUT_MS = 10_000;

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final FrameAssembler assembler = new FrameAssembler();
    private final ArrayDeque<byte[]> frames = new ArrayDeque<>();
    private final byte[] buf = new byte[8192];
    /** The protocol version frames are read and written in: what the last preamble sent selected. */
    private volatile int version = Preamble.VERSION_1;
    /** The raw bytes (length prefix included) of the last frame {@link #read()} returned. */
    private volatile byte[] lastFrame;

    public Peer(Socket socket) throws IOException {
        this.socket = socket;
        socket.setSoTimeout(READ_TIMEOUT_MS);
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
    }

    /** Reads the client's 8-byte preamble. */
    public byte[] readPreamble() throws IOException {
        byte[] b = new byte[Preamble.LENGTH];
        int n = 0;
        while (n < b.length) {
            int r = in.read(b, n, b.length - n);
            if (r < 0) {
                throw new EOFException("client closed during the preamble");
            }
            n += r;
        }
        return b;
    }

    /** Sends the server preamble selecting {@code version}; frames are read and written in it from now on. */
    public void sendPreamble(int version) throws IOException {
        sendRaw(Preamble.server(version));
        if (version != Preamble.NO_COMMON_VERSION) {
            this.version = version;
        }
    }

    /** The negotiated version (1 = protocol 1.0, 2 = 1.1). */
    public int version() {
        return version;
    }

    /** Bytes the client sent that nobody has read yet (what the client sent ahead of an answer). */
    public int available() throws IOException {
        return in.available() + assembler.pendingBytes() + frames.size();
    }

    /** The raw bytes of the last frame read, length prefix included. */
    public byte[] lastFrame() {
        return lastFrame;
    }

    /**
     * Answers the preamble as a server of protocol 1.1 would (versions 1..2), reads HELLO and
     * answers it with {@code welcome}.
     *
     * @return the HELLO envelope
     */
    public Envelope handshake(Message.Welcome welcome) throws IOException, ProtocolException {
        return handshake(welcome, Preamble.VERSION_1_1);
    }

    /** As {@link #handshake(Message.Welcome)} for a server that speaks versions 1..{@code serverMax}. */
    public Envelope handshake(Message.Welcome welcome, int serverMax) throws IOException, ProtocolException {
        byte[] pre = readPreamble();
        sendPreamble(Preamble.negotiate(Preamble.minVersion(pre, 0), Math.min(Preamble.maxVersion(pre, 0), serverMax)));
        Envelope hello = read();
        if (hello == null || !(hello.message() instanceof Message.Hello)) {
            throw new IOException("expected HELLO, got " + hello);
        }
        send(hello.correlationId(), welcome);
        return hello;
    }

    /** The next frame, or null when the client closed the connection (or after the read timeout). */
    public Envelope read() throws IOException, ProtocolException {
        while (frames.isEmpty()) {
            int n;
            try {
                n = in.read(buf);
            } catch (SocketTimeoutException | java.net.SocketException e) {
                return null;
            }
            if (n < 0) {
                return null;
            }
            assembler.feed(buf, 0, n, frames::add);
        }
        byte[] frame = frames.poll();
        lastFrame = frame;
        return Codec.decode(frame, dev.turnstile.protocol.MessageType.Sender.EITHER, version);
    }

    public synchronized void send(int correlationId, Message m) throws IOException {
        out.write(Codec.encode(correlationId, m, version));
        out.flush();
    }

    public synchronized void sendRaw(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // test teardown
        }
    }

    public static Message.Welcome welcome(String serverId, long heartbeatMs, long leaseTimeoutMs, List<String> peers) {
        return new Message.Welcome(serverId, heartbeatMs, leaseTimeoutMs, System.currentTimeMillis(), 0, 0, peers);
    }
}
