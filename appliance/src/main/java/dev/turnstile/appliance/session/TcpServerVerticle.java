package dev.turnstile.appliance.session;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One instance per event loop: a NetServer on the shared port (Vert.x balances connections over
 * the instances) and a once-a-second sweep over this loop's sessions for hello, partial-frame and
 * slow-consumer timeouts, so no session needs a timer of its own. Every connection passes the
 * limits ({@link SessionLimits}) first.
 */
public final class TcpServerVerticle extends VerticleBase {
    private static final Logger LOG = LoggerFactory.getLogger(TcpServerVerticle.class);

    private final SessionServices services;
    private final NetServerOptions options;
    private final List<Session> mine = new ArrayList<>();
    private NetServer server;
    private long sweepTimer;

    /** The session caps come from {@code services.registry().limits()}. */
    public TcpServerVerticle(SessionServices services, NetServerOptions options) {
        this.services = services;
        this.options = options;
    }

    @Override
    public Future<?> start() {
        server = vertx.createNetServer(options).connectHandler(this::onConnect);
        sweepTimer = vertx.setPeriodic(1_000, id -> sweep());
        return server.listen();
    }

    public int actualPort() {
        return server.actualPort();
    }

    /**
     * Unbinds the port so clients fail over at once; open sessions stay until they leave, the
     * appliance says GOODBYE, or {@code graceMs} passes (then Vert.x closes them).
     */
    public Future<Void> stopAccepting(long graceMs) {
        if (context == null) {
            return Future.succeededFuture();
        }
        Promise<Void> unbound = Promise.promise();
        context.runOnContext(v -> {
            vertx.cancelTimer(sweepTimer);
            sweepTimer = vertx.setPeriodic(1_000, id -> sweep());
            server.shutdown(graceMs, TimeUnit.MILLISECONDS);
            unbound.complete();
        });
        return unbound.future();
    }

    /**
     * Admits a connection under the limits (SessionLimits), or closes it at once, before the server's
     * preamble (PROTOCOL.md section 7): the client sees the connection end with no byte of answer.
     */
    private void onConnect(NetSocket socket) {
        SessionRegistry registry = services.registry();
        SessionLimits limits = registry.limits();
        long now = services.nowMs();
        String address = socket.remoteAddress() == null ? "unknown" : socket.remoteAddress().hostAddress();
        if (services.draining()) {
            limits.refused(SessionLimits.Refusal.DRAINING);
            refuse(socket, address, "draining", limits, now);
            return;
        }
        Session s = new Session(services, socket, context, registry.nextId(), now);
        SessionLimits.Admission a = limits.admit(s, address, now);
        if (a.refusal() != null) {
            refuse(socket, address, a.refusal() == SessionLimits.Refusal.PER_ADDRESS
                    ? "server.max_sessions_per_address (" + limits.config().maxSessionsPerAddress() + ") reached"
                    : "the session limit (" + limits.maxSessions() + ") is reached and no idle session can be evicted",
                    limits, now);
            return;
        }
        if (a.evicted() != null) {
            Session victim = a.evicted().session;
            victim.runOnContext(() -> victim.evict(a.evictedBecause(), a.evictedActivityMs()));
        }
        s.slot(a.slot());
        registry.add(s);
        mine.add(s);
        s.start();
    }

    private static void refuse(NetSocket socket, String address, String why, SessionLimits limits, long now) {
        long n = limits.refusalsToLog(now);
        if (n > 0) {
            LOG.warn("refusing connection from {}: {} ({} connection(s) refused since the last such line)", address,
                    why, n);
        }
        socket.close();
    }

    private void sweep() {
        long now = services.nowMs();
        mine.removeIf(s -> registry().get(s.id()) == null);
        for (Session s : mine) {
            s.sweep(now);
        }
        registry().limits().maintain(now);
    }

    private SessionRegistry registry() {
        return services.registry();
    }

    @Override
    public Future<?> stop() {
        return server == null ? Future.succeededFuture() : server.close();
    }
}
