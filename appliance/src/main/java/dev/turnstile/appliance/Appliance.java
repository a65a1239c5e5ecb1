package dev.turnstile.appliance;

import dev.turnstile.appliance.authority.LocalSeatAuthority;
import dev.turnstile.appliance.authority.SeatAuthority;
import dev.turnstile.appliance.config.ClientPolicy;
import dev.turnstile.appliance.config.ServerConfig;
import dev.turnstile.appliance.http.HttpApi;
import dev.turnstile.appliance.http.StatusReport;
import dev.turnstile.appliance.lifecycle.Components;
import dev.turnstile.appliance.lifecycle.Lifecycle;
import dev.turnstile.appliance.lifecycle.ListenFailure;
import dev.turnstile.appliance.lifecycle.ServingState;
import dev.turnstile.appliance.lifecycle.VerticleLifecycle;
import dev.turnstile.appliance.metrics.ApplianceMetrics;
import dev.turnstile.appliance.metrics.VertxMetricsSetup;
import dev.turnstile.appliance.seat.ConcurrentLedger;
import dev.turnstile.appliance.seat.Entitlement;
import dev.turnstile.appliance.seat.LedgerListener;
import dev.turnstile.appliance.seat.LedgerSettings;
import dev.turnstile.appliance.session.ClientListener;
import dev.turnstile.appliance.session.Session;
import dev.turnstile.appliance.session.SessionRegistry;
import dev.turnstile.appliance.sync.SyncVerticle;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Message;
import dev.turnstile.protocol.NoticeKind;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The appliance's composition root: binds the configuration, builds the seat ledger and the seat authority, makes
 * the components and wires them through narrow interfaces, then starts them in dependency order and stops them in
 * reverse ({@link Components}; every component is a {@link Lifecycle}). No component gets this object: the
 * sessions get {@link ApplianceSessionServices}, HTTP its {@link HttpApi.Views}, the metrics their
 * {@link ApplianceMetrics.Views}, the sync its {@link SyncVerticle.Deps}. appliance/ARCHITECTURE.md has the picture.
 */
public final class Appliance {
    private static final Logger LOG = LoggerFactory.getLogger(Appliance.class);
    /** How often the ledger sweeps expiries, grace ends and queue timeouts. */
    public static final long TICK_MS = 200;

    private final Vertx vertx;
    private final ApplianceConfig config;
    private final Clock clock;
    private final ServingState serving = new ServingState();
    private final SessionRegistry registry = new SessionRegistry();
    private final ConcurrentLedger ledger;
    // the seat authority: the ledger itself on a single server, the Raft log in a triad; callers see only the port
    private final SeatAuthority authority;
    // triad: the Raft member when triad.enabled (issue 8), else null and nothing below changes
    private final dev.turnstile.appliance.triad.TriadConfig triadConfig;
    // triad: the member built with the appliance; set in `triad` once it has joined (startTriad), null on a single server
    private final dev.turnstile.appliance.triad.TriadNode triadMember;
    private volatile dev.turnstile.appliance.triad.TriadMeters triadMeters;
    private final AtomicReference<dev.turnstile.appliance.triad.TriadNode> triad = new AtomicReference<>();
    // store: the write-behind store; memory-only until it starts with a store: section
    private final StoreComponent store;
    // metrics: the appliance's meters and seat history (issue 6), counting ledger events from the first one
    private final ApplianceMetrics metrics;
    // sync: cloud sync and signed license (issue 4); null when neither sync: nor license: asks for them
    private final SyncVerticle sync;
    private final StatusReport status;
    private final ClientListener clientListener;
    private final HttpApi http; // null when http.enabled is false
    private final Components components = new Components();
    // config: the client policy a reload replaces (sessions and the warnings read it)
    private final AtomicReference<ClientPolicy> clients;
    private volatile List<Entitlement> configEntitlements;
    private long tickTimer = -1;
    /** When this appliance's start began (for the restart-recovery log line). */
    private final long startedAtNanos = System.nanoTime();

    /** Builds every component and wires them; nothing runs until {@link #start}. No component gets {@code this}. */
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
        this.clients = new AtomicReference<>(config.clients());
        this.configEntitlements = config.entitlements();
        StoreComponent st = new StoreComponent(vertx, config.store(), triadConfig.enabled());
        this.store = st;
        // store: every ledger event also goes to the store (memory-only until it starts); in a triad the store is a
        // TriadJournal: keyed events buffered on every member, written by the leader only
        LedgerListener listener = dev.turnstile.appliance.store.JournalingListener.of(registry, st::current);
        ConcurrentLedger ledger = new ConcurrentLedger(settings, listener);
        this.ledger = ledger;
        LongSupplier now = clock::millis;
        if (triadConfig.enabled()) { // triad: decisions through the Raft log (the member joins in startTriad)
            this.triadMember = new dev.turnstile.appliance.triad.TriadNode(triadConfig, ledger, now,
                    s.leaseTimeoutMs(), s.reclaimGraceMs());
            this.authority = new dev.turnstile.appliance.triad.ReplicatedSeatAuthority(triadMember, ledger, now,
                    listener::journal);
        } else {
            this.triadMember = null;
            this.authority = new LocalSeatAuthority(ledger);
        }
        registry.configureLimits(s.limits(), s.maxSessions()); // limits: caps, budgets, back-off (SessionLimits)

        // metrics: one registry for the whole appliance, the one /metrics serves, injected into every component
        // that makes meters: the registry of a Vert.x made by VertxMetricsSetup (Main), else one for this appliance
        PrometheusMeterRegistry shared = VertxMetricsSetup.registryOf(vertx);
        PrometheusMeterRegistry meterRegistry = shared != null ? shared : new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        // sync: the sync: and license: sections (bound with the whole file)
        SyncVerticle sv = SyncVerticle.create(config.license(), config.sync(), config.store().orElse(null),
                new SyncVerticle.Deps(authority, ledger, registry, now,
                        triadConfig.enabled() ? authority::decidesHere : null), // triad: only the leader calls the cloud
                meterRegistry, entitlements -> st.current().recordEntitlements(entitlements)); // the store's table
        this.sync = sv;
        this.metrics = new ApplianceMetrics(vertx, meterRegistry, shared == null,
                new ApplianceMetrics.Views(ledger, registry, now, serving::ready, () -> st.current().status()),
                new ApplianceMetrics.Settings(s.heartbeatIntervalMs(), config.http().historyIntervalMs(),
                        config.http().historySamples()));
        this.clientListener = new ClientListener(vertx, s, new ApplianceSessionServices(s, clock, authority, ledger,
                registry, listener, serving, clients::get, st::memoryOnly, () -> sv,
                peers(s))); // triad: the other members' client addresses
        AtomicReference<ClientPolicy> policy = clients;
        this.status = new StatusReport(new StatusReport.Facts(s.id(), s.legacyReclaim().configName(),
                s.heartbeatIntervalMs(), clientListener::port, st::memoryOnly,
                () -> warningsJson(config, policy.get()), () -> st.current().status()),
                serving, ledger, registry, now);
        if (sv != null) {
            status.addSection(j -> sv.statusJson().forEach(j::put)); // sync: the "sync" and "license" objects
        }
        AtomicReference<dev.turnstile.appliance.triad.TriadNode> joined = triad;
        status.addSection(j -> { // triad: role, term, commit index, quorum, members
            dev.turnstile.appliance.triad.TriadNode t = joined.get();
            if (t != null) {
                JsonObject tj = t.statusJson();
                j.put("triad", tj).put("role", tj.getString("role"));
            }
        });
        if (config.http().enabled()) {
            this.http = new HttpApi(vertx, config.http(), new HttpApi.Views(status, ledger, authority, metrics, now));
            if (sv != null) {
                http.addRoutes(sv::mountRoutes); // sync: /v1/sync/*, /v1/entitlements, /v1/license
            }
        } else {
            this.http = null;
        }
        wire();
    }

    /**
     * The start order (the stop order is its reverse). Single server: store, configured entitlements, the ledger's
     * ticker, sync (saved state and license into the ledger before clients come), restart recovery (leases held at
     * the last stop come back before the listener opens), client listener, reclaim grace (counts from the moment
     * clients can connect, issue 12), metrics (seat history), HTTP. Triad: ticks are log entries the leader
     * commits and the log replaces restart recovery, so: store, entitlements, sync, triad member, listener,
     * metrics, HTTP.
     */
    private void wire() {
        // store: connect, migrate and replay the spill before anything else, so every ledger event is journaled
        Lifecycle storeC = components.add(store);
        Lifecycle entitlements = components.add(Lifecycle.onStart("configured entitlements",
                this::loadConfiguredEntitlements), storeC);
        if (!triadConfig.enabled()) {
            components.add(Lifecycle.of("ledger ticker", this::startTicker, this::stopTicker), entitlements);
        }
        Lifecycle syncC = sync == null ? null : components.add(new VerticleLifecycle<>(vertx, "sync", sync), storeC);
        Lifecycle before = syncC == null ? entitlements : syncC;
        if (triadConfig.enabled()) {
            before = components.add(Lifecycle.of("triad member", this::startTriad, this::leaveTriad), before);
        } else {
            before = components.add(Lifecycle.onStart("restart recovery", this::restoreLeases), before);
        }
        components.add(clientListener, before);
        if (triadConfig.enabled()) { // triad: the others learn a client port 0 through triad.discovery_dir
            components.add(Lifecycle.onStart("triad client address", this::publishClientAddress), clientListener);
        }
        if (!triadConfig.enabled()) {
            components.add(Lifecycle.onStart("reclaim grace", this::startRestartGrace), clientListener);
        }
        components.add(metrics);
        if (http != null) {
            components.add(http, metrics);
        }
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
        Appliance a;
        try {
            a = new Appliance(vertx, config, clock);
        } catch (RuntimeException e) {
            return Future.failedFuture(e); // config: sync:/license: problems name their keys
        }
        // a failed start has stopped what had started (Components); the meters made at construction go too
        return a.components.start().onSuccess(v -> a.ready()).onFailure(e -> a.metrics.close()).map(a);
    }

    private void ready() {
        serving.markReady();
        ServerConfig s = config.server();
        dev.turnstile.appliance.triad.TriadNode t = triad.get();
        if (t != null) {
            LOG.info("Turnstile {} listening on {}:{} as triad member {} ({})", s.id(), s.host(), tcpPort(),
                    triadConfig.self(), t.role());
        } else {
            LOG.info("Turnstile {} listening on {}:{} ({} entitlements, {} event loops, heartbeat {} ms, lease timeout {} ms, {})",
                    s.id(), s.host(), tcpPort(), config.entitlements().size(), clientListener.instances(),
                    s.heartbeatIntervalMs(), s.leaseTimeoutMs(),
                    store.memoryOnly() ? "memory only: no database configured, seat history is not persisted" : "persisted");
        }
    }

    // ------------------------------------------------------------------ start steps (wiring)

    // the configured entitlements into the ledger and the store's table; the warnings about open settings
    private Future<Void> loadConfiguredEntitlements() {
        warnLegacyReclaim(); // secret:
        long now = nowMs();
        for (Entitlement e : config.entitlements()) {
            ledger.upsertEntitlement(e, now);
        }
        store.current().recordEntitlements(config.entitlements()); // store: the entitlements table
        warnOpenSettings(); // config: settings that open the appliance to the network (also in /v1/status)
        return Future.succeededFuture();
    }

    private Future<Void> startTicker() {
        tickTimer = vertx.setPeriodic(TICK_MS, id -> ledger.tick(nowMs()));
        return Future.succeededFuture();
    }

    private Future<Void> stopTicker() {
        if (tickTimer >= 0) {
            vertx.cancelTimer(tickTimer);
            tickTimer = -1;
        }
        return Future.succeededFuture();
    }

    // store: restart recovery (issue 3): the leases come back before the listener opens, holding their seats
    private Future<Void> restoreLeases() {
        return dev.turnstile.appliance.store.RestartRecovery.restore(store.current(), ledger).mapEmpty();
    }

    // store: ... and their reclaim grace counts from the moment the listener accepts (issue 12)
    private Future<Void> startRestartGrace() {
        dev.turnstile.appliance.store.RestartRecovery.startGrace(ledger, nowMs(), config.server().reclaimGraceMs(),
                java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startedAtNanos));
        return Future.succeededFuture();
    }

    // triad: joins the triad (blocking JGroups connect on a worker thread); a member that loses leadership closes
    // its sessions with NOTICE LEADER_CHANGED naming the new leader, so clients fail over and reclaim there
    private Future<Void> startTriad() {
        registry.idBase(((long) triadConfig.selfIndex()) << dev.turnstile.appliance.triad.TriadNode.SESSION_ID_SHIFT);
        dev.turnstile.appliance.triad.TriadNode node = triadMember;
        node.liveSessions(id -> registry.get(id) != null);
        node.clientsCanConnect(() -> tcpPort() > 0); // issue 12: the grace of lost sessions starts once clients can connect
        long detection = triadConfig.failureTimeoutMs() + triadConfig.verifySuspectMs() + config.server().leaseTimeoutMs();
        if (config.server().reclaimGraceMs() < detection) { // triad: see TRIAD.md, "Test timings" and "Fenced heartbeats"
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
            SyncVerticle sv = sync;
            if (sv != null && sv.sync() != null) {
                try {
                    vertx.setTimer(200, id -> sv.sync().trigger("triad-leader")
                            .onFailure(e -> LOG.debug("triad: leader's first sync not run: {}", e.getMessage())));
                } catch (RuntimeException e) { // Vert.x closing
                    LOG.debug("triad: leader's first sync not scheduled: {}", e.toString());
                }
            }
        });
        if (store.current() instanceof dev.turnstile.appliance.triad.TriadJournal tj) {
            tj.attach(node, ledger); // store: keyed journal events from the first applied entry (log replay at join)
        }
        dev.turnstile.appliance.triad.TriadConfig.Member self = triadConfig.selfMember();
        return vertx.<Void>executeBlocking(() -> {
            node.start();
            triad.set(node);
            triadMeters = new dev.turnstile.appliance.triad.TriadMeters(metrics.registry(), node); // metrics: the member's
            return null;
        }).recover(e -> Future.failedFuture(ListenFailure.explain(e, "triad.members[" + (triadConfig.selfIndex() - 1)
                + "].raft", self.raftHost(), self.raftPort()))); // config: a taken port names its key
    }

    // triad: WELCOME's peers: the other members' client addresses as known now; on a single server, server.peers
    private java.util.function.Supplier<List<String>> peers(ServerConfig s) {
        if (!triadConfig.enabled()) {
            List<String> fixed = List.copyOf(s.peers());
            return () -> fixed;
        }
        dev.turnstile.appliance.triad.MemberDirectory directory = triadMember.directory();
        return directory::peerClientAddresses;
    }

    // triad: this member's client address (the bound port for a configured 0) for the others (blocking file I/O)
    private Future<Void> publishClientAddress() {
        int port = tcpPort();
        return vertx.executeBlocking(() -> {
            triadMember.directory().publishSelf(port);
            return null;
        });
    }

    // triad: leave the triad (the others see it at once)
    private Future<Void> leaveTriad() {
        dev.turnstile.appliance.triad.TriadNode t = triad.get();
        if (t == null) {
            return Future.succeededFuture();
        }
        dev.turnstile.appliance.triad.TriadMeters m = triadMeters;
        if (m != null) {
            m.close();
        }
        return vertx.executeBlocking(() -> {
            t.close();
            return null;
        });
    }

    // config: each open setting once in the log; the same list is in statusJson()'s "warnings"
    private void warnOpenSettings() {
        for (ConfigWarnings.Warning w : warnings()) {
            LOG.warn("config: {}", w.message());
        }
    }

    private List<ConfigWarnings.Warning> warnings() {
        return ConfigWarnings.of(config.server(), clients.get(), config.http());
    }

    private static JsonArray warningsJson(ApplianceConfig config, ClientPolicy clients) {
        return new JsonArray(ConfigWarnings.of(config.server(), clients, config.http()).stream()
                .map(w -> (Object) new JsonObject().put("code", w.code()).put("message", w.message())).toList());
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

    // ------------------------------------------------------------------ reload and shutdown

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
        boolean tokenChanged = clients.get().requiresToken() != next.clients().requiresToken();
        clients.set(next.clients());
        if (tokenChanged) {
            warnOpenSettings(); // config: the client token came or went
        }
        store.current().recordEntitlements(next.entitlements()); // store: the entitlements table follows the file
        for (String section : List.of("server", "http", "store", "sync")) {
            Object a = config.raw().getValue(section);
            Object b = next.raw().getValue(section);
            if (!java.util.Objects.equals(a, b)) {
                LOG.warn("reload: changes to the {} section need a restart; they are not applied", section);
            }
        }
        LOG.info("reload: {} entitlement(s) added, changed or removed; client policy {}", changed, clients.get());
        return sync == null ? Future.succeededFuture() : sync.license().reloadFile(); // sync: the license file
    }

    /**
     * Graceful shutdown: stop accepting, tell every client the server is draining (NOTICE
     * DRAINING with the deadline), refuse new checkouts, wait until the clients have left or the
     * drain timeout passes, then say GOODBYE to the rest ({@link ClientListener#drain}); then every component
     * stops in reverse start order, the store last (it writes everything held once the sessions have drained).
     */
    public Future<Void> shutdown() {
        if (!serving.beginDraining()) {
            return Future.succeededFuture();
        }
        Future<Void> drained = components.running().contains(clientListener)
                ? clientListener.drain(config.server().drainTimeoutMs()) : Future.succeededFuture();
        return drained.transform(ar -> components.stop())
                .onComplete(ar -> LOG.info("Turnstile {} stopped", config.server().id()));
    }

    // ------------------------------------------------------------------ accessors (Main, tests)

    /**
     * ports: what this appliance listens on, once started: {@code {"client":N,"http":M,"raft":R}} ({@code http} only
     * when the HTTP server runs, {@code raft} only in a triad: the port its transport bound). Written to the ports
     * file ({@code run --ports-file}) and logged, so a port 0 in the configuration can be found.
     */
    public JsonObject boundPorts() {
        JsonObject ports = new JsonObject().put("client", tcpPort());
        if (httpPort() > 0) {
            ports.put("http", httpPort());
        }
        if (config.triad().enabled()) {
            dev.turnstile.appliance.triad.TriadNode t = triad.get();
            ports.put("raft", t != null ? t.boundRaftPort() : config.triad().selfMember().raftPort());
        }
        return ports;
    }

    public int tcpPort() {
        return clientListener.port();
    }

    /** The HTTP port, or -1 when the HTTP server is off. */
    public int httpPort() {
        return http == null ? -1 : http.port();
    }

    public HttpApi http() {
        return http;
    }

    // metrics: meters, seat history and the shared lease copy behind /metrics and the status page
    public ApplianceMetrics metrics() {
        return metrics;
    }

    // triad: the member's figures for the status JSON, or null on a single server
    public dev.turnstile.appliance.triad.TriadNode triadNode() {
        return triad.get();
    }

    /** The summary behind {@code GET /v1/status} and the status page. */
    public JsonObject statusJson() {
        return status.summary();
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
        return serving.ready();
    }

    public boolean memoryOnly() {
        return store.memoryOnly();
    }

    // store: the store (tests flush it; in a triad a TriadJournal over the Postgres store)
    public dev.turnstile.appliance.store.PersistenceService store() {
        return store.current();
    }

    // store: the store's figures (mode, connected, queue depth, lag, spilled bytes, last error)
    public JsonObject storeStatus() {
        return store.current().status();
    }

    public long nowMs() {
        return clock.millis();
    }
}
