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
 * slow-consumer timeouts, so no session needs a timer of its own.
 */
public final class TcpServerVerticle extends VerticleBase {
    private static final Logger LOG = LoggerFactory.getLogger(TcpServerVerticle.class);

    private final SessionServices services;
    private final NetServerOptions options;
    private final int maxConnections;
    private final List<Session> mine = new ArrayList<>();
    private NetServer server;
    private long sweepTimer;

    public TcpServerVerticle(SessionServices services, NetServerOptions options, int maxConnections) {
        this.services = services;
        this.options = options;
        this.maxConnections = maxConnections;
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

    private void onConnect(NetSocket socket) {
        SessionRegistry registry = services.registry();
        if (registry.connections() >= maxConnections || services.draining()) {
            LOG.warn("refusing connection from {}: {}", socket.remoteAddress(),
                    services.draining() ? "draining" : "max_sessions (" + maxConnections + ") reached");
            socket.close();
            return;
        }
        Session s = new Session(services, socket, context, registry.nextId(), services.nowMs());
        registry.add(s);
        mine.add(s);
        s.start();
    }

    private void sweep() {
        long now = services.nowMs();
        mine.removeIf(s -> registry().get(s.id()) == null);
        for (Session s : mine) {
            s.sweep(now);
        }
    }

    private SessionRegistry registry() {
        return services.registry();
    }

    @Override
    public Future<?> stop() {
        return server == null ? Future.succeededFuture() : server.close();
    }
}
