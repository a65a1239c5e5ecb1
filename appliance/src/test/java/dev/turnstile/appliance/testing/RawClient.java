package dev.turnstile.appliance.testing;

import dev.turnstile.protocol.Codec;
import dev.turnstile.protocol.Envelope;
import dev.turnstile.protocol.Limits;
import dev.turnstile.protocol.Message;
import dev.turnstile.protocol.MessageType;
import dev.turnstile.protocol.Preamble;
import dev.turnstile.protocol.ProtocolException;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.HexFormat;
import java.util.UUID;

/**
 * A deliberately plain blocking protocol peer for tests: it sends exactly the bytes it is told,
 * good or bad, and reads whole frames with a timeout. Never used on an event loop.
 */
public final class RawClient implements AutoCloseable {
    public static final int TIMEOUT_MS = 5_000;

    private final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;
    private int nextId = 1;
    /** The negotiated protocol version (PROTOCOL.md 4.1): frames are encoded and decoded with it. */
    private int version = Preamble.VERSION_1;

    public RawClient(String host, int port) throws IOException {
        this(host, port, null, 0);
    }

    /**
     * Connects from {@code localAddress} (e.g. 127.0.0.2, to stand for another machine on loopback),
     * with a receive buffer of {@code receiveBuffer} bytes when above 0 (set before connecting, so the
     * window is small from the first byte).
     */
    public RawClient(String host, int port, String localAddress, int receiveBuffer) throws IOException {
        socket = new Socket();
        if (receiveBuffer > 0) {
            socket.setReceiveBufferSize(receiveBuffer);
        }
        if (localAddress != null) {
            socket.bind(new InetSocketAddress(localAddress, 0));
        }
        socket.connect(new InetSocketAddress(host, port), TIMEOUT_MS);
        socket.setSoTimeout(TIMEOUT_MS);
        socket.setTcpNoDelay(true);
        in = new DataInputStream(socket.getInputStream());
        out = socket.getOutputStream();
    }

    public static RawClient connect(int port) throws IOException {
        return new RawClient("127.0.0.1", port);
    }

    /** A connection from {@code localAddress} (another loopback address stands for another machine). */
    public static RawClient from(String localAddress, int port) throws IOException {
        return new RawClient("127.0.0.1", port, localAddress, 0);
    }

    /** Preamble + HELLO from {@code localAddress}; returns the client after its WELCOME. */
    public static RawClient session(String localAddress, int port, String clientId, String hwId, String token)
            throws Exception {
        RawClient c = from(localAddress, port);
        c.preamble();
        Envelope e = c.request(new Message.Hello(clientId, hwId, "1.0.0", token));
        if (!(e.message() instanceof Message.Welcome)) {
            c.close();
            throw new AssertionError("expected WELCOME, got " + e.message());
        }
        return c;
    }

    /** Preamble (protocol 1.0) + HELLO; returns the WELCOME. */
    public static RawClient session(int port, String clientId, String hwId) throws Exception {
        return session(port, clientId, hwId, Preamble.VERSION_1, "");
    }

    /** Preamble offering 1..{@code maxVersion} + HELLO with {@code token}; the server must select {@code maxVersion}. */
    public static RawClient session(int port, String clientId, String hwId, int maxVersion, String token)
            throws Exception {
        RawClient c = connect(port);
        c.preamble(maxVersion);
        Envelope e = c.request(new Message.Hello(clientId, hwId, "1.0.0", token));
        if (!(e.message() instanceof Message.Welcome)) {
            c.close();
            throw new AssertionError("expected WELCOME, got " + e.message());
        }
        return c;
    }

    public void preamble() throws IOException {
        preamble(Preamble.VERSION_1);
    }

    /** Offers versions 1..{@code maxVersion}; the server must select {@code maxVersion}, which this client then speaks. */
    public void preamble(int maxVersion) throws IOException {
        out.write(Preamble.client(Preamble.VERSION_1, maxVersion));
        byte[] answer = in.readNBytes(Preamble.LENGTH);
        if (answer.length != Preamble.LENGTH || Preamble.selectedVersion(answer, 0) != maxVersion) {
            throw new IOException("preamble refused: " + HexFormat.of().formatHex(answer));
        }
        version = maxVersion;
    }

    public int version() {
        return version;
    }

    public int nextId() {
        return nextId++;
    }

    public void send(int corr, Message m) throws IOException {
        out.write(Codec.encode(corr, m, version));
        out.flush();
    }

    public void sendRaw(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    public void sendHex(String hex) throws IOException {
        sendRaw(HexFormat.of().parseHex(hex));
    }

    /** Sends and reads frames until the one answering this request (notices are skipped). */
    public Envelope request(Message m) throws Exception {
        int id = nextId();
        send(id, m);
        while (true) {
            Envelope e = read();
            if (e.correlationId() == id) {
                return e;
            }
        }
    }

    public Envelope read() throws IOException, ProtocolException {
        int length = in.readInt();
        if (length < Limits.HEADER_AFTER_LENGTH || length > Limits.MAX_FRAME_LENGTH) {
            throw new IOException("bad length from server: " + length);
        }
        byte[] frame = new byte[4 + length];
        frame[0] = (byte) (length >>> 24);
        frame[1] = (byte) (length >>> 16);
        frame[2] = (byte) (length >>> 8);
        frame[3] = (byte) length;
        in.readFully(frame, 4, length);
        return Codec.decode(frame, MessageType.Sender.EITHER, version);
    }

    /** True when the server closed the connection (EOF) within the timeout. */
    public boolean closedByServer() {
        byte[] skipped = new byte[64 * 1024]; // what the server sent before closing (read in chunks: it may be megabytes)
        try {
            while (true) {
                if (in.read(skipped) < 0) {
                    return true;
                }
            }
        } catch (EOFException e) {
            return true;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true; // reset
        }
    }

    public Message.Checkout checkout(String product, long quantity) {
        return checkout(product, "", quantity, 0, 0);
    }

    public Message.Checkout reclaim(String product, UUID leaseId) {
        return reclaim(product, leaseId, null);
    }

    /**
     * A RECLAIM presenting {@code secret} (protocol 1.1; {@code null} = none: all zero in version 2, absent in
     * version 1).
     */
    public Message.Checkout reclaim(String product, UUID leaseId, byte[] secret) {
        return new Message.Checkout(product, "", 1, 1, Message.Checkout.FLAG_RECLAIM, 0, leaseId,
                version >= Preamble.VERSION_1_1 ? (secret == null ? new byte[Limits.RECLAIM_SECRET] : secret) : null);
    }

    /** A CHECKOUT (no RECLAIM) in this connection's version: version 2 carries a zero secret. */
    public Message.Checkout checkout(String product, String key, long quantity, int flags, long waitMs) {
        return new Message.Checkout(product, key, quantity, 1, flags, waitMs, Message.NO_LEASE,
                version >= Preamble.VERSION_1_1 ? new byte[Limits.RECLAIM_SECRET] : null);
    }

    /** A CHECKIN in this connection's version, presenting {@code secret} (null = none). */
    public Message.Checkin checkin(UUID leaseId, byte[] secret) {
        return new Message.Checkin(leaseId,
                version >= Preamble.VERSION_1_1 ? (secret == null ? new byte[Limits.RECLAIM_SECRET] : secret) : null);
    }

    public Socket socket() {
        return socket;
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing
        }
    }
}
