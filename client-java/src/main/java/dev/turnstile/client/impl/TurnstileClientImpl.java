package dev.turnstile.client.impl;

import dev.turnstile.client.CheckoutRequest;
import dev.turnstile.client.Lease;
import dev.turnstile.client.LeaseListener;
import dev.turnstile.client.LeaseLossReason;
import dev.turnstile.client.LeaseToken;
import dev.turnstile.client.SessionInfo;
import dev.turnstile.client.TokenManager;
import dev.turnstile.client.TurnstileClient;
import dev.turnstile.client.TurnstileException;
import dev.turnstile.client.TurnstileException.Kind;
import dev.turnstile.protocol.Codec;
import dev.turnstile.protocol.Envelope;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Limits;
import dev.turnstile.protocol.Message;
import dev.turnstile.protocol.Message.Checkout;
import dev.turnstile.protocol.Message.Denied;
import dev.turnstile.protocol.Message.Granted;
import dev.turnstile.protocol.Message.HeartbeatResult;
import dev.turnstile.protocol.Message.LeaseStatus;
import dev.turnstile.protocol.Message.Notice;
import dev.turnstile.protocol.Message.Welcome;
import dev.turnstile.protocol.MessageType;
import dev.turnstile.protocol.NoticeKind;
import dev.turnstile.protocol.Secrets;
import java.io.IOException;
import java.net.Socket;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client: a state machine owned by one thread (the "client thread"), fed by the reader
 * threads of its connections, the connector thread and the application's calls. See the package
 * documentation for the thread model.
 *
 * <p>Thread-safe: every public method may be called from any thread.
 */
public final class TurnstileClientImpl implements TurnstileClient {
    private static final Logger LOG = LoggerFactory.getLogger(TurnstileClient.class);
    /** Reclaims refused with a RETRY code are retried this often before the lease counts as lost. */
    static final int MAX_RECLAIM_RETRIES = 3;
    /** A session that lived shorter than this after being ready counts as churn (backoff applies). */
    static final long STABLE_SESSION_MS = 1_000;
    /** Bounds of the local-expiry check period (a tenth of the shortest lease timeout seen). */
    static final long MIN_EXPIRY_CHECK_MS = 20;
    static final long MAX_EXPIRY_CHECK_MS = 1_000;

    private final ClientConfig cfg;
    private final TokenManager tokens;
    private final LeaseListener listener;
    private final Backoff backoff;
    private final long requestTimeoutMs;
    private final ScheduledThreadPoolExecutor actor;
    private final ExecutorService callbacks;
    private final ExecutorService connector;
    private final Executor callbackExecutor;
    private final AtomicInteger correlation = new AtomicInteger();
    private final String name;

    // ------------------------------------------------------------------ state (client thread only,
    // except the volatile views and the concurrent map read by accessors)
    private volatile State state = State.NEW;
    private volatile SessionInfo session;
    private volatile Socket connecting;
    private volatile boolean leaseHeartbeatsPaused;
    private volatile List<String> serversView;
    private final List<ServerAddress> servers = new ArrayList<>();
    /** Leases held or being reclaimed, by id. Written on the client thread only. */
    private final Map<UUID, Held> held = new ConcurrentHashMap<>();
    /** Leases the application checked in while no session was up: the next session reclaims and checks them in. */
    private final Map<UUID, Held> returning = new ConcurrentHashMap<>();
    private final List<Waiter> waiters = new ArrayList<>();
    private final List<CompletableFuture<SessionInfo>> connectWaiters = new ArrayList<>();
    private Connection conn;
    private int cursor;
    private ServerAddress preferred;
    private List<ServerAddress> round = List.of();
    private int roundPos;
    private List<Throwable> roundFailures = new ArrayList<>();
    private int failedRounds;
    private int churn;
    private long attemptGeneration;
    private long readyAtNanos;
    private boolean everReady;
    private boolean tokensRestored;
    private int reclaimsInFlight;
    private TurnstileException fatal;
    private Throwable lastFailure;
    private Future<?> heartbeatTask;
    private Future<?> retryTask;
    private Future<?> expiryTask;
    private long expiryPeriodMs;

    public TurnstileClientImpl(ClientConfig cfg) {
        this.cfg = Objects.requireNonNull(cfg, "cfg");
        this.tokens = cfg.tokenManager();
        this.listener = cfg.listener();
        this.backoff = new Backoff(cfg.backoffInitial(), cfg.backoffMax(), cfg.backoffJitter(),
                () -> ThreadLocalRandom.current().nextDouble());
        this.requestTimeoutMs = cfg.requestTimeout().toMillis();
        this.name = cfg.clientId();
        this.servers.addAll(cfg.servers());
        this.serversView = names(servers);
        this.actor = new ScheduledThreadPoolExecutor(1, daemon("turnstile-client-" + name));
        this.actor.setRemoveOnCancelPolicy(true);
        this.actor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        this.callbacks = Executors.newSingleThreadExecutor(daemon("turnstile-callbacks-" + name));
        this.connector = Executors.newSingleThreadExecutor(daemon("turnstile-connect-" + name));
        this.callbackExecutor = r -> {
            try {
                callbacks.execute(r);
            } catch (RejectedExecutionException e) {
                r.run(); // closed: complete on the caller's thread rather than never
            }
        };
        LOG.debug("client created: {}", cfg);
    }

    private static ThreadFactory daemon(String threadName) {
        return r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            return t;
        };
    }

    private static List<String> names(List<ServerAddress> list) {
        List<String> out = new ArrayList<>(list.size());
        for (ServerAddress a : list) {
            out.add(a.toString());
        }
        return List.copyOf(out);
    }

    // ================================================================== public API

    @Override
    public SessionInfo connect() {
        return await(connectInner(), connectBoundMs());
    }

    @Override
    public CompletableFuture<SessionInfo> connectAsync() {
        return external(connectInner());
    }

    @Override
    public Lease checkout(String product) {
        return checkout(CheckoutRequest.of(product));
    }

    @Override
    public Lease checkout(CheckoutRequest request) {
        return await(checkoutInner(request), requestBoundMs(request.waitTimeout().toMillis()));
    }

    @Override
    public CompletableFuture<Lease> checkoutAsync(String product) {
        return checkoutAsync(CheckoutRequest.of(product));
    }

    @Override
    public CompletableFuture<Lease> checkoutAsync(CheckoutRequest request) {
        return external(checkoutInner(request));
    }

    @Override
    public void checkin(Lease lease) {
        checkin(Objects.requireNonNull(lease, "lease").id());
    }

    @Override
    public void checkin(UUID leaseId) {
        await(checkinInner(Objects.requireNonNull(leaseId, "leaseId")), requestBoundMs(0));
    }

    @Override
    public CompletableFuture<Void> checkinAsync(Lease lease) {
        return external(checkinInner(Objects.requireNonNull(lease, "lease").id()));
    }

    @Override
    public List<Lease> leases() {
        List<Lease> out = new ArrayList<>();
        for (Held h : held.values()) {
            if (!h.restoring) {
                out.add(h.lease);
            }
        }
        return out;
    }

    @Override
    public State state() {
        return state;
    }

    @Override
    public Optional<SessionInfo> session() {
        return state == State.CONNECTED ? Optional.ofNullable(session) : Optional.empty();
    }

    @Override
    public List<String> servers() {
        return serversView;
    }

    @Override
    public TokenManager tokenManager() {
        return tokens;
    }

    @Override
    public void close() {
        stop(true);
    }

    /**
     * Stops like a program that crashed: closes the connection without GOODBYE and stops every
     * thread, keeping the tokens. The server keeps the leases for its reclaim grace, so that the
     * next run (a client with the same token store and hardware id) can reclaim them. For tests and
     * tools; applications simply exit.
     */
    public void abandon() {
        stop(false);
    }

    private void stop(boolean goodbye) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        if (!onClientThread(() -> closeOnClientThread(done, goodbye))) {
            return; // already closed
        }
        Socket s = connecting;
        if (s != null) {
            try {
                s.close(); // aborts an attempt in progress on the connector thread
            } catch (IOException ignored) {
                // closing anyway
            }
        }
        try {
            done.get(requestTimeoutMs + 1_000, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            LOG.debug("close: {}", e.toString());
        }
        actor.shutdown();
        connector.shutdownNow();
        callbacks.shutdown();
        try {
            actor.awaitTermination(1, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ------------------------------------------------------------------ hooks (tests, tools)

    /**
     * Stops (true) or resumes (false) heartbeating leases; the connection keeps sending empty
     * keepalive heartbeats. For tests that let a server expire a lease; never for applications.
     */
    public void pauseLeaseHeartbeats(boolean paused) {
        this.leaseHeartbeatsPaused = paused;
    }

    /**
     * Runs the local-expiry check now (it also runs on its own schedule) and completes once it
     * has: with a {@code ticker} moved by a test, the test need not wait for the next check.
     */
    public CompletableFuture<Void> checkLocalExpiryNow() {
        CompletableFuture<Void> f = new CompletableFuture<>();
        if (!onClientThread(() -> {
            expireUnconfirmedLeases();
            f.complete(null);
        })) {
            f.completeExceptionally(closedException());
        }
        return external(f);
    }

    /** Sends a heartbeat for every held lease now (the scheduled ones continue). */
    public CompletableFuture<List<LeaseStatus>> heartbeatNow() {
        CompletableFuture<List<LeaseStatus>> f = new CompletableFuture<>();
        if (!onClientThread(() -> withSession(c -> sendHeartbeats(c, f), f::completeExceptionally))) {
            f.completeExceptionally(closedException());
        }
        return external(f);
    }

    // ================================================================== plumbing

    private boolean onClientThread(Runnable task) {
        try {
            actor.execute(guard(task));
            return true;
        } catch (RejectedExecutionException e) {
            return false;
        }
    }

    private Future<?> schedule(Runnable task, long delayMs) {
        try {
            return actor.schedule(guard(task), Math.max(0, delayMs), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            return CompletableFuture.completedFuture(null); // closing: the timer is moot
        }
    }

    private static Runnable guard(Runnable task) {
        return () -> {
            try {
                task.run();
            } catch (Throwable t) {
                LOG.error("internal error in the Turnstile client (please report it)", t);
            }
        };
    }

    private void emit(Consumer<LeaseListener> call) {
        callbackExecutor.execute(() -> {
            try {
                call.accept(listener);
            } catch (Throwable t) {
                LOG.warn("lease listener threw; ignored", t);
            }
        });
    }

    /** The application's view of an internal future: completes on the callback thread. */
    private <T> CompletableFuture<T> external(CompletableFuture<T> inner) {
        CompletableFuture<T> out = new CompletableFuture<>();
        inner.whenComplete((v, e) -> callbackExecutor.execute(() -> {
            if (e != null) {
                out.completeExceptionally(e);
            } else {
                out.complete(v);
            }
        }));
        return out;
    }

    private <T> T await(CompletableFuture<T> f, long boundMs) {
        try {
            return f.get(boundMs, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof TurnstileException te) {
                throw te;
            }
            throw new TurnstileException(Kind.PROTOCOL, "unexpected failure: " + c, c);
        } catch (TimeoutException e) {
            throw new TurnstileException(Kind.TIMEOUT, "no result within " + boundMs + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new TurnstileException(Kind.INTERRUPTED, "interrupted while waiting");
        }
    }

    /** A safety bound for blocking calls; internal timeouts always complete the futures sooner. */
    private long requestBoundMs(long extraMs) {
        return (2 * requestTimeoutMs + extraMs) * (servers.size() + 2L) + 1_000;
    }

    private long connectBoundMs() {
        return (cfg.connectTimeout().toMillis() + requestTimeoutMs) * (servers.size() + 2L) + 1_000;
    }

    private int nextCorrelationId() {
        while (true) {
            int id = correlation.incrementAndGet() & 0x7FFF_FFFF;
            if (id != 0) {
                return id;
            }
        }
    }

    private TurnstileException closedException() {
        return new TurnstileException(Kind.CLOSED, "the Turnstile client is closed");
    }

    // ================================================================== sessions

    private CompletableFuture<SessionInfo> connectInner() {
        CompletableFuture<SessionInfo> f = new CompletableFuture<>();
        if (!onClientThread(() -> {
            switch (state) {
                case CLOSED -> f.completeExceptionally(closedException());
                case CONNECTED -> f.complete(session);
                case NEW, FAILED -> {
                    connectWaiters.add(f);
                    startSession();
                }
                default -> connectWaiters.add(f);
            }
        })) {
            f.completeExceptionally(closedException());
        }
        return f;
    }

    /** Runs {@code action} with the live connection, now or once a session is up (within the request timeout). */
    private void withSession(Consumer<Connection> action, Consumer<TurnstileException> fail) {
        switch (state) {
            case CLOSED -> fail.accept(closedException());
            case FAILED -> fail.accept(fatal);
            case CONNECTED -> action.accept(conn);
            default -> {
                if (state == State.NEW) {
                    startSession();
                }
                Waiter w = new Waiter(action, fail);
                waiters.add(w);
                w.timeout = schedule(() -> {
                    if (waiters.remove(w)) {
                        fail.accept(new TurnstileException(Kind.TIMEOUT, "no session with any of " + serversView
                                + " within " + requestTimeoutMs + " ms"
                                + (lastFailure == null ? "" : "; last failure: " + lastFailure.getMessage()),
                                lastFailure));
                    }
                }, requestTimeoutMs);
            }
        }
    }

    private void startSession() {
        fatal = null;
        state = everReady ? State.RECONNECTING : State.CONNECTING;
        failedRounds = 0;
        beginRound();
    }

    /** One round: every known server once, the leader hint first, then from the cursor on. */
    private void beginRound() {
        retryTask = null;
        if (state == State.CLOSED || state == State.FAILED) {
            return;
        }
        List<ServerAddress> order = new ArrayList<>();
        if (preferred != null) {
            order.add(preferred);
            preferred = null;
        }
        int n = servers.size();
        for (int i = 0; i < n; i++) {
            ServerAddress a = servers.get(Math.floorMod(cursor + i, n));
            if (!order.contains(a)) {
                order.add(a);
            }
        }
        round = order;
        roundPos = 0;
        roundFailures = new ArrayList<>();
        attemptNext();
    }

    private void attemptNext() {
        if (state == State.CLOSED || state == State.FAILED) {
            return;
        }
        if (roundPos >= round.size()) {
            roundFailed();
            return;
        }
        ServerAddress a = round.get(roundPos++);
        long gen = ++attemptGeneration;
        int helloId = nextCorrelationId();
        LOG.debug("connecting to {}", a);
        try {
            connector.execute(() -> {
                Connection c = null;
                Throwable err = null;
                try {
                    c = Connection.open(a, cfg, helloId, s -> connecting = s);
                } catch (Throwable t) {
                    err = t;
                } finally {
                    connecting = null;
                }
                Connection fc = c;
                Throwable fe = err;
                if (!onClientThread(() -> attemptDone(gen, a, fc, fe)) && fc != null) {
                    fc.close();
                }
            });
        } catch (RejectedExecutionException e) {
            // closing
        }
    }

    private void attemptDone(long gen, ServerAddress a, Connection c, Throwable err) {
        if (state == State.CLOSED || gen != attemptGeneration) {
            if (c != null) {
                c.close();
            }
            return;
        }
        if (c != null) {
            sessionUp(c);
            return;
        }
        lastFailure = err;
        roundFailures.add(err);
        if (err instanceof TurnstileException te && te.kind() == Kind.REFUSED && refusesTheClient(te.errorCode())) {
            failFatally(a, te);
            return;
        }
        LOG.info("cannot open a session with {}: {}", a, err.getMessage());
        attemptNext();
    }

    /** Codes at HELLO that every server would repeat: trying others is pointless. */
    private static boolean refusesTheClient(ErrorCode code) {
        return code != null && (code.action() == ErrorCode.Action.GIVE_UP || code.action() == ErrorCode.Action.DROP_TOKEN);
    }

    private void roundFailed() {
        failedRounds++;
        TurnstileException e = new TurnstileException(Kind.CONNECTION, "no Turnstile server reachable (tried "
                + names(round) + "): " + summary(roundFailures), lastFailure);
        for (Throwable t : roundFailures) {
            if (t != lastFailure) {
                e.addSuppressed(t);
            }
        }
        List<CompletableFuture<SessionInfo>> ws = new ArrayList<>(connectWaiters);
        connectWaiters.clear();
        for (CompletableFuture<SessionInfo> w : ws) {
            w.completeExceptionally(e);
        }
        long delay = backoff.delayMs(failedRounds);
        LOG.warn("no Turnstile server reachable (round {}, tried {}); next round in {} ms", failedRounds,
                names(round), delay);
        retryTask = schedule(this::beginRound, delay);
    }

    private static String summary(List<Throwable> failures) {
        StringBuilder sb = new StringBuilder();
        for (Throwable t : failures) {
            if (sb.length() > 0) {
                sb.append("; ");
            }
            sb.append(t.getMessage());
        }
        return sb.toString();
    }

    /** A server refused the client itself (auth token, version): stop until connect() is called again. */
    private void failFatally(ServerAddress a, TurnstileException te) {
        LOG.error("{} refused this client ({}); not retrying until connect() is called again", a, te.getMessage());
        state = State.FAILED;
        fatal = te;
        failWaiters(te);
        List<CompletableFuture<SessionInfo>> ws = new ArrayList<>(connectWaiters);
        connectWaiters.clear();
        for (CompletableFuture<SessionInfo> w : ws) {
            w.completeExceptionally(te);
        }
        // The leases cannot be reclaimed by this client: they are lost, and the codes decide the tokens.
        for (Held h : new ArrayList<>(held.values())) {
            held.remove(h.lease.id());
            LeaseLossReason reason = LeaseLossReason.server(Math.max(0, te.rawCode()));
            emitLost(h.lease, reason);
            decideToken(h.lease.id(), reason);
        }
    }

    private void failWaiters(TurnstileException e) {
        List<Waiter> ws = new ArrayList<>(waiters);
        waiters.clear();
        for (Waiter w : ws) {
            w.timeout.cancel(false);
            w.fail.accept(e);
        }
    }

    private void sessionUp(Connection c) {
        Welcome w = c.welcome();
        conn = c;
        lastFailure = null;
        failedRounds = 0;
        round = List.of();
        int idx = servers.indexOf(c.address);
        if (idx < 0) {
            servers.add(c.address);
            idx = servers.size() - 1;
        }
        cursor = idx;
        for (String p : w.peers()) {
            ServerAddress peer = ServerAddress.tryParse(p);
            if (peer != null && !servers.contains(peer)) {
                servers.add(peer);
                LOG.info("peer {} (named by {}) added to the failover list", peer, c.address);
            } else if (peer == null) {
                LOG.debug("{} named a peer that is not host:port: '{}'", c.address, p);
            }
        }
        serversView = names(servers);
        SessionInfo info = new SessionInfo(c.address.toString(), w.serverId(),
                Duration.ofMillis(w.heartbeatIntervalMs()), Duration.ofMillis(w.leaseTimeoutMs()),
                Instant.ofEpochMilli(w.serverTimeMs()),
                w.licenseValidUntilMs() == 0 ? null : Instant.ofEpochMilli(w.licenseValidUntilMs()),
                (w.flags() & Welcome.FLAG_LICENSE_EXPIRING) != 0, (w.flags() & Welcome.FLAG_MEMORY_ONLY) != 0,
                w.peers());
        session = info;
        long hb = heartbeatIntervalMs(w);
        long hbTimeout = heartbeatTimeoutMs(w);
        c.startReader(new Connection.Sink() {
            @Override
            public void onEnvelope(Connection from, Envelope e) {
                onClientThread(() -> onEnvelopeOnClientThread(from, e));
            }

            @Override
            public void onLost(Connection from, Throwable cause) {
                onClientThread(() -> connectionLost(from, cause));
            }
        }, hb + hbTimeout + 1_000, "turnstile-reader-" + c.address);
        heartbeatTask = actor.scheduleAtFixedRate(guard(this::heartbeatTick), hb, hb, TimeUnit.MILLISECONDS);
        if (info.licenseExpiring() && info.licenseValidUntil() != null) {
            Instant until = info.licenseValidUntil();
            emit(l -> l.licenseExpiring(until));
        }
        LOG.debug("WELCOME from {} ({}): heartbeat {} ms, lease timeout {} ms, peers {}", c.address, w.serverId(),
                w.heartbeatIntervalMs(), w.leaseTimeoutMs(), w.peers());

        // Reclaim what we hold, and (once per client) what an earlier run of the program stored.
        if (!tokensRestored && cfg.reclaimStoredTokens()) {
            tokensRestored = true;
            try {
                for (LeaseToken t : tokens.all()) {
                    if (t.hwId().equals(cfg.hwId()) && !held.containsKey(t.leaseId())) {
                        Held r = new Held(Lease.of(t), t.server(), true);
                        r.secret = t.reclaimSecret();
                        held.put(t.leaseId(), r);
                    }
                }
            } catch (RuntimeException e) {
                LOG.error("cannot read stored tokens from {}; leases of an earlier run are not reclaimed", tokens, e);
            }
        }
        reclaimsInFlight = 0;
        for (Held h : new ArrayList<>(held.values())) {
            sendReclaim(c, h);
        }
        for (Held h : new ArrayList<>(returning.values())) {
            sendReclaim(c, h);
        }
        if (reclaimsInFlight == 0) {
            ready(c);
        }
    }

    /** The WELCOME's interval; a server that names none (0) gets a third of its lease timeout. */
    private static long heartbeatIntervalMs(Welcome w) {
        if (w.heartbeatIntervalMs() > 0) {
            return Math.max(50, w.heartbeatIntervalMs());
        }
        return w.leaseTimeoutMs() > 0 ? Math.max(50, w.leaseTimeoutMs() / 3) : 10_000;
    }

    private long heartbeatTimeoutMs(Welcome w) {
        long t = requestTimeoutMs;
        if (w.leaseTimeoutMs() > 0) {
            t = Math.min(t, w.leaseTimeoutMs());
        }
        return Math.max(t, heartbeatIntervalMs(w));
    }

    private void ready(Connection c) {
        if (c != conn || state == State.CLOSED) {
            return;
        }
        boolean again = everReady;
        everReady = true;
        state = State.CONNECTED;
        readyAtNanos = System.nanoTime();
        SessionInfo info = session;
        LOG.info("session with {} ({}) ready: heartbeat {} ms, lease timeout {} ms, {} leases held", c.address,
                info.serverId(), info.heartbeatInterval().toMillis(), info.leaseTimeout().toMillis(), held.size());
        List<CompletableFuture<SessionInfo>> cws = new ArrayList<>(connectWaiters);
        connectWaiters.clear();
        for (CompletableFuture<SessionInfo> f : cws) {
            f.complete(info);
        }
        List<Waiter> ws = new ArrayList<>(waiters);
        waiters.clear();
        for (Waiter w : ws) {
            w.timeout.cancel(false);
            w.action.accept(c);
        }
        if (again) {
            emit(l -> l.reconnected(info));
        }
    }

    /** The connection {@code c} is gone (socket closed, dead, protocol violation, or we fail over). */
    private void connectionLost(Connection c, Throwable cause) {
        connectionLost(c, cause, false);
    }

    /** @param deliberate we leave on purpose (fail over): not worth a warning */
    private void connectionLost(Connection c, Throwable cause, boolean deliberate) {
        c.close();
        if (c != conn) {
            return;
        }
        conn = null;
        boolean wasReady = state == State.CONNECTED;
        if (heartbeatTask != null) {
            heartbeatTask.cancel(false);
            heartbeatTask = null;
        }
        List<Pending> ps = new ArrayList<>(c.pending.values());
        c.pending.clear();
        TurnstileException lost = new TurnstileException(state == State.CLOSED ? Kind.CLOSED : Kind.CONNECTION,
                "connection to " + c.address + " lost: " + cause.getMessage(), cause);
        for (Pending p : ps) {
            p.cancelTimeout();
            if (!p.abandoned) {
                p.responder.onFailure(lost);
            }
        }
        if (state == State.CLOSED) {
            return;
        }
        lastFailure = cause;
        if (!wasReady || System.nanoTime() - readyAtNanos < TimeUnit.MILLISECONDS.toNanos(STABLE_SESSION_MS)) {
            churn++;
        } else {
            churn = 0;
        }
        int idx = servers.indexOf(c.address);
        cursor = idx < 0 ? 0 : idx + 1;
        state = everReady ? State.RECONNECTING : State.CONNECTING;
        if (deliberate) {
            LOG.info("left {}; {} leases held, looking for a server", c.address, held.size());
        } else {
            LOG.warn("session with {} lost ({}); {} leases held, looking for a server", c.address, cause.getMessage(),
                    held.size());
        }
        String server = c.address.toString();
        emit(l -> l.disconnected(server, cause));
        if (churn > servers.size()) {
            // Sessions keep dying young (a server that welcomes and then refuses or closes): pace it.
            long delay = backoff.delayMs(churn - servers.size());
            LOG.info("sessions end right after they start; next round in {} ms", delay);
            retryTask = schedule(this::beginRound, delay);
        } else {
            beginRound();
        }
    }

    /** Leaves {@code c} for another server, {@code leaderHint} ({@code host:port}) first when given. */
    private void failOver(Connection c, String leaderHint, String why) {
        if (c != conn) {
            return;
        }
        ServerAddress leader = ServerAddress.tryParse(leaderHint);
        if (leader != null) {
            preferred = leader;
            if (!servers.contains(leader)) {
                servers.add(leader);
                serversView = names(servers);
            }
        }
        LOG.info("failing over from {}: {}{}", c.address, why, leader == null ? "" : " (leader hint " + leader + ")");
        connectionLost(c, new TurnstileException(Kind.CONNECTION, c.address + ": " + why), true);
    }

    private void closeOnClientThread(CompletableFuture<Void> done, boolean goodbye) {
        if (state == State.CLOSED) {
            done.complete(null);
            return;
        }
        State was = state;
        state = State.CLOSED;
        attemptGeneration++;
        if (retryTask != null) {
            retryTask.cancel(false);
        }
        if (heartbeatTask != null) {
            heartbeatTask.cancel(false);
        }
        if (expiryTask != null) {
            expiryTask.cancel(false);
        }
        TurnstileException closed = closedException();
        failWaiters(closed);
        for (CompletableFuture<SessionInfo> f : connectWaiters) {
            f.completeExceptionally(closed);
        }
        connectWaiters.clear();
        Connection c = conn;
        if (c == null || was != State.CONNECTED || !goodbye) {
            finishClose(c, done);
            return;
        }
        send(c, new Message.Goodbye(0, "client closing"), requestTimeoutMs, new Responder() {
            @Override
            public void onResponse(Envelope e) {
                if (e.message() instanceof Message.Goodbye) {
                    // The server checked in every lease of the session: their tokens are void.
                    int n = 0;
                    for (Held h : new ArrayList<>(held.values())) {
                        if (!h.restoring) {
                            held.remove(h.lease.id());
                            tokens.removeSafelyByLeaseId(h.lease.id());
                            n++;
                        }
                    }
                    LOG.info("closed the session with {}: {} leases checked in", c.address, n);
                }
                finishClose(c, done);
            }

            @Override
            public void onFailure(TurnstileException e) {
                LOG.info("closed without the server's GOODBYE ({}); tokens kept", e.getMessage());
                finishClose(c, done);
            }
        });
    }

    private void finishClose(Connection c, CompletableFuture<Void> done) {
        if (c != null) {
            conn = c;
            connectionLost(c, new IOException("client closed"));
            conn = null;
        }
        session = null;
        done.complete(null);
    }

    // ================================================================== requests and frames

    /** Sends a request on {@code c}; the responder hears exactly one of onResponse / onFailure. */
    private void send(Connection c, Message m, long timeoutMs, Responder r) {
        int id = nextCorrelationId();
        Pending p = new Pending(id, m.type(), r);
        c.pending.put(id, p);
        p.timeout = schedule(() -> requestTimedOut(c, p), timeoutMs);
        try {
            c.write(Codec.encode(id, m, c.version()));
        } catch (IOException e) {
            connectionLost(c, e);
        }
    }

    private void requestTimedOut(Connection c, Pending p) {
        if (c.pending.get(p.correlationId) != p || p.abandoned) {
            return;
        }
        if (p.type == MessageType.CHECKOUT) {
            p.abandoned = true; // a late GRANTED is checked in at once, so no seat leaks
        } else {
            c.pending.remove(p.correlationId);
        }
        p.responder.onFailure(new TurnstileException(Kind.TIMEOUT, "no answer from " + c.address + " to "
                + p.type + " within the timeout"));
    }

    private void onEnvelopeOnClientThread(Connection c, Envelope env) {
        if (c != conn) {
            return; // a frame from a connection we already left
        }
        Message m = env.message();
        int id = env.correlationId();
        switch (m.type()) {
            case NOTICE -> onNotice(c, (Notice) m);
            case GOODBYE, ERROR -> {
                if (id == 0) {
                    int code = m instanceof Message.Error e ? e.code() : ((Message.Goodbye) m).code();
                    String text = m instanceof Message.Error e ? e.message() : ((Message.Goodbye) m).message();
                    ErrorCode ec = ErrorCode.ofCode(code);
                    LOG.info("{} {}: {} ({})", c.address, m.type() == MessageType.GOODBYE ? "said goodbye"
                            : "reported an error", ec == null ? "code " + code : ec.wireName(), text);
                    if (m.type() == MessageType.GOODBYE || ec == null || ec.closesConnection()) {
                        connectionLost(c, new TurnstileException(code, text, 0, ""));
                    }
                } else {
                    answer(c, env);
                }
            }
            case GRANTED, QUEUED, DENIED, HEARTBEAT_RESULT, CHECKED_IN -> answer(c, env);
            default -> violation(c, m.type() + " is not sent by servers after WELCOME (PROTOCOL.md section 5)");
        }
    }

    private void answer(Connection c, Envelope env) {
        Message m = env.message();
        Pending p = c.pending.get(env.correlationId());
        if (p == null) {
            if (m instanceof Granted g) {
                checkInUnwanted(c, g, "it answers no request of this session");
            } else {
                LOG.debug("{}: {} with correlation id {} answers no pending request; ignored", c.address, m.type(),
                        env.correlationId());
            }
            return;
        }
        if (!answers(p.type, m.type())) {
            violation(c, m.type() + " cannot answer " + p.type + " (PROTOCOL.md section 5)");
            return;
        }
        if (m instanceof Message.Queued q) {
            if (!p.abandoned) {
                p.cancelTimeout();
                p.timeout = schedule(() -> requestTimedOut(c, p), q.waitTimeoutMs() + requestTimeoutMs);
                p.responder.onQueued(q);
            }
            return;
        }
        c.pending.remove(env.correlationId());
        p.cancelTimeout();
        if (p.abandoned) {
            if (m instanceof Granted g) {
                checkInUnwanted(c, g, "its checkout had already timed out");
            }
            return;
        }
        p.responder.onResponse(env);
    }

    private static boolean answers(MessageType request, MessageType answer) {
        if (answer == MessageType.ERROR) {
            return true;
        }
        return switch (request) {
            case CHECKOUT -> answer == MessageType.GRANTED || answer == MessageType.QUEUED || answer == MessageType.DENIED;
            case HEARTBEAT -> answer == MessageType.HEARTBEAT_RESULT;
            case CHECKIN -> answer == MessageType.CHECKED_IN;
            case GOODBYE -> answer == MessageType.GOODBYE;
            default -> false;
        };
    }

    private void violation(Connection c, String what) {
        LOG.warn("{} broke the protocol, closing the connection: {}", c.address, what);
        connectionLost(c, new TurnstileException(Kind.PROTOCOL, c.address + ": " + what));
    }

    /** A seat we did not ask for (or no longer want): give it back at once. */
    private void checkInUnwanted(Connection c, Granted g, String why) {
        checkInUnwanted(c, g, why, false);
    }

    private void checkInUnwanted(Connection c, Granted g, String why, boolean expected) {
        if (expected) {
            LOG.info("{} gave lease {} ({}) back for {}; checking it in", c.address, g.leaseId(), g.product(), why);
        } else {
            LOG.warn("{} granted lease {} ({}), but {}; checking it in", c.address, g.leaseId(), g.product(), why);
        }
        send(c, new Message.Checkin(g.leaseId()), requestTimeoutMs, new Responder() {
            @Override
            public void onResponse(Envelope e) {
                LOG.debug("unwanted lease {} checked in: {}", g.leaseId(), e.message().type());
            }

            @Override
            public void onFailure(TurnstileException e) {
                LOG.debug("unwanted lease {} not checked in: {}", g.leaseId(), e.getMessage());
            }
        });
    }

    private void onNotice(Connection c, Notice n) {
        emit(l -> l.notice(n));
        NoticeKind kind = n.noticeKind();
        if (kind == null) {
            LOG.debug("{}: NOTICE of unknown kind {} ignored", c.address, n.kind());
            return;
        }
        switch (kind) {
            case LEASE_REVOKED -> {
                Held h = held.remove(n.leaseId());
                if (h != null) {
                    LOG.warn("lease {} ({}) revoked by {}: {} ({})", n.leaseId(), h.lease.product(), c.address,
                            n.reason() == null ? "code " + n.code() : n.reason().wireName(), n.text());
                    emitLost(h.lease, LeaseLossReason.server(n.code()));
                    // The same decision as for a failed heartbeat: on expiry the server pushes this
                    // notice and may answer a heartbeat in flight with the same code.
                    decideToken(n.leaseId(), LeaseLossReason.server(n.code()));
                }
            }
            case LICENSE_EXPIRING -> {
                Instant until = Instant.ofEpochMilli(n.deadlineMs());
                LOG.warn("{}: the license ends at {}", c.address, until);
                emit(l -> l.licenseExpiring(until));
            }
            case DRAINING -> {
                LOG.info("{} is draining (closes at {}): {}", c.address, Instant.ofEpochMilli(n.deadlineMs()), n.text());
                if (servers.size() > 1) {
                    failOver(c, "", "server is draining");
                }
            }
            case LEADER_CHANGED -> failOver(c, n.text(), "leader changed");
            case ENTITLEMENT_CHANGED -> LOG.info("{}: entitlement of {} changed: {}", c.address, n.product(), n.text());
            default -> LOG.debug("{}: NOTICE {} ignored", c.address, kind);
        }
    }

    // ================================================================== checkout and checkin

    private CompletableFuture<Lease> checkoutInner(CheckoutRequest request) {
        Objects.requireNonNull(request, "request");
        CompletableFuture<Lease> f = new CompletableFuture<>();
        long waitDeadline = System.nanoTime() + request.waitTimeout().toNanos();
        if (!onClientThread(() -> checkoutAttempt(request, f, 0, waitDeadline, 0))) {
            f.completeExceptionally(closedException());
        }
        return f;
    }

    /**
     * One try of a checkout. {@code waitDeadline} (nanoTime) and {@code resends} serve a checkout that waits in the
     * server's queue: when its connection is lost while it waits (the server died, or a triad leader changed: the
     * new leader drops the old one's queue), it is sent again to the next server with the wait it has left, at most
     * once per configured server. It joins the back of the new server's queue. Should the lost server have granted
     * it just before dying, that lease waits ORPHANED for the reclaim grace and is then freed: a seat held a little
     * longer, never a seat counted twice.
     */
    /** Runs {@code task} on the client thread after {@code delayMs}; fails {@code f} if the client is closing. */
    private void later(Runnable task, long delayMs, CompletableFuture<?> f) {
        try {
            actor.schedule(guard(() -> {
                if (state == State.CLOSED) {
                    f.completeExceptionally(closedException());
                } else {
                    task.run();
                }
            }), Math.max(0, delayMs), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException closing) {
            f.completeExceptionally(closedException());
        }
    }

    /** Rounds of refusals (notMaster / noQuorum from every server) a checkout rides out while a triad elects. */
    private static final int MAX_ELECTION_ROUNDS = 12;

    private void checkoutAttempt(CheckoutRequest req, CompletableFuture<Lease> f, int attempt, long waitDeadline,
                                 int resends) {
        withSession(c -> {
            Checkout m = new Checkout(req.product(), req.licenseKey(), req.quantity(), req.enforcement().code(),
                    req.waitInQueue() ? Checkout.FLAG_WAIT : 0, req.waitTimeout().toMillis(), Message.NO_LEASE);
            send(c, m, requestTimeoutMs, new Responder() {
                @Override
                public void onQueued(Message.Queued q) {
                    LOG.debug("checkout of {} queued at position {} for up to {} ms", req.product(), q.position(),
                            q.waitTimeoutMs());
                }

                @Override
                public void onResponse(Envelope e) {
                    Message a = e.message();
                    if (a instanceof Granted g) {
                        f.complete(granted(c, req, g));
                    } else if (a instanceof Denied d) {
                        refused(c, d.code(), d.retryAfterMs(), d.leader(), d.message());
                    } else {
                        Message.Error err = (Message.Error) a;
                        refused(c, err.code(), 0, "", err.message());
                    }
                }

                private void refused(Connection c, int code, long retryAfterMs, String leader, String text) {
                    ErrorCode ec = ErrorCode.ofCode(code);
                    if (ec != null && ec.action() == ErrorCode.Action.FAIL_OVER && attempt < servers.size()) {
                        failOver(c, leader, "checkout refused with " + ec.wireName());
                        checkoutAttempt(req, f, attempt + 1, waitDeadline, resends);
                        return;
                    }
                    // Every server refused with notMaster / noQuorum: a triad is electing a leader (about a second
                    // after a leader dies). Keep looking, with backoff, until the request's own bound (its wait, if
                    // it waits in a queue, plus the request timeout), then fail with the last refusal.
                    long retryUntil = waitDeadline + TimeUnit.MILLISECONDS.toNanos(requestTimeoutMs);
                    if (ec != null && ec.action() == ErrorCode.Action.FAIL_OVER && attempt < servers.size() + MAX_ELECTION_ROUNDS
                            && System.nanoTime() < retryUntil) {
                        long delay = Math.min(backoff.delayMs(attempt - servers.size() + 1),
                                Math.max(1, TimeUnit.NANOSECONDS.toMillis(retryUntil - System.nanoTime())));
                        failOver(c, leader, "checkout refused with " + ec.wireName() + " by every server; trying again in "
                                + delay + " ms");
                        later(() -> checkoutAttempt(req, f, attempt + 1, waitDeadline, resends), delay, f);
                        return;
                    }
                    f.completeExceptionally(new TurnstileException(code, text, retryAfterMs, leader));
                }

                @Override
                public void onFailure(TurnstileException e) {
                    long left = waitDeadline - System.nanoTime();
                    boolean explicitWait = !req.waitTimeout().isZero();
                    if (req.waitInQueue() && e.kind() == Kind.CONNECTION && state != State.CLOSED
                            && resends < servers.size() && (!explicitWait || left > 0)) {
                        CheckoutRequest again = explicitWait
                                ? req.waitingInQueue(Duration.ofNanos(Math.max(TimeUnit.MILLISECONDS.toNanos(1), left))) : req;
                        LOG.info("the waiting checkout of {} lost its connection ({}); sending it to the next server{}",
                                req.product(), e.getMessage(), explicitWait
                                        ? " with " + TimeUnit.NANOSECONDS.toMillis(left) + " ms of its wait left" : "");
                        // after connectionLost() has finished (it tells the pending requests first)
                        later(() -> checkoutAttempt(again, f, attempt, waitDeadline, resends + 1), 0, f);
                        return;
                    }
                    f.completeExceptionally(e);
                }
            });
        }, f::completeExceptionally);
    }

    private Lease granted(Connection c, CheckoutRequest req, Granted g) {
        Lease lease = new Lease(g.leaseId(), g.product().isEmpty() ? req.product() : g.product(), g.entitlementId(),
                g.quantity(), req.enforcement(), req.licenseKey());
        String server = c.address.toString();
        Held h = new Held(lease, server, false);
        confirmed(h, cfg.ticker().getAsLong(), leaseTimeoutOf(c, g));
        h.boundTo = c;
        h.secret = secretOf(c, g);
        if (c.speaks11() && h.secret == null) {
            LOG.warn("{} granted lease {} over protocol 1.1 without a reclaim secret; it can be reclaimed only as "
                    + "1.0 allows", c.address, lease.id());
        }
        held.put(lease.id(), h);
        try {
            tokens.store(LeaseToken.of(lease, server, cfg.hwId(), Instant.now(), h.secret));
        } catch (RuntimeException e) {
            LOG.error("lease {} granted, but its token could not be stored in {}: it cannot be reclaimed after a "
                    + "restart", lease.id(), tokens, e);
        }
        LOG.debug("lease {} granted by {}: {} x {} from {}", lease.id(), server, lease.quantity(), lease.product(),
                lease.entitlementId());
        return lease;
    }

    private CompletableFuture<Void> checkinInner(UUID id) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        if (!onClientThread(() -> checkinOnClientThread(id, f))) {
            f.completeExceptionally(closedException());
        }
        return f;
    }

    private void checkinOnClientThread(UUID id, CompletableFuture<Void> f) {
        if (state == State.CLOSED) {
            f.completeExceptionally(closedException());
            return;
        }
        Held h = held.get(id);
        if (h == null) {
            tokens.removeSafelyByLeaseId(id);
            f.complete(null); // not held (already checked in, lost, or never ours): nothing to give back
            return;
        }
        Connection c = conn;
        // A lease already reclaimed on the session being set up (other reclaims still in flight) is checked in there
        // at once: deferred, it would wait for the session after this one, and the server would hold the seat until
        // the lease timed out (found by bench/triad-race-loop.sh: a seat given back 10 s late after a failover).
        boolean reclaimedHere = c != null && h.boundTo == c && state != State.CLOSED;
        if ((state != State.CONNECTED || c == null) && !reclaimedHere) {
            // The server keeps the seat for its reclaim grace. Give it back as soon as a session is up (reclaim, then
            // check in), so a failover does not hold a checked-in seat for the whole grace.
            returning.put(id, h);
            forget(h, "checked in while no session is up; it is given back on the next session (or freed by the "
                    + "server when its reclaim grace ends)");
            f.complete(null);
            return;
        }
        h.checkingIn = true;
        send(c, checkinOf(h, c), requestTimeoutMs, new Responder() {
            @Override
            public void onResponse(Envelope e) {
                h.checkingIn = false;
                if (e.message() instanceof Message.CheckedIn) {
                    forget(h, null);
                    f.complete(null);
                    return;
                }
                Message.Error err = (Message.Error) e.message();
                ErrorCode ec = err.errorCode();
                if (ec == ErrorCode.LEASE_ID_NOT_FOUND || ec == ErrorCode.LICENSE_CHECKOUT_EXPIRED) {
                    forget(h, "the server no longer knew it (" + ec.wireName() + ")");
                    f.complete(null);
                } else if (ec != null && ec.action() == ErrorCode.Action.DROP_TOKEN) {
                    // e.g. reclaimSecretMismatch: this client cannot end the lease; its token is worthless
                    forget(h, "the server refused the checkin with " + ec.wireName() + "; the token is dropped");
                    f.completeExceptionally(new TurnstileException(err.code(), err.message(), 0, ""));
                } else {
                    f.completeExceptionally(new TurnstileException(err.code(), err.message(), 0, ""));
                }
            }

            @Override
            public void onFailure(TurnstileException e) {
                h.checkingIn = false;
                if (e.kind() == Kind.CONNECTION) {
                    returning.put(id, h); // the server may not have seen it: give it back on the next session
                    forget(h, "the connection was lost during the checkin; it is given back on the next session");
                    f.complete(null);
                } else {
                    f.completeExceptionally(e);
                }
            }
        });
    }

    private void forget(Held h, String why) {
        held.remove(h.lease.id(), h);
        tokens.removeSafelyByLeaseId(h.lease.id());
        if (why == null) {
            LOG.debug("lease {} checked in", h.lease.id());
        } else {
            LOG.info("lease {} checked in: {}", h.lease.id(), why);
        }
    }

    // ================================================================== reclaim

    private void sendReclaim(Connection c, Held h) {
        reclaimsInFlight++;
        Lease l = h.lease;
        // Protocol 1.1: the lease's secret proves ownership (none: zero bytes, the server's legacy rule applies).
        Checkout m = new Checkout(l.product(), l.licenseKey(), l.quantity(), l.enforcement().code(),
                Checkout.FLAG_RECLAIM, 0, l.id(), c.speaks11() ? h.secret : null);
        send(c, m, requestTimeoutMs, new Responder() {
            @Override
            public void onResponse(Envelope e) {
                reclaimsInFlight--;
                reclaimAnswered(c, h, e.message());
                if (reclaimsInFlight == 0 && c == conn && state != State.CONNECTED) {
                    ready(c);
                }
            }

            @Override
            public void onFailure(TurnstileException e) {
                reclaimsInFlight--;
                if (e.kind() == Kind.TIMEOUT && c == conn) {
                    connectionLost(c, e); // the lease stays held: the next session reclaims it
                }
            }
        });
    }

    private void reclaimAnswered(Connection c, Held h, Message m) {
        UUID id = h.lease.id();
        String to = c.address.toString();
        if (returning.get(id) == h) { // checked in by the application while no session was up
            ErrorCode refused = m instanceof Granted ? null
                    : ErrorCode.ofCode(m instanceof Denied d ? d.code() : ((Message.Error) m).code());
            if (refused != null && refused.action() == ErrorCode.Action.FAIL_OVER) {
                failOver(c, m instanceof Denied d ? d.leader() : "", "reclaim refused with " + refused.wireName());
                return; // still returning: the next session tries again
            }
            returning.remove(id, h);
            if (m instanceof Granted g) {
                h.boundTo = c;
                checkInUnwanted(c, g, "the application, which checked it in while no session was up", true);
            } else {
                LOG.info("lease {} (checked in while no session was up): {} no longer holds it ({})", id, to,
                        refused == null ? "refused" : refused.wireName());
            }
            return;
        }
        if (m instanceof Granted g) {
            if (held.get(id) != h) {
                checkInUnwanted(c, g, "the application checked the lease in meanwhile");
                return;
            }
            if (!g.leaseId().equals(id)) {
                checkInUnwanted(c, g, "a RECLAIM of " + id + " must return that id");
                reclaimRefused(c, h, ErrorCode.LEASE_ID_NOT_FOUND.code(), "reclaim answered with another lease id");
                return;
            }
            String from = h.server;
            boolean restored = h.restoring;
            h.server = to;
            h.restoring = false;
            h.reclaimRetries = 0;
            confirmed(h, cfg.ticker().getAsLong(), leaseTimeoutOf(c, g));
            h.boundTo = c;
            byte[] echoed = secretOf(c, g);
            if (echoed != null) {
                h.secret = echoed; // the one presented, or a fresh one for a lease that had none
            }
            try {
                Optional<LeaseToken> t = tokens.get(id);
                if (t.isPresent()) {
                    tokens.store(t.get().movedTo(to, Instant.now()).withReclaimSecret(h.secret));
                }
            } catch (RuntimeException e) {
                LOG.error("cannot update the token of lease {} in {}", id, tokens, e);
            }
            Lease lease = h.lease;
            if (restored) {
                LOG.info("lease {} ({}) of an earlier run reclaimed on {}", id, lease.product(), to);
                emit(l -> l.leaseRestored(lease, to));
            } else if (!from.equals(to)) {
                LOG.info("lease {} ({}) moved from {} to {}", id, lease.product(), from, to);
                emit(l -> l.leaseMoved(lease, from, to));
            } else {
                LOG.info("lease {} ({}) kept on {} after reconnecting", id, lease.product(), to);
            }
            return;
        }
        int code;
        long retryAfter = 0;
        String leader = "";
        String text;
        if (m instanceof Denied d) {
            code = d.code();
            retryAfter = d.retryAfterMs();
            leader = d.leader();
            text = d.message();
        } else {
            code = ((Message.Error) m).code();
            text = ((Message.Error) m).message();
        }
        ErrorCode ec = ErrorCode.ofCode(code);
        if (ec != null && ec.action() == ErrorCode.Action.FAIL_OVER) {
            failOver(c, leader, "reclaim refused with " + ec.wireName());
            return;
        }
        if (ec != null && ec.action() == ErrorCode.Action.RETRY && ec != ErrorCode.NO_SEATS_AVAILABLE
                && h.reclaimRetries < MAX_RECLAIM_RETRIES) {
            h.reclaimRetries++;
            long delay = Math.max(retryAfter, backoff.delayMs(h.reclaimRetries));
            LOG.info("reclaim of lease {} refused with {}; retrying in {} ms", id, ec.wireName(), delay);
            reclaimsInFlight++;
            schedule(() -> {
                reclaimsInFlight--;
                if (c == conn && held.get(id) == h) {
                    sendReclaim(c, h);
                } else if (reclaimsInFlight == 0 && c == conn && state != State.CONNECTED) {
                    ready(c);
                }
            }, delay);
            return;
        }
        reclaimRefused(c, h, code, text);
    }

    private void reclaimRefused(Connection c, Held h, int code, String text) {
        UUID id = h.lease.id();
        held.remove(id, h);
        ErrorCode ec = ErrorCode.ofCode(code);
        LOG.warn("lease {} ({}) lost: {} refused its reclaim with {} ({})", id, h.lease.product(), c.address,
                ec == null ? "code " + code : ec.wireName(), text);
        emitLost(h.lease, LeaseLossReason.server(code));
        decideToken(id, LeaseLossReason.server(code));
    }

    private void emitLost(Lease lease, LeaseLossReason reason) {
        emit(l -> l.leaseLost(lease, reason));
    }

    // ================================================================== reclaim secrets (protocol 1.1)

    /** GRANTED's secret on a 1.1 connection, or null (1.0, or a server that sent none: all zero). */
    private static byte[] secretOf(Connection c, Granted g) {
        byte[] s = g.reclaimSecret();
        return !c.speaks11() || s == null || Secrets.isZero(s) ? null : s;
    }

    /**
     * A CHECKIN of {@code h} on {@code c}: with the lease's secret when {@code c} does not hold the lease (an
     * ORPHANED lease ended from a new connection, PROTOCOL.md 10.5), all zero when it does.
     */
    private static Message.Checkin checkinOf(Held h, Connection c) {
        return new Message.Checkin(h.lease.id(), c.speaks11() && h.boundTo != c ? h.secret : null);
    }

    // ================================================================== local expiry

    /** The lease timeout of a granted lease: GRANTED's, else WELCOME's; 0 = unknown (never expired locally). */
    private static long leaseTimeoutOf(Connection c, Granted g) {
        if (g.leaseTimeoutMs() > 0) {
            return g.leaseTimeoutMs();
        }
        Welcome w = c.welcome();
        return w == null ? 0 : Math.max(0, w.leaseTimeoutMs());
    }

    /** A server confirmed {@code h} (GRANTED) at {@code nowNanos}; from now on it is checked for local expiry. */
    private void confirmed(Held h, long nowNanos, long leaseTimeoutMs) {
        h.confirmedNanos = nowNanos;
        h.leaseTimeoutMs = leaseTimeoutMs;
        if (leaseTimeoutMs <= 0) {
            return;
        }
        long period = Math.max(MIN_EXPIRY_CHECK_MS, Math.min(MAX_EXPIRY_CHECK_MS, leaseTimeoutMs / 10));
        if (expiryTask != null && expiryPeriodMs <= period) {
            return;
        }
        if (expiryTask != null) {
            expiryTask.cancel(false);
        }
        expiryPeriodMs = period;
        try {
            expiryTask = actor.scheduleAtFixedRate(guard(this::expireUnconfirmedLeases), period, period,
                    TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException closing) {
            expiryTask = null;
        }
    }

    /**
     * Issue 12, finding 2: a lease no server confirmed (GRANTED, or a HEARTBEAT_RESULT that renewed it) for longer
     * than its lease timeout is no longer held by any server for this client, whatever the connection state: the
     * application is told ({@code expiredLocally}) and the handler decides about the token. Should a server still
     * have it (a reclaim grace), it is given back on the next session, as a lease checked in while disconnected.
     * Leases of an earlier run that are still being reclaimed are not the application's yet and are not checked.
     */
    private void expireUnconfirmedLeases() {
        if (state == State.CLOSED) {
            return;
        }
        long now = cfg.ticker().getAsLong();
        for (Held h : new ArrayList<>(held.values())) {
            if (h.restoring || h.checkingIn || h.leaseTimeoutMs <= 0) {
                continue;
            }
            long silentMs = TimeUnit.NANOSECONDS.toMillis(now - h.confirmedNanos);
            if (silentMs <= h.leaseTimeoutMs) {
                continue;
            }
            UUID id = h.lease.id();
            held.remove(id, h);
            LOG.warn("lease {} ({}) lost: no server confirmed it for {} ms, longer than its lease timeout of {} ms "
                    + "({}, state {})", id, h.lease.product(), silentMs, h.leaseTimeoutMs,
                    LeaseLossReason.EXPIRED_LOCALLY_NAME, state);
            emitLost(h.lease, LeaseLossReason.EXPIRED_LOCALLY);
            decideToken(id, LeaseLossReason.EXPIRED_LOCALLY);
            Connection c = conn;
            if (state == State.CONNECTED && c != null) {
                h.checkingIn = true;
                send(c, checkinOf(h, c), requestTimeoutMs, new Responder() {
                    @Override
                    public void onResponse(Envelope e) {
                        LOG.debug("locally expired lease {} given back: {}", id, e.message().type());
                    }

                    @Override
                    public void onFailure(TurnstileException e) {
                        LOG.debug("locally expired lease {} not given back: {}", id, e.getMessage());
                    }
                });
            } else {
                returning.put(id, h);
            }
        }
    }

    // ================================================================== heartbeats and tokens

    private void heartbeatTick() {
        Connection c = conn;
        if (c == null || state != State.CONNECTED) {
            return;
        }
        sendHeartbeats(c, null);
    }

    /** One HEARTBEAT per 1024 leases (one frame for all of them in practice); an empty one as keepalive. */
    private void sendHeartbeats(Connection c, CompletableFuture<List<LeaseStatus>> result) {
        List<UUID> ids = new ArrayList<>();
        if (!leaseHeartbeatsPaused) {
            for (Held h : held.values()) {
                if (!h.restoring && !h.checkingIn) {
                    ids.add(h.lease.id());
                }
            }
        }
        List<List<UUID>> batches = new ArrayList<>();
        for (int i = 0; i < ids.size(); i += Limits.MAX_HEARTBEAT_LEASES) {
            batches.add(ids.subList(i, Math.min(ids.size(), i + Limits.MAX_HEARTBEAT_LEASES)));
        }
        if (batches.isEmpty()) {
            batches.add(List.of());
        }
        List<LeaseStatus> all = new ArrayList<>();
        int[] open = {batches.size()};
        long timeout = heartbeatTimeoutMs(c.welcome());
        for (List<UUID> batch : batches) {
            send(c, new Message.Heartbeat(batch), timeout, new Responder() {
                @Override
                public void onResponse(Envelope e) {
                    if (e.message() instanceof HeartbeatResult r) {
                        heartbeatAnswered(c, r);
                        all.addAll(r.results());
                    } else {
                        Message.Error err = (Message.Error) e.message();
                        ErrorCode ec = err.errorCode();
                        LOG.warn("{} refused a heartbeat: {} ({})", c.address,
                                ec == null ? "code " + err.code() : ec.wireName(), err.message());
                        if (ec != null && ec.action() == ErrorCode.Action.FAIL_OVER) {
                            failOver(c, "", "heartbeat refused with " + ec.wireName());
                        }
                    }
                    if (--open[0] == 0 && result != null) {
                        result.complete(all);
                    }
                }

                @Override
                public void onFailure(TurnstileException e) {
                    if (e.kind() == Kind.TIMEOUT && c == conn) {
                        LOG.warn("no heartbeat answer from {} within {} ms; the connection is considered dead",
                                c.address, timeout);
                        connectionLost(c, e);
                    }
                    if (result != null) {
                        result.completeExceptionally(e);
                    }
                }
            });
        }
    }

    private void heartbeatAnswered(Connection c, HeartbeatResult r) {
        Instant now = Instant.now();
        long nowNanos = cfg.ticker().getAsLong();
        List<LeaseToken> confirmed = new ArrayList<>();
        boolean failOver = false;
        for (LeaseStatus s : r.results()) {
            UUID id = s.leaseId();
            Held h = held.get(id);
            if (h == null || h.restoring || h.checkingIn) {
                continue; // checked in (or being checked in) or lost meanwhile
            }
            if (s.ok()) {
                h.confirmedNanos = nowNanos;
                try {
                    tokens.get(id).ifPresent(t -> confirmed.add(t.confirmedAt(now)));
                } catch (RuntimeException e) {
                    LOG.warn("cannot read the token of lease {}: {}", id, e.toString());
                }
                continue;
            }
            ErrorCode ec = s.errorCode();
            ErrorCode.Action action = ec == null ? ErrorCode.Action.GIVE_UP : ec.action();
            if (action == ErrorCode.Action.FAIL_OVER) {
                failOver = true; // the lease lives on; reclaim it on the next server
                continue;
            }
            if (action != ErrorCode.Action.RETRY) {
                held.remove(id, h);
                LOG.warn("lease {} ({}) lost: {} answered its heartbeat with {}", id, h.lease.product(), c.address,
                        ec == null ? "code " + s.code() : ec.wireName());
                emitLost(h.lease, LeaseLossReason.server(s.code()));
            }
            decideToken(id, LeaseLossReason.server(s.code()));
        }
        if (!confirmed.isEmpty()) {
            try {
                tokens.storeAll(confirmed);
            } catch (RuntimeException e) {
                LOG.warn("cannot update {} tokens in {}: {}", confirmed.size(), tokens, e.toString());
            }
        }
        if (failOver) {
            failOver(c, "", "heartbeat answered with a fail-over code");
        }
    }

    /** A lost lease {@code id}: the handler decides about its token (unless disabled). */
    private void decideToken(UUID id, LeaseLossReason reason) {
        String codeName = reason.name();
        if (cfg.tokenAutomaticInvalidationDisabled()) {
            LOG.debug("token of lease {} kept after {}: automatic invalidation is disabled", id, codeName);
            return;
        }
        Optional<LeaseToken> token;
        try {
            token = tokens.get(id);
        } catch (RuntimeException e) {
            LOG.warn("cannot read the token of lease {}: {}", id, e.toString());
            return;
        }
        if (token.isEmpty()) {
            return;
        }
        boolean remove;
        try {
            remove = cfg.tokenInvalidationHandler().shouldInvalidate(token.get(), reason);
        } catch (RuntimeException e) {
            LOG.warn("token invalidation handler threw for lease {} ({}); token kept", id, codeName, e);
            remove = false;
        }
        if (remove) {
            tokens.removeSafelyByLeaseId(id);
            LOG.info("token of lease {} removed after {}", id, codeName);
        } else {
            LOG.debug("token of lease {} kept after {}", id, codeName);
        }
    }

    @Override
    public String toString() {
        return "TurnstileClient[" + name + ", " + state + ", servers=" + serversView + "]";
    }

    // ================================================================== small types

    /** A lease this client holds (or, {@code restoring}, reclaims from a stored token). Client thread only. */
    static final class Held {
        final Lease lease;
        String server;
        boolean restoring;
        int reclaimRetries;
        /** A CHECKIN is on its way: not heartbeated, and a heartbeat answer about it means nothing now. */
        boolean checkingIn;
        /** When a server last confirmed it (GRANTED, renewing HEARTBEAT_RESULT), on the client's ticker. */
        long confirmedNanos;
        /** Its lease timeout (GRANTED's, else WELCOME's); 0 = unknown, never expired locally. */
        long leaseTimeoutMs;
        /** Its reclaim secret (protocol 1.1), or null. Never logged. */
        byte[] secret;
        /** The connection that holds it on the server (granted or reclaimed there); null: none of ours yet. */
        Connection boundTo;

        Held(Lease lease, String server, boolean restoring) {
            this.lease = lease;
            this.server = server;
            this.restoring = restoring;
        }
    }

    /** Hears the answer to one request. Called on the client thread. */
    interface Responder {
        void onResponse(Envelope e);

        default void onQueued(Message.Queued q) {
        }

        void onFailure(TurnstileException e);
    }

    /** A request sent and not answered yet. Client thread only. */
    static final class Pending {
        final int correlationId;
        final MessageType type;
        final Responder responder;
        Future<?> timeout;
        /** Timed out, but a CHECKOUT's late GRANTED must still be checked in. */
        boolean abandoned;

        Pending(int correlationId, MessageType type, Responder responder) {
            this.correlationId = correlationId;
            this.type = type;
            this.responder = responder;
        }

        void cancelTimeout() {
            if (timeout != null) {
                timeout.cancel(false);
            }
        }
    }

    /** A request waiting for a session. Client thread only. */
    private static final class Waiter {
        final Consumer<Connection> action;
        final Consumer<TurnstileException> fail;
        Future<?> timeout;

        Waiter(Consumer<Connection> action, Consumer<TurnstileException> fail) {
            this.action = action;
            this.fail = fail;
        }
    }
}
