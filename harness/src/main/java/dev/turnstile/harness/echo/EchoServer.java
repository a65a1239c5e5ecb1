package dev.turnstile.harness.echo;

import dev.turnstile.harness.common.FrameSplitter;
import dev.turnstile.protocol.Codec;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Limits;
import dev.turnstile.protocol.Message;
import dev.turnstile.protocol.MessageType;
import dev.turnstile.protocol.Preamble;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import java.util.List;
import java.util.UUID;

/**
 * The echo baseline's server: the protocol's preamble and framing with no license logic. Each
 * request frame is answered by a canned frame of the size the appliance would send (a CHECKOUT by
 * a GRANTED, a HELLO by a WELCOME, ...) with the request's correlation id patched in. What the
 * appliance does beyond this is the cost of licensing.
 */
public final class EchoServer {
    private final byte[] welcome;
    private final byte[] granted;
    private final byte[] checkedIn;
    private final byte[] heartbeatResult;
    private final byte[] goodbye;
    private final byte[] unknown;
    private NetServer server;

    /** Heartbeat interval the echo server announces by default. */
    public static final long DEFAULT_HEARTBEAT_INTERVAL_MS = 1_000;

    /** @param product the product name the load sends, so GRANTED has the size the appliance's would */
    public EchoServer(String product) {
        this(product, DEFAULT_HEARTBEAT_INTERVAL_MS);
    }

    /** @param heartbeatIntervalMs the interval WELCOME announces (the lease timeout announced is three times it) */
    public EchoServer(String product, long heartbeatIntervalMs) {
        welcome = Codec.encode(1, new Message.Welcome("echo", heartbeatIntervalMs, 3 * heartbeatIntervalMs,
                System.currentTimeMillis(), 0, 0, List.of()));
        granted = Codec.encode(1, new Message.Granted(new UUID(0x1234_5678_9abc_def0L, 0x0fed_cba9_8765_4321L), "ent-" + product,
                product, 1, 3_000, 0, 0, 0));
        checkedIn = Codec.encode(1, new Message.CheckedIn(Message.NO_LEASE));
        heartbeatResult = Codec.encode(1, new Message.HeartbeatResult(List.of()));
        goodbye = Codec.encode(1, new Message.Goodbye(0, ""));
        unknown = Codec.encode(1, new Message.Error(ErrorCode.UNKNOWN_MESSAGE_TYPE, ""));
    }

    /** Listens on {@code host:port} (0 = any free port); the future carries the bound port. */
    public Future<Integer> start(Vertx vertx, String host, int port) {
        server = vertx.createNetServer(new NetServerOptions().setTcpNoDelay(true).setAcceptBacklog(4096))
                .connectHandler(this::session);
        return server.listen(port, host).map(NetServer::actualPort);
    }

    public Future<Void> stop() {
        return server == null ? Future.succeededFuture() : server.close();
    }

    private void session(NetSocket socket) {
        FrameSplitter splitter = new FrameSplitter();
        Buffer[] preamble = {Buffer.buffer(Preamble.LENGTH)};
        boolean[] open = {false};
        socket.handler(data -> {
            if (!open[0]) {
                preamble[0].appendBuffer(data);
                if (preamble[0].length() < Preamble.LENGTH) {
                    return;
                }
                byte[] p = preamble[0].getBytes(0, Preamble.LENGTH);
                if (!Preamble.hasMagic(p, 0)) {
                    socket.close();
                    return;
                }
                int selected = Preamble.negotiate(Preamble.minVersion(p, 0), Preamble.maxVersion(p, 0));
                socket.write(Buffer.buffer(Preamble.server(selected)));
                if (selected == Preamble.NO_COMMON_VERSION) {
                    socket.close();
                    return;
                }
                open[0] = true;
                data = preamble[0].getBuffer(Preamble.LENGTH, preamble[0].length());
                preamble[0] = null;
                if (data.length() == 0) {
                    return;
                }
            }
            if (!splitter.feed(data, frame -> answer(socket, frame))) {
                socket.close();
            }
        });
    }

    private void answer(NetSocket socket, byte[] frame) {
        int type = frame[Limits.LENGTH_PREFIX] & 0xFF;
        byte[] canned;
        if (type == MessageType.CHECKOUT.code()) {
            canned = granted;
        } else if (type == MessageType.HEARTBEAT.code()) {
            canned = heartbeatResult;
        } else if (type == MessageType.CHECKIN.code()) {
            canned = checkedIn;
        } else if (type == MessageType.HELLO.code()) {
            canned = welcome;
        } else if (type == MessageType.GOODBYE.code()) {
            canned = goodbye;
        } else {
            canned = unknown;
        }
        byte[] reply = canned.clone();
        System.arraycopy(frame, 6, reply, 6, 4); // correlation id
        socket.write(Buffer.buffer(reply));
        if (canned == goodbye) {
            socket.close();
        }
    }
}
