package dev.turnstile.appliance;

import dev.turnstile.appliance.config.ClientPolicy;
import dev.turnstile.appliance.config.ServerConfig;
import dev.turnstile.appliance.http.HttpApi;
import dev.turnstile.appliance.seat.PoolView;
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
    private volatile int tcpPort; // volatile: the triad duty thread reads it (clientsCanConnect)
    private volatile ClientPolicy clients;
    /** The ledger's listener: sessions, journal sinks (metrics) and the store. */
    private final dev.turnstile.appliance.seat.LedgerListener listener;
    private volatile List<Entitlement> configEntitlements;
    private HttpApi http;
    // triad: the Raft member when triad.enabled (issue 8), else null and nothing below changes
    private final dev.turnstile.appliance.triad.TriadConfig triadConfig;
    private volatile dev.turnstile.appliance.triad.TriadNode triad;
    // triad: the member built with the appliance (it joins in startTriad); null on a single server
    private final dev.turnstile.appliance.triad.TriadNode triadMember;
    // the seat authority: the ledger itself on a single server, the Raft log in a triad; callers see only the port
    private final dev.turnstile.appliance.authority.SeatAuthority authority;
    // metrics: the appliance's meters and seat history (issue 6), counting ledger events from the first one
    private final dev.turnstile.appliance.metrics.ApplianceMetrics metrics;
    // store: memory-only until startStore() finds a store: section
    private volatile dev.turnstile.appliance.store.PersistenceService store =
            dev.turnstile.appliance.store.PersistenceService.memoryOnly();
    // sync: cloud sync and signed license (issue 4); null when neither sync: nor license: asks for them
    private dev.turnstile.appliance.sync.SyncVerticle sync;

    private Appliance(Vertx vertx, ApplianceConfig config, Clock clock) {
        this.vertx = vertx;
        this.config = config;
        this.clock = clock;
        ServerConfig s = config.server();
        // triad: in a triad the replicated ledger's own lease timeout is too long to matter: heartbeats are not
        // log entries, the leader commits an expiry when one is missed
        this.triadConfig = config.triad(); // config: bound once with the rest of the file
        LedgerSettings settings = new LedgerSettings(triadConfig.enabled()
                ? dev.turnstile.appliance.triad.TriadNode.REPLICATED_LEASE_TIMEOUT_MS : s.leaseTimeoutMs(),
                s.reclaimGraceMs(), s.maxLeasesPerSession(),
                s.maxQueuePerPool(), Math.max(1, Math.min(s.defaultWaitMs(), s.maxWaitMs())), Math.max(1, s.maxWaitMs()),
                LedgerSettings.DEFAULT_EXPIRED_TOMBSTONE_MS, LedgerSettings.DEFAULT_MAX_TOMBSTONES)
                .withLegacyReclaim(s.legacyReclaim()); // secret: protocol 1.1 (issue 12)
        this.clients = config.clients();
        this.configEntitlements = config.entitlements();
        // store: every ledger event also goes to the store (memory-only until startStore() replaces it); in a triad
        // the store is a TriadJournal: keyed events buffered on every member, written by the leader only
        this.listener = dev.turnstile.appliance.store.JournalingListener.of(registry, () -> store);
        this.ledger = new ConcurrentLedger(settings, listener);
        if (triadConfig.enabled()) { // triad: decisions through the Raft log (the member joins in startTriad)
            this.triadMember = new dev.turnstile.appliance.triad.TriadNode(triadConfig, ledger, this::nowMs,
                    s.leaseTimeoutMs(), s.reclaimGraceMs());
            this.authority = new dev.turnstile.appliance.triad.ReplicatedSeatAuthority(triadMember, ledger,
                    this::nowMs, listener::journal);
        } else {
            this.triadMember = null;
            this.authority = new dev.turnstile.appliance.authority.LocalSeatAuthority(ledger);
        }
        registry.configureLimits(s.limits(), s.maxSessions()); // limits: caps, budgets, back-off (SessionLimits)
        this.metrics = dev.turnstile.appliance.metrics.ApplianceMetrics.create(this); // metrics:
    }

    /** Binds {@code configTree} (the YAML as JSON, environment already applied) and starts. */
    public static Future<Appliance> start(Vertx vertx, JsonObject configTree) {
        return start(vertx, configTree, Clock.systemUTC());
    }

    public static Future<Appliance> start(Vertx vertx, JsonObject configTree, Clock clock) {
        ApplianceConfig config;
        try {
            config = Configuration.bind(configTree); // config: every section, unknown keys refused
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
        // store: connect, migrate and replay the spill before anything else, so every ledger event is journaled
        return startStore().compose(v -> startLedgerAndServers())
                .onFailure(e -> store.stop()); // store: a failed start writes what it held and stops the writer
    }

    private Future<Void> startLedgerAndServers() {
        warnLegacyReclaim(); // secret:
        long now = nowMs();
        for (Entitlement e : config.entitlements()) {
            ledger.upsertEntitlement(e, now);
        }
        store.recordEntitlements(config.entitlements()); // store: the entitlements table
        if (triadConfig.enabled()) { // triad: ticks are log entries the leader commits; the log replaces restart recovery
            warnOpenSettings(); // config:
            return startSync().compose(v -> startTriad()).compose(v -> listen()).compose(v -> startHttp())
                    .onSuccess(v -> {
                        ready = true;
                        LOG.info("Turnstile {} listening on {}:{} as triad member {} ({})", config.server().id(),
                                config.server().host(), tcpPort, triadConfig.self(), triad.role());
                    });
        }
        warnOpenSettings(); // config: settings that open the appliance to the network (also in /v1/status)
        tickTimer = vertx.setPeriodic(TICK_MS, id -> ledger.tick(nowMs()));
        // sync: the last sync's and the license's entitlements are in the ledger before clients come
        // store: leases held at the last stop are restored after the pools exist and before clients come
        // store: the restored leases' reclaim grace begins once the listener accepts (issue 12), not before the spill
        // of an earlier run is written: clients cannot reclaim before they can connect
        return startSync().compose(v -> restoreLeases()).compose(v -> listen()).onSuccess(v -> startRestartGrace())
                .compose(v -> startHttp()).onSuccess(v -> {
            ready = true;
            LOG.info("Turnstile {} listening on {}:{} ({} entitlements, {} event loops, heartbeat {} ms, lease timeout {} ms, {})",
                    config.server().id(), config.server().host(), tcpPort, config.entitlements().size(), servers.size(),
                    config.server().heartbeatIntervalMs(), config.server().leaseTimeoutMs(),
                    memoryOnly ? "memory only: no database configured, seat history is not persisted" : "persisted");
        });
    }

    // triad: joins the triad (blocking JGroups connect on a worker thread); a member that loses leadership closes
    // its sessions with NOTICE LEADER_CHANGED naming the new leader, so clients fail over and reclaim there
    private Future<Void> startTriad() {
        registry.idBase(((long) triadConfig.selfIndex()) << dev.turnstile.appliance.triad.TriadNode.SESSION_ID_SHIFT);
        dev.turnstile.appliance.triad.TriadNode node = triadMember;
        node.liveSessions(id -> registry.get(id) != null);
        node.clientsCanConnect(() -> tcpPort > 0); // issue 12: the grace of lost sessions starts once clients can connect
        long detection = triadConfig.failureTimeoutMs() + triadConfig.verifySuspectMs() + config.server().leaseTimeoutMs();
        if (config.server().reclaimGraceMs() < detection) { // triad: see TRIAD.md, "Heartbeats are not fenced"
            LOG.warn("triad: server.reclaim_grace ({} ms) is shorter than triad.failure_timeout + triad.verify_suspect + "
                    + "server.lease_timeout ({} ms): a client of a leader that is paused or cut off may find its lease "
                    + "expired on the new leader before it gets there; raise reclaim_grace", config.server().reclaimGraceMs(),
                    detection);
        }
        node.onLeadershipLost(next -> {
            for (Session s : registry.all()) {
                s.runOnContext(() -> {
                    s.notice(new Message.Notice(NoticeKind.LEADER_CHANGED.code(), Message.NO_LEASE, 0, "", 0, next));
                    s.goodbye(ErrorCode.NOT_MASTER, "this server is no longer the triad leader; the leader is "
                            + (next.isEmpty() ? "being elected" : next));
                });
            }
        });
        node.onLeadershipGained(() -> { // triad: a new leader syncs at once (followers skipped theirs)
            dev.turnstile.appliance.sync.SyncVerticle sv = sync;
            if (sv != null && sv.sync() != null) {
                try {
                    vertx.setTimer(200, id -> sv.sync().trigger("triad-leader")
                            .onFailure(e -> LOG.debug("triad: leader's first sync not run: {}", e.getMessage())));
                } catch (RuntimeException e) { // Vert.x closing
                    LOG.debug("triad: leader's first sync not scheduled: {}", e.toString());
                }
            }
        });
        if (store instanceof dev.turnstile.appliance.store.TriadJournal tj) {
            tj.attach(node, ledger); // store: keyed journal events from the first applied entry (log replay at join)
        }
        dev.turnstile.appliance.triad.TriadConfig.Member self = triadConfig.selfMember();
        return vertx.<Void>executeBlocking(() -> {
            node.start();
            triad = node;
            return null;
        }).recover(e -> Future.failedFuture(bindFailure(e, "triad.members[" + (triadConfig.selfIndex() - 1) + "].raft",
                self.raftHost(), self.raftPort()))); // config: a taken port names its key
    }

    // triad: the member's figures for the status JSON, or null on a single server
    public dev.turnstile.appliance.triad.TriadNode triadNode() {
        return triad;
    }

    /**
     * Whether this appliance may start work only the deciding member does (calling the cloud): null on a single
     * server (always), in a triad the seat authority's {@code decidesHere} (the leader with a majority in view).
     */
    public java.util.function.BooleanSupplier leaderGate() {
        return triadConfig.enabled() ? authority::decidesHere : null;
    }

    private Future<Void> startHttp() {
        if (!config.http().enabled()) {
            return Future.succeededFuture();
        }
        http = new HttpApi(this, config.http());
        if (sync != null) {
            http.addRoutes(sync::mountRoutes); // sync: /v1/sync/*, /v1/entitlements, /v1/license
        }
        return http.start().<Void>mapEmpty().recover(e -> Future.failedFuture( // config: a taken port names its key
                bindFailure(e, "http.port", config.http().host(), config.http().port())));
    }

    // config: "server.port: cannot listen on 0.0.0.0:7878: the port is already in use ..." instead of a bare
    // "Address already in use"
    static Throwable bindFailure(Throwable e, String key, String host, int port) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof java.net.BindException) {
                String why = t.getMessage() == null ? "" : t.getMessage();
                return new IllegalStateException(key + ": cannot listen on " + host + ":" + port + ": "
                        + (why.contains("in use") || why.contains("No available port")
                        ? "the port is already in use (another program, or another Turnstile, listens there)"
                        : why), e);
            }
        }
        return e;
    }

    // config: each open setting once in the log; the same list is in statusJson()'s "warnings"
    private void warnOpenSettings() {
        for (dev.turnstile.appliance.config.ConfigWarnings.Warning w : warnings()) {
            LOG.warn("config: {}", w.message());
        }
    }

    private List<dev.turnstile.appliance.config.ConfigWarnings.Warning> warnings() {
        return dev.turnstile.appliance.config.ConfigWarnings.of(config.server(), clients, config.http());
    }

    // store: the write-behind store (issue 3): PostgreSQL when the YAML has a store: section, else memory only
    private Future<Void> startStore() {
        if (config.store().isEmpty()) {
            LOG.info("store: no store section configured: running on memory alone (seat history is not persisted "
                    + "and leases do not survive a restart)");
            return Future.succeededFuture();
        }
        dev.turnstile.appliance.store.StoreConfig sc = config.store().get(); // config: bound once
        return dev.turnstile.appliance.store.PersistenceService.start(vertx, sc)
                .map(s -> {
                    store = s;
                    if (triadConfig.enabled()) { // store: the triad's write-behind (issue 8), leader only
                        store = new dev.turnstile.appliance.store.TriadJournal(s, sc.triadBufferEvents(),
                                sc.flushIntervalMs());
                    }
                    memoryOnly = false;
                    return null;
                });
    }

    // store: restart recovery (issue 3): the leases come back before the listener opens, holding their seats
    private Future<Void> restoreLeases() {
        return dev.turnstile.appliance.store.RestartRecovery.restore(store, ledger).mapEmpty();
    }

    // store: ... and their reclaim grace counts from the moment the listener accepts (issue 12)
    private void startRestartGrace() {
        dev.turnstile.appliance.store.RestartRecovery.startGrace(ledger, nowMs(), config.server().reclaimGraceMs(),
                java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startedAtNanos));
    }

    /** When this appliance's start began (for the restart-recovery log line). */
    private final long startedAtNanos = System.nanoTime();

    // sync: binds sync: and license:, loads the saved sync state and the license, then the first sync (issue 4)
    private Future<Void> startSync() {
        try {
            sync = dev.turnstile.appliance.sync.SyncVerticle.create(this, io.micrometer.core.instrument.Metrics.globalRegistry,
                    entitlements -> store.recordEntitlements(entitlements)); // synced entitlements reach the store's table
        } catch (RuntimeException e) {
            return Future.failedFuture(e);
        }
        if (sync == null) {
            return Future.succeededFuture();
        }
        return vertx.deployVerticle(sync).map(id -> {
            synchronized (deployments) {
                deployments.add(id);
            }
            return null;
        });
    }

    private Future<Void> listen() {
        ServerConfig s = config.server();
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
        // Vert.x shares a listening socket between instances that name the same host:port, so
        // port 0 (tests) is resolved to one free port first and every instance names that port.
        int port = s.port();
        if (port == 0) {
            try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName(s.host()))) {
                port = probe.getLocalPort();
            } catch (java.io.IOException e) {
                return Future.failedFuture(e);
            }
        }
        options.setPort(port);
        logLimits(s); // limits:
        List<Future<TcpServerVerticle>> all = new ArrayList<>();
        for (int i = 0; i < instances; i++) {
            all.add(deployOne(options));
        }
        int bound = port;
        return Future.all(all).<Void>map(v -> {
            tcpPort = servers.get(0).actualPort();
            return null;
        }).recover(e -> Future.failedFuture(bindFailure(e, "server.port", s.host(), bound))); // config:
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
        TcpServerVerticle v = new TcpServerVerticle(this, options);
        return vertx.deployVerticle(v, new DeploymentOptions()).map(id -> {
            synchronized (deployments) {
                deployments.add(id);
            }
            servers.add(v);
            return v;
        });
    }

    /**
     * Applies what can change without dropping a socket (SIGHUP, {@code systemctl reload}): the
     * configured entitlements (added, resized, removed: the ledger's rules for each apply), the
     * client policy (token, versions), and the license file. Everything else (server.*, http.*,
     * store.*, sync.*) needs a restart; a difference there is logged and ignored.
     */
    public Future<Void> reload(ApplianceConfig next) {
        long now = nowMs();
        java.util.Map<String, Entitlement> before = new java.util.HashMap<>();
        for (Entitlement e : configEntitlements) {
            before.put(e.entitlementId(), e);
        }
        int changed = 0;
        for (Entitlement e : next.entitlements()) {
            if (!e.equals(before.remove(e.entitlementId()))) {
                // in a triad a Raft log entry the leader proposes (a follower's change is refused: the leader's
                // own reload makes it, and it reaches the followers through the log)
                authority.upsertEntitlement(e, now).onFailure(err -> LOG.info("reload: entitlement '{}' not changed "
                        + "here: {}", e.entitlementId(), err.getMessage()));
                changed++;
            }
        }
        for (String gone : before.keySet()) {
            authority.removeEntitlement(gone, now).onFailure(err -> LOG.info("reload: entitlement '{}' not removed "
                    + "here: {}", gone, err.getMessage()));
            changed++;
        }
        configEntitlements = next.entitlements();
        boolean tokenChanged = clients.requiresToken() != next.clients().requiresToken();
        clients = next.clients();
        if (tokenChanged) {
            warnOpenSettings(); // config: the client token came or went
        }
        store.recordEntitlements(next.entitlements()); // store: the entitlements table follows the file
        for (String section : List.of("server", "http", "store", "sync")) {
            Object a = config.raw().getValue(section);
            Object b = next.raw().getValue(section);
            if (!java.util.Objects.equals(a, b)) {
                LOG.warn("reload: changes to the {} section need a restart; they are not applied", section);
            }
        }
        LOG.info("reload: {} entitlement(s) added, changed or removed; client policy {}", changed, clients);
        return sync == null ? Future.succeededFuture() : sync.license().reloadFile(); // sync: the license file
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
            stops.add(v.stopAccepting(drainMs + 2_000));
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
            if (http != null) {
                undeploys.add(http.stop());
            }
            metrics.close(); // metrics: stop sampling, leave the global registry
            if (triad != null) { // triad: leave the triad (the others see it at once)
                dev.turnstile.appliance.triad.TriadNode t = triad;
                undeploys.add(vertx.executeBlocking(() -> {
                    t.close();
                    return null;
                }));
            }
            return Future.join(undeploys).mapEmpty();
        }).eventually(() -> store.stop()) // store: write everything held, once the sessions have drained
                .<Void>mapEmpty().onComplete(ar -> LOG.info("Turnstile {} stopped", config.server().id()));
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

    /** The HTTP port, or -1 when the HTTP server is off. */
    public int httpPort() {
        return http == null ? -1 : http.port();
    }

    public HttpApi http() {
        return http;
    }

    // metrics: meters, seat history and the shared lease copy behind /metrics and the status page
    public dev.turnstile.appliance.metrics.ApplianceMetrics metrics() {
        return metrics;
    }

    // secret: legacy_reclaim orphaned is said at start; identity is an open setting (ConfigWarnings: at start and
    // under "warnings" in the status)
    private void warnLegacyReclaim() {
        if (config.server().legacyReclaim() == dev.turnstile.appliance.seat.LegacyReclaim.ORPHANED) {
            LOG.warn("server.legacy_reclaim is orphaned: a protocol 1.0 client's orphaned lease can be reclaimed by "
                    + "anyone who knows its lease id, client_id and hw_id (the admin API shows them) while its holder "
                    + "is disconnected; refuse is the safe setting (PROTOCOL.md 10.6)");
        }
    }

    /** The summary behind {@code GET /v1/status} and the status page. */
    public JsonObject statusJson() {
        io.vertx.core.json.JsonArray pools = new io.vertx.core.json.JsonArray();
        for (PoolView p : ledger.pools()) {
            pools.add(HttpApi.poolJson(p));
        }
        JsonObject status = new JsonObject()
                .put("server_id", config.server().id())
                .put("ready", ready)
                .put("draining", draining.get())
                .put("server_time", java.time.Instant.ofEpochMilli(nowMs()).toString())
                .put("tcp_port", tcpPort)
                .put("connections", registry.connections())
                .put("sessions", registry.sessions())
                .put("leases", ledger.leaseCount())
                .put("waiting", ledger.waiterCount())
                .put("memory_only", memoryOnly)
                .put("legacy_reclaim", config.server().legacyReclaim().configName()) // secret: PROTOCOL.md 10.6
                .put("pools", pools)
                .put("warnings", new io.vertx.core.json.JsonArray(warnings().stream() // config: open settings
                        .map(w -> (Object) new JsonObject().put("code", w.code()).put("message", w.message())).toList()));
        if (sync != null) {
            sync.statusJson().forEach(status::put); // sync: the "sync" and "license" objects
        }
        if (triad != null) {
            JsonObject t = triad.statusJson(); // triad: role, term, commit index, quorum, members
            status.put("triad", t).put("role", t.getString("role"));
        }
        return status;
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

    // store: the store (tests flush it; in a triad a TriadJournal over the Postgres store)
    public dev.turnstile.appliance.store.PersistenceService store() {
        return store;
    }

    // store: the store's figures (mode, connected, queue depth, lag, spilled bytes, last error)
    public JsonObject storeStatus() {
        return store.status();
    }

    // ------------------------------------------------------------------ SessionServices

    @Override
    public void journal(dev.turnstile.appliance.seat.LedgerEvent event) {
        listener.journal(event);
    }

    @Override
    public ClientPolicy clientPolicy() {
        return clients;
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
        return config.server().slowConsumerTimeoutMs();
    }

    @Override
    public long leaseTimeoutMs() {
        return config.server().leaseTimeoutMs();
    }

    @Override
    public int maxInFlight() {
        return config.server().maxInFlight();
    }

    @Override
    public Message.Welcome welcome() {
        return new Message.Welcome(config.server().id(), config.server().heartbeatIntervalMs(),
                config.server().leaseTimeoutMs(), nowMs(), sync == null ? 0 : sync.licenseValidUntilMs(), // sync: validity
                (memoryOnly ? Message.Welcome.FLAG_MEMORY_ONLY : 0) | (sync == null ? 0 : sync.welcomeFlags()),
                triadConfig.enabled() ? triadConfig.peerClientAddresses() : config.server().peers()); // triad: peers
    }

    @Override
    public boolean draining() {
        return draining.get();
    }

    // sync: every checkout is refused with licenseExpired while no valid license is installed (issue 4)
    @Override
    public ErrorCode checkoutRefusal() {
        return sync == null ? null : sync.checkoutRefusal();
    }

    @Override
    public String checkoutRefusalMessage() {
        return sync == null ? "" : sync.checkoutRefusalMessage();
    }

    @Override
    public dev.turnstile.appliance.authority.SeatAuthority authority() {
        return authority;
    }
}
