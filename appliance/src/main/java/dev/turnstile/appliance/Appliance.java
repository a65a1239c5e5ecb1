package dev.turnstile.appliance;

import dev.turnstile.appliance.config.ApplianceConfig;
import dev.turnstile.appliance.config.ClientPolicy;
import dev.turnstile.appliance.config.ServerConfig;
import dev.turnstile.appliance.seat.ConcurrentLedger;
import dev.turnstile.appliance.seat.Entitlement;
import dev.turnstile.appliance.seat.LedgerSettings;
import dev.turnstile.appliance.session.Session;
import dev.turnstile.appliance.session.SessionRegistry;
import dev.turnstile.appliance.session.SessionServices;
import dev.turnstile.appliance.session.TcpServerVerticle;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Message;
import dev.turnstile.protocol.NoticeKind;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The appliance's composition root: binds the configuration, builds the seat ledger, starts one
 * TCP server verticle per event loop and the ledger's ticker, and drains on shutdown. Lifecycle in
 * the Hono manner: dependencies are checked before anything listens, and a failure says why.
 */
public final class Appliance implements SessionServices {
    private static final Logger LOG = LoggerFactory.getLogger(Appliance.class);
    /** How often the ledger sweeps expiries, grace ends and queue timeouts. */
    public static final long TICK_MS = 200;
    public static final long SLOW_CONSUMER_TIMEOUT_MS = 30_000;

    private final Vertx vertx;
    private final ApplianceConfig config;
    private final Clock clock;
    private final SessionRegistry registry = new SessionRegistry();
    private final ConcurrentLedger ledger;
    private final List<TcpServerVerticle> servers = new CopyOnWriteArrayList<>();
    private final List<String> deployments = new ArrayList<>();
    private final AtomicBoolean draining = new AtomicBoolean();
    private volatile boolean memoryOnly = true;
    private volatile boolean ready;
    private long tickTimer = -1;
    private int tcpPort;

    private Appliance(Vertx vertx, ApplianceConfig config, Clock clock) {
        this.vertx = vertx;
        this.config = config;
        this.clock = clock;
        ServerConfig s = config.server();
        LedgerSettings settings = new LedgerSettings(s.leaseTimeoutMs(), s.reclaimGraceMs(), s.maxLeasesPerSession(),
                s.maxQueuePerPool(), Math.max(1, Math.min(s.defaultWaitMs(), s.maxWaitMs())), Math.max(1, s.maxWaitMs()),
                LedgerSettings.DEFAULT_EXPIRED_TOMBSTONE_MS, LedgerSettings.DEFAULT_MAX_TOMBSTONES);
        this.ledger = new ConcurrentLedger(settings, registry);
    }

    /** Binds {@code configTree} (the YAML as JSON, environment already applied) and starts. */
    public static Future<Appliance> start(Vertx vertx, JsonObject configTree) {
        return start(vertx, configTree, Clock.systemUTC());
    }

    public static Future<Appliance> start(Vertx vertx, JsonObject configTree, Clock clock) {
        ApplianceConfig config;
        try {
            config = ApplianceConfig.from(configTree);
        } catch (RuntimeException e) {
            return Future.failedFuture(e);
        }
        return start(vertx, config, clock);
    }

    public static Future<Appliance> start(Vertx vertx, ApplianceConfig config, Clock clock) {
        Appliance a = new Appliance(vertx, config, clock);
        return a.doStart().map(a);
    }

    private Future<Void> doStart() {
        long now = nowMs();
        for (Entitlement e : config.entitlements()) {
            ledger.upsertEntitlement(e, now);
        }
        tickTimer = vertx.setPeriodic(TICK_MS, id -> ledger.tick(nowMs()));
        return listen().onSuccess(v -> {
            ready = true;
            LOG.info("Turnstile {} listening on {}:{} ({} entitlements, {} event loops, heartbeat {} ms, lease timeout {} ms, {})",
                    config.server().id(), config.server().host(), tcpPort, config.entitlements().size(), servers.size(),
                    config.server().heartbeatIntervalMs(), config.server().leaseTimeoutMs(),
                    memoryOnly ? "memory only: no database configured, seat history is not persisted" : "persisted");
        });
    }

    private Future<Void> listen() {
        ServerConfig s = config.server();
        int instances = s.eventLoops() > 0 ? s.eventLoops() : Math.max(1, 2 * Runtime.getRuntime().availableProcessors());
        NetServerOptions options = new NetServerOptions().setHost(s.host()).setPort(s.port())
                .setTcpNoDelay(true).setTcpKeepAlive(true).setReuseAddress(true).setAcceptBacklog(4096);
        if (s.tls().enabled()) {
            options.setSsl(true).setKeyCertOptions(new PemKeyCertOptions()
                    .setCertPath(s.tls().certPath()).setKeyPath(s.tls().keyPath()));
        }
        // The first instance resolves port 0 to a real port; the others share it.
        return deployOne(options).compose(first -> {
            tcpPort = first.actualPort();
            NetServerOptions shared = new NetServerOptions(options).setPort(tcpPort);
            List<Future<TcpServerVerticle>> rest = new ArrayList<>();
            for (int i = 1; i < instances; i++) {
                rest.add(deployOne(shared));
            }
            return Future.all(rest).mapEmpty();
        });
    }

    private Future<TcpServerVerticle> deployOne(NetServerOptions options) {
        TcpServerVerticle v = new TcpServerVerticle(this, options, config.server().maxSessions());
        return vertx.deployVerticle(v, new DeploymentOptions()).map(id -> {
            synchronized (deployments) {
                deployments.add(id);
            }
            servers.add(v);
            return v;
        });
    }

    /**
     * Graceful shutdown: stop accepting, tell every client the server is draining (NOTICE
     * DRAINING with the deadline), refuse new checkouts, wait until the clients have left or the
     * drain timeout passes, then say GOODBYE to the rest and close.
     */
    public Future<Void> shutdown() {
        if (!draining.compareAndSet(false, true)) {
            return Future.succeededFuture();
        }
        ready = false;
        long drainMs = config.server().drainTimeoutMs();
        long deadline = nowMs() + drainMs;
        LOG.info("draining: {} sessions, up to {} ms", registry.sessions(), drainMs);
        List<Future<Void>> stops = new ArrayList<>();
        for (TcpServerVerticle v : servers) {
            stops.add(v.stopAccepting());
        }
        registry.broadcast(new Message.Notice(NoticeKind.DRAINING.code(), Message.NO_LEASE,
                ErrorCode.DRAINING.code(), "", deadline, "server " + config.server().id() + " is shutting down"));
        Promise<Void> drained = Promise.promise();
        Future.join(stops).onComplete(ar -> waitForSessions(deadline, drained));
        return drained.future().compose(v -> {
            for (Session s : registry.all()) {
                s.runOnContext(() -> s.goodbye(ErrorCode.DRAINING, "server shut down"));
            }
            if (tickTimer >= 0) {
                vertx.cancelTimer(tickTimer);
            }
            // Give the goodbyes a moment to be written before the verticles go.
            return Future.<Void>future(p -> vertx.setTimer(100, t -> p.complete()));
        }).compose(v -> {
            List<Future<Void>> undeploys = new ArrayList<>();
            synchronized (deployments) {
                for (String id : deployments) {
                    undeploys.add(vertx.undeploy(id));
                }
                deployments.clear();
            }
            return Future.join(undeploys).mapEmpty();
        }).<Void>mapEmpty().onComplete(ar -> LOG.info("Turnstile {} stopped", config.server().id()));
    }

    private void waitForSessions(long deadline, Promise<Void> done) {
        if (registry.connections() == 0 || nowMs() >= deadline) {
            done.tryComplete();
            return;
        }
        vertx.setTimer(50, t -> waitForSessions(deadline, done));
    }

    // ------------------------------------------------------------------ accessors

    public int tcpPort() {
        return tcpPort;
    }

    public String serverId() {
        return config.server().id();
    }

    public ConcurrentLedger ledger() {
        return ledger;
    }

    public SessionRegistry registry() {
        return registry;
    }

    public ApplianceConfig config() {
        return config;
    }

    public Vertx vertx() {
        return vertx;
    }

    /** True once the TCP server listens and the configuration is loaded, until draining starts. */
    public boolean isReady() {
        return ready;
    }

    public boolean memoryOnly() {
        return memoryOnly;
    }

    // ------------------------------------------------------------------ SessionServices

    @Override
    public ClientPolicy clientPolicy() {
        return config.clients();
    }

    @Override
    public long nowMs() {
        return clock.millis();
    }

    @Override
    public long helloTimeoutMs() {
        return config.server().helloTimeoutMs();
    }

    @Override
    public long slowConsumerTimeoutMs() {
        return SLOW_CONSUMER_TIMEOUT_MS;
    }

    @Override
    public long leaseTimeoutMs() {
        return config.server().leaseTimeoutMs();
    }

    @Override
    public Message.Welcome welcome() {
        return new Message.Welcome(config.server().id(), config.server().heartbeatIntervalMs(),
                config.server().leaseTimeoutMs(), nowMs(), 0, memoryOnly ? Message.Welcome.FLAG_MEMORY_ONLY : 0,
                config.server().peers());
    }

    @Override
    public boolean draining() {
        return draining.get();
    }
}
