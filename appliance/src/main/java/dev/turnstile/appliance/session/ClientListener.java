package dev.turnstile.appliance.session;

import dev.turnstile.appliance.config.ServerConfig;
import dev.turnstile.appliance.lifecycle.Lifecycle;
import dev.turnstile.appliance.lifecycle.ListenFailure;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Message;
import dev.turnstile.protocol.NoticeKind;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client listener as one component: one {@link TcpServerVerticle} per event loop on the shared port
 * ({@code server.host}:{@code server.port}, TLS when configured), deployed on {@link #start()} and undeployed on
 * {@link #stop()}. {@link #drain} is the graceful part of a shutdown: stop accepting, NOTICE DRAINING, wait for
 * the clients to leave or the deadline, GOODBYE to the rest.
 */
public final class ClientListener implements Lifecycle {
    private static final Logger LOG = LoggerFactory.getLogger(ClientListener.class);

    private final Vertx vertx;
    private final ServerConfig config;
    private final SessionServices services;
    private final SessionRegistry registry;
    private final List<TcpServerVerticle> servers = new CopyOnWriteArrayList<>();
    private final List<String> deployments = new CopyOnWriteArrayList<>();
    private volatile int port;
    /** ports: keys of Vert.x's random port sharing (a negative port), one per listener started with port 0. */
    private static final java.util.concurrent.atomic.AtomicInteger RANDOM_PORT_KEYS =
            new java.util.concurrent.atomic.AtomicInteger();

    public ClientListener(Vertx vertx, ServerConfig config, SessionServices services) {
        this.vertx = vertx;
        this.config = config;
        this.services = services;
        this.registry = services.registry();
    }

    @Override
    public String name() {
        return "client listener";
    }

    /** The port clients connect to, once started (0 before). */
    public int port() {
        return port;
    }

    /** How many server instances (event loops) accept. */
    public int instances() {
        return servers.size();
    }

    @Override
    public Future<Void> start() {
        ServerConfig s = config;
        int instances = s.eventLoops() > 0 ? s.eventLoops() : Math.max(1, 2 * Runtime.getRuntime().availableProcessors());
        NetServerOptions options = new NetServerOptions().setHost(s.host()).setPort(s.port())
                .setTcpNoDelay(true).setTcpKeepAlive(true).setReuseAddress(true).setAcceptBacklog(4096);
        if (s.limits().socketSendBuffer() > 0) { // limits: what a client that does not read can park in the kernel
            options.setSendBufferSize(s.limits().socketSendBuffer());
        }
        if (s.tls().enabled()) {
            options.setSsl(true).setKeyCertOptions(new PemKeyCertOptions()
                    .setCertPath(s.tls().certPath()).setKeyPath(s.tls().keyPath()));
        }
        // ports: Vert.x shares one listening socket between the servers that name the same host:port. For port 0 it
        // shares a random port between the servers that name the same negative port (Vert.x's "random port
        // sharing"): the first binds port 0 and the kernel picks, the others join that socket. So port 0 needs no
        // probe for a free port (which another process could take before the bind); each start gets its own key.
        int port = s.port() == 0 ? -RANDOM_PORT_KEYS.incrementAndGet() : s.port();
        options.setPort(port);
        logLimits(s); // limits:
        List<Future<TcpServerVerticle>> all = new ArrayList<>();
        for (int i = 0; i < instances; i++) {
            all.add(deployOne(options));
        }
        int bound = s.port();
        return Future.all(all).<Void>map(v -> {
            this.port = servers.get(0).actualPort();
            return null;
        }).recover(e -> Future.failedFuture(ListenFailure.explain(e, "server.port", s.host(), bound))); // config:
    }

    // limits: the caps in force, and a slow-consumer wait the lease timeout would overtake (PROTOCOL.md 5.5)
    private void logLimits(ServerConfig s) {
        LOG.info("session limits: {}", registry.limits().describe());
        if (registry.limits().maxSessions() < s.maxSessions()) {
            LOG.info("server.max_sessions ({}) lowered to {} to keep server.fd_headroom ({}) of the {} file descriptors "
                    + "free for the admin page, the database and files", s.maxSessions(),
                    registry.limits().maxSessions(), s.limits().fdHeadroom(), registry.limits().fdLimit());
        }
        if (s.slowConsumerTimeoutMs() + s.limits().slowConsumerCloseWaitMs() >= s.leaseTimeoutMs()) {
            LOG.warn("server.slow_consumer_timeout + server.slow_consumer_close_wait ({} ms) is not below "
                    + "server.lease_timeout ({} ms): a client that stops reading may see its lease expire before it "
                    + "is told slowConsumer", s.slowConsumerTimeoutMs() + s.limits().slowConsumerCloseWaitMs(),
                    s.leaseTimeoutMs());
        }
    }

    private Future<TcpServerVerticle> deployOne(NetServerOptions options) {
        TcpServerVerticle v = new TcpServerVerticle(services, options);
        return vertx.deployVerticle(v, new DeploymentOptions()).map(id -> {
            deployments.add(id);
            servers.add(v);
            return v;
        });
    }

    /**
     * Graceful drain: unbind the port so clients fail over at once, tell every client the server is draining
     * (NOTICE DRAINING with the deadline), wait until the clients have left or {@code drainMs} passes, then say
     * GOODBYE to the rest and give the goodbyes a moment to be written. Checkouts are refused meanwhile (the
     * sessions see {@link SessionServices#draining()}). The verticles stay until {@link #stop()}.
     */
    public Future<Void> drain(long drainMs) {
        long deadline = services.nowMs() + drainMs;
        LOG.info("draining: {} sessions, up to {} ms", registry.sessions(), drainMs);
        List<Future<Void>> stops = new ArrayList<>();
        for (TcpServerVerticle v : servers) {
            stops.add(v.stopAccepting(drainMs + 2_000));
        }
        registry.broadcast(new Message.Notice(NoticeKind.DRAINING.code(), Message.NO_LEASE,
                ErrorCode.DRAINING.code(), "", deadline, "server " + config.id() + " is shutting down"));
        Promise<Void> drained = Promise.promise();
        Future.join(stops).onComplete(ar -> waitForSessions(deadline, drained));
        return drained.future().compose(v -> {
            for (Session s : registry.all()) {
                s.runOnContext(() -> s.goodbye(ErrorCode.DRAINING, "server shut down"));
            }
            // Give the goodbyes a moment to be written before the verticles go.
            return Future.<Void>future(p -> vertx.setTimer(100, t -> p.complete()));
        });
    }

    private void waitForSessions(long deadline, Promise<Void> done) {
        if (registry.connections() == 0 || services.nowMs() >= deadline) {
            done.tryComplete();
            return;
        }
        vertx.setTimer(50, t -> waitForSessions(deadline, done));
    }

    @Override
    public Future<Void> stop() {
        List<Future<Void>> undeploys = new ArrayList<>();
        for (String id : deployments) {
            undeploys.add(vertx.undeploy(id));
        }
        deployments.clear();
        return Future.join(undeploys).mapEmpty();
    }
}
