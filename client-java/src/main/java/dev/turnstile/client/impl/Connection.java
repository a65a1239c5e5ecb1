package dev.turnstile.client.impl;

import dev.turnstile.client.TurnstileException;
import dev.turnstile.protocol.Codec;
import dev.turnstile.protocol.Envelope;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.FrameAssembler;
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
import java.net.SocketTimeoutException;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One TCP (or TLS) connection to one server, after a successful preamble and HELLO/WELCOME.
 *
 * <p>Reading follows the appliance's decoder: bytes go through a {@link FrameAssembler}, so
 * nothing is decoded before its whole frame is present and an oversized length prefix is refused
 * as soon as it arrives. The reader thread decodes and hands every envelope to the {@link Sink};
 * it is also the watchdog: a connection that delivers no frame for {@code deadAfterMs} (the client
 * heartbeats, so a live server always has something to say) is closed and reported lost.
 *
 * <p><b>Thread-safety:</b> {@link #write} is synchronized; {@link #close} may be called from any
 * thread, any number of times; {@link #pending} belongs to the client thread.
 */
final class Connection {
    private static final Logger LOG = LoggerFactory.getLogger(Connection.class);

    /** Receives what the reader thread reads. Called on the reader thread. */
    interface Sink {
        void onEnvelope(Connection c, Envelope e);

        void onLost(Connection c, Throwable cause);
    }

    final ServerAddress address;
    /** Requests sent and not answered yet, by correlation id (client thread only). */
    final Map<Integer, TurnstileClientImpl.Pending> pending = new HashMap<>();

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final FrameAssembler assembler = new FrameAssembler();
    private final ArrayDeque<byte[]> frames = new ArrayDeque<>();
    private final byte[] buf = new byte[16 * 1024];
    private volatile Message.Welcome welcome;
    /** The protocol version the server selected (1 = 1.0, 2 = 1.1), fixed for the connection. */
    private volatile int version = Preamble.VERSION_1;
    private volatile boolean closed;
    private volatile long lastReceivedNanos = System.nanoTime();

    private Connection(ServerAddress address, Socket socket) throws IOException {
        this.address = address;
        this.socket = socket;
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
    }

    /** The negotiated protocol version: {@link Preamble#VERSION_1} or {@link Preamble#VERSION_1_1}. */
    int version() {
        return version;
    }

    /** Protocol 1.1 (version 2): GRANTED, CHECKOUT and CHECKIN carry the reclaim secret. */
    boolean speaks11() {
        return version >= Preamble.VERSION_1_1;
    }

    /** What the server said in WELCOME. */
    Message.Welcome welcome() {
        return welcome;
    }

    /**
     * Connects to {@code address}, exchanges the preamble and HELLO/WELCOME, all within the
     * connect timeout. Blocking; runs on the connector thread.
     *
     * @param onSocket receives the socket before it connects, so that {@code close()} of the
     *                 client can abort the attempt
     * @throws TurnstileException {@code CONNECTION} (I/O), {@code TIMEOUT}, {@code PROTOCOL} (not a
     *     Turnstile server, no common version, bad frame) or {@code REFUSED} (ERROR to HELLO, with
     *     its code)
     */
    static Connection open(ServerAddress address, ClientConfig cfg, int helloCorrelationId,
                           Consumer<Socket> onSocket) {
        long timeoutMs = cfg.connectTimeout().toMillis();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        Socket raw = new Socket();
        onSocket.accept(raw);
        Connection c = null;
        try {
            raw.setTcpNoDelay(true);
            raw.setKeepAlive(true);
            raw.connect(new InetSocketAddress(address.host(), address.port()), (int) timeoutMs);
            Socket s = raw;
            if (cfg.sslContext() != null) {
                SSLSocket ssl = (SSLSocket) cfg.sslContext().getSocketFactory()
                        .createSocket(raw, address.host(), address.port(), true);
                if (cfg.tlsHostnameVerification()) {
                    SSLParameters params = ssl.getSSLParameters();
                    params.setEndpointIdentificationAlgorithm("HTTPS");
                    ssl.setSSLParameters(params);
                }
                ssl.setSoTimeout(remaining(deadline));
                ssl.startHandshake();
                s = ssl;
            }
            c = new Connection(address, s);
            // Offers 1..2 (protocol 1.0 and 1.1), so it must wait for the server's choice before HELLO
            // (PROTOCOL.md section 4).
            c.out.write(Preamble.client(Preamble.MIN_SUPPORTED, Preamble.MAX_SUPPORTED));
            c.out.flush();

            byte[] pre = new byte[Preamble.LENGTH];
            c.readFully(pre, deadline);
            if (!Preamble.hasMagic(pre, 0)) {
                throw new TurnstileException(TurnstileException.Kind.PROTOCOL, address
                        + " is not a Turnstile server: its first bytes are not the TSTL preamble (PROTOCOL.md section 4)");
            }
            int version = Preamble.selectedVersion(pre, 0);
            if (version == Preamble.NO_COMMON_VERSION) {
                throw new TurnstileException(TurnstileException.Kind.PROTOCOL, address
                        + " speaks no protocol version in " + Preamble.MIN_SUPPORTED + ".." + Preamble.MAX_SUPPORTED);
            }
            if (version < Preamble.MIN_SUPPORTED || version > Preamble.MAX_SUPPORTED) {
                throw new TurnstileException(TurnstileException.Kind.PROTOCOL, address + " selected protocol version "
                        + version + ", which this client did not offer (PROTOCOL.md section 4)");
            }
            c.version = version;
            c.out.write(Codec.encode(helloCorrelationId,
                    new Message.Hello(cfg.clientId(), cfg.hwId(), cfg.clientVersion(), cfg.authToken()), version));
            c.out.flush();
            while (true) {
                Envelope e = c.next(deadline);
                Message m = e.message();
                if (m instanceof Message.Welcome w && e.correlationId() == helloCorrelationId) {
                    c.welcome = w; // frames after WELCOME stay queued for the reader thread
                    return c;
                }
                if (m instanceof Message.Error err) {
                    throw new TurnstileException(err.code(), err.message(), 0, "");
                }
                if (m instanceof Message.Notice || m instanceof Message.Goodbye) {
                    if (m instanceof Message.Goodbye g) {
                        throw new TurnstileException(g.code(), "server said goodbye during HELLO: " + g.message(), 0,
                                "");
                    }
                    continue; // a notice before WELCOME: nothing to act on yet
                }
                throw new TurnstileException(TurnstileException.Kind.PROTOCOL, address + " answered HELLO with "
                        + m.type() + " (correlation id " + e.correlationId() + "), expected WELCOME (PROTOCOL.md section 5)");
            }
        } catch (SocketTimeoutException e) {
            closeQuietly(raw);
            throw new TurnstileException(TurnstileException.Kind.TIMEOUT, "no WELCOME from " + address + " within "
                    + timeoutMs + " ms", e);
        } catch (ProtocolException e) {
            closeQuietly(raw);
            throw new TurnstileException(TurnstileException.Kind.PROTOCOL, address + " sent a bad frame during HELLO: "
                    + e.getMessage(), e);
        } catch (IOException e) {
            closeQuietly(raw);
            throw new TurnstileException(TurnstileException.Kind.CONNECTION, "cannot connect to " + address + ": "
                    + e, e);
        } catch (RuntimeException e) {
            closeQuietly(raw);
            throw e;
        }
    }

    private static int remaining(long deadlineNanos) throws SocketTimeoutException {
        long ms = TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime());
        if (ms <= 0) {
            throw new SocketTimeoutException("connect timeout");
        }
        return (int) Math.min(Integer.MAX_VALUE, ms);
    }

    private void readFully(byte[] b, long deadline) throws IOException {
        int n = 0;
        while (n < b.length) {
            socket.setSoTimeout(remaining(deadline));
            int r = in.read(b, n, b.length - n);
            if (r < 0) {
                throw new EOFException("server closed the connection");
            }
            n += r;
        }
    }

    /** The next envelope; blocks. With a deadline (handshake) a read past it throws SocketTimeoutException. */
    private Envelope next(long deadline) throws IOException, ProtocolException {
        while (frames.isEmpty()) {
            if (deadline != 0) {
                socket.setSoTimeout(remaining(deadline));
            }
            int n = in.read(buf);
            if (n < 0) {
                throw new EOFException("server closed the connection");
            }
            lastReceivedNanos = System.nanoTime();
            assembler.feed(buf, 0, n, frames::add);
        }
        return Codec.decode(frames.poll(), MessageType.Sender.EITHER, version);
    }

    /**
     * Starts the reader thread.
     *
     * @param deadAfterMs a connection that delivers nothing for this long is closed and reported lost
     */
    void startReader(Sink sink, long deadAfterMs, String threadName) {
        long checkMs = Math.max(50, Math.min(1000, deadAfterMs / 4));
        try {
            socket.setSoTimeout((int) checkMs);
        } catch (IOException e) {
            // Reported by the first read.
        }
        lastReceivedNanos = System.nanoTime();
        Thread reader = new Thread(() -> readLoop(sink, TimeUnit.MILLISECONDS.toNanos(deadAfterMs)), threadName);
        reader.setDaemon(true);
        reader.start();
    }

    private void readLoop(Sink sink, long deadAfterNanos) {
        Throwable cause;
        while (true) {
            try {
                Envelope e = next(0);
                sink.onEnvelope(this, e);
            } catch (SocketTimeoutException e) {
                if (closed) {
                    cause = new EOFException("connection closed by the client");
                    break;
                }
                long silent = System.nanoTime() - lastReceivedNanos;
                if (silent > deadAfterNanos) {
                    cause = new TurnstileException(TurnstileException.Kind.TIMEOUT, "no frame from " + address
                            + " for " + TimeUnit.NANOSECONDS.toMillis(silent) + " ms: connection considered dead");
                    break;
                }
            } catch (ProtocolException e) {
                if (e.code() == ErrorCode.UNKNOWN_MESSAGE_TYPE) {
                    // Forward compatibility: a message type from a newer server (the frame was consumed whole).
                    LOG.debug("{}: ignoring a frame of unknown type: {}", address, e.getMessage());
                    continue;
                }
                LOG.warn("{} broke the protocol, closing the connection (PROTOCOL.md sections 3-4): {}", address,
                        e.getMessage());
                cause = new TurnstileException(TurnstileException.Kind.PROTOCOL, address + " sent a bad frame: "
                        + e.getMessage(), e);
                break;
            } catch (IOException e) {
                cause = closed ? new EOFException("connection closed by the client") : e;
                break;
            } catch (RuntimeException e) {
                LOG.error("{}: reader failed", address, e);
                cause = e;
                break;
            }
        }
        close();
        sink.onLost(this, cause);
    }

    /** Writes one or more whole frames. */
    synchronized void write(byte[] frame) throws IOException {
        if (closed) {
            throw new EOFException("connection to " + address + " is closed");
        }
        out.write(frame);
        out.flush();
    }

    boolean isClosed() {
        return closed;
    }

    /** Closes the socket (which ends the reader thread). Idempotent, any thread. */
    void close() {
        closed = true;
        closeQuietly(socket);
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException | RuntimeException ignored) {
            // Closing: nothing to do.
        }
    }

    @Override
    public String toString() {
        return "Connection[" + address + (welcome == null ? "" : ", " + welcome.serverId()) + "]";
    }
}
