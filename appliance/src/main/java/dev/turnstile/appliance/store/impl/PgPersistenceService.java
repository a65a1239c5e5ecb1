package dev.turnstile.appliance.store.impl;

import dev.turnstile.appliance.log.Redaction;
import dev.turnstile.appliance.seat.Entitlement;
import dev.turnstile.appliance.seat.LeaseView;
import dev.turnstile.appliance.seat.LedgerEvent;
import dev.turnstile.appliance.store.PersistenceService;
import dev.turnstile.appliance.store.StoreConfig;
import dev.turnstile.appliance.store.StoreConfig.WriteMode;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.pgclient.PgConnectOptions;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The PostgreSQL store: a lock-free queue that the ledger's event loops feed, and one writer thread
 * ({@link StoreWriter}) that drains it to Postgres. This class is the part every thread touches:
 * the sink, the counters behind {@link #status()}, and the lifecycle calls, which hand their work to
 * the writer and complete on the caller's Vert.x context.
 */
public final class PgPersistenceService implements PersistenceService {
    static final Logger LOG = LoggerFactory.getLogger("dev.turnstile.appliance.store");

    final Vertx vertx;
    final StoreConfig config;
    final UUID runId = UUID.randomUUID();
    final Migrations migrations;
    /** {@code null} when the URL does not parse; {@link #urlProblem} says why. */
    final PgConnectOptions connectOptions;
    final String urlProblem;

    // ---- the queue: written by any thread, drained by the writer ----
    final ConcurrentLinkedQueue<QueuedEvent> queue = new ConcurrentLinkedQueue<>();
    /** Events taken by {@link #journal} into the queue (dropped ones are counted in {@link #dropped} only). */
    final AtomicLong offered = new AtomicLong();
    /** Events the writer took off {@link #queue}; written by the writer only. */
    volatile long taken;
    /** Beyond this many events in memory (the writer cannot even spill), events are dropped, counted and logged. */
    final long hardLimit;
    final LongAdder dropped = new LongAdder();
    final LongAdder lateEvents = new LongAdder();
    private final AtomicLong lastDropLogMs = new AtomicLong();
    /** Queue depth at which {@link #journal} wakes a waiting writer; set by the writer before it waits. */
    volatile long kickThreshold;
    volatile boolean writerWaiting;
    volatile boolean flushRequested;

    // ---- what the writer publishes ----
    /** Events of this run that are in Postgres or parked; written by the writer only. */
    volatile long done;
    volatile boolean connected;
    volatile boolean stopping;
    volatile boolean stopped;
    volatile long pendingInWriter;
    volatile long oldestInWriterMs = Long.MAX_VALUE;
    volatile String lastError;
    volatile long lastErrorAtMs;
    volatile long lastBatchAtMs;
    volatile int migrationsApplied;
    final LongAdder eventsWritten = new LongAdder();
    final LongAdder journalRows = new LongAdder();
    final LongAdder batchesWritten = new LongAdder();
    final LongAdder heartbeatsReceived = new LongAdder();
    final LongAdder heartbeatUpdates = new LongAdder();
    final LongAdder spilledTotal = new LongAdder();
    final LongAdder writeFailures = new LongAdder();

    final ConcurrentLinkedQueue<Barrier> barriers = new ConcurrentLinkedQueue<>();
    final AtomicReference<Entitlements> entitlementsToWrite = new AtomicReference<>();

    // ---- triad fencing (see raiseFence): null outside a triad, and in a triad member that never resumed ----
    /** The fence every event, entitlement write and reconcile of this store is stamped with from now on. */
    volatile Fence fence;
    /** The highest term this store has seen stored in {@code triad_fence} (0: none). */
    volatile long fenceSeenTerm;
    final LongAdder fencedBatches = new LongAdder();
    final LongAdder fencedEvents = new LongAdder();
    final LongAdder fencedSpillJournalOnly = new LongAdder();

    /** triad: the journal id whose fence guards the writes, and the Raft term the writer resumed in. */
    record Fence(UUID journalId, long term) {
    }

    /** Entitlements waiting to be written, with the fence they were recorded under (null outside a triad). */
    record Entitlements(List<Entitlement> list, Fence fence) {
    }

    final SpillStore spill;
    private final StoreWriter writer;
    private final Thread writerThread;
    final Promise<Void> startPromise = Promise.promise();
    final Promise<Void> stopPromise = Promise.promise();

    private PgPersistenceService(Vertx vertx, StoreConfig config, Migrations migrations) {
        this.vertx = vertx;
        this.config = config;
        this.migrations = migrations;
        PgConnectOptions opts = null;
        String problem = null;
        try {
            opts = connectOptions(config);
        } catch (IllegalArgumentException e) {
            problem = "store.url " + StoreConfig.describeUrl(config.url()) + " does not parse: " + Redaction.redact(e.getMessage())
                    + " (expected postgresql://user:password@host:port/database)";
        }
        this.connectOptions = opts;
        this.urlProblem = problem;
        this.hardLimit = Math.max(4L * config.queueCapacity(), config.queueCapacity() + 500_000L);
        this.kickThreshold = config.writeMode() == WriteMode.WRITE_THROUGH ? 1 : config.batchSize();
        this.spill = new SpillStore(config.spillDir());
        this.writer = new StoreWriter(this);
        this.writerThread = new Thread(writer, "turnstile-store-writer");
        this.writerThread.setDaemon(true);
    }

    /** Starts the store with the appliance's migrations. */
    public static Future<PgPersistenceService> start(Vertx vertx, StoreConfig config) {
        return start(vertx, config, Migrations.fromClasspath(Migrations.DEFAULT_LOCATION));
    }

    /** Starts the store with the given migrations (tests use other folders). */
    public static Future<PgPersistenceService> start(Vertx vertx, StoreConfig config, Migrations migrations) {
        PgPersistenceService s;
        try {
            s = new PgPersistenceService(vertx, config, migrations);
        } catch (RuntimeException e) {
            return Future.failedFuture(e);
        }
        Context ctx = Vertx.currentContext();
        s.writerThread.start();
        return onCaller(ctx, s.startPromise.future()).map(v -> s);
    }

    static PgConnectOptions connectOptions(StoreConfig c) {
        PgConnectOptions o;
        if (c.url() != null) {
            String u = c.url().trim();
            if (u.startsWith("jdbc:")) {
                u = u.substring("jdbc:".length());
            }
            if (!u.startsWith("postgresql://") && !u.startsWith("postgres://")) {
                throw new IllegalArgumentException("it does not start with postgresql://");
            }
            try {
                o = PgConnectOptions.fromUri(u);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(e.getMessage() == null ? e.toString() : e.getMessage(), e);
            }
            if (o.getHost() == null || o.getHost().isBlank()) {
                throw new IllegalArgumentException("it names no host");
            }
            boolean urlHasPassword = u.matches("^[a-z]+://[^/@]*:[^/@]*@.*") || u.contains("password=");
            if (!urlHasPassword && c.password() != null) {
                o.setPassword(c.password());
            }
        } else {
            o = new PgConnectOptions().setHost(c.host()).setPort(c.port()).setDatabase(c.database())
                    .setUser(c.user());
            if (c.password() != null) {
                o.setPassword(c.password());
            }
        }
        o.setReconnectAttempts(0);
        o.setCachePreparedStatements(true);
        return o;
    }

    // ------------------------------------------------------------------ the sink

    @Override
    public boolean persistent() {
        return true;
    }

    @Override
    public void journal(LedgerEvent event) {
        if (event == null) {
            return;
        }
        if (stopped) {
            lateEvents.increment();
            logRateLimited("store: an event arrived after the store stopped and is not written: {}", event);
            return;
        }
        long n = offered.incrementAndGet();
        long depth = n - taken;
        if (depth > hardLimit) {
            offered.decrementAndGet(); // counted in dropped instead
            dropped.increment();
            logRateLimited("store: {} events held in memory and the writer cannot spill them: dropping {} (total "
                    + "dropped so far in status.dropped_events)", depth, event);
            return;
        }
        QueuedEvent q = new QueuedEvent(event, System.currentTimeMillis());
        Fence f = fence;
        if (f != null) {
            q.fence = f.journalId();
            q.term = f.term();
        }
        queue.offer(q);
        if (writerWaiting && depth >= kickThreshold) {
            writerWaiting = false;
            LockSupport.unpark(writerThread);
        }
    }

    @Override
    public void journalKeyed(LedgerEvent event, UUID keyId, long seq) {
        if (event == null) {
            return;
        }
        if (stopped) {
            lateEvents.increment();
            logRateLimited("store: an event arrived after the store stopped and is not written: {}", event);
            return;
        }
        long n = offered.incrementAndGet();
        long depth = n - taken;
        if (depth > hardLimit) {
            offered.decrementAndGet();
            dropped.increment();
            logRateLimited("store: {} events held in memory and the writer cannot spill them: dropping {} (total "
                    + "dropped so far in status.dropped_events)", depth, event);
            return;
        }
        QueuedEvent q = new QueuedEvent(event, System.currentTimeMillis(), keyId, seq);
        q.queuedBy = runId;
        Fence f = fence;
        if (f != null) {
            q.fence = f.journalId();
            q.term = f.term();
        }
        queue.offer(q);
        if (writerWaiting && depth >= kickThreshold) {
            writerWaiting = false;
            LockSupport.unpark(writerThread);
        }
    }

    @Override
    public Future<Long> maxJournalSeq(UUID keyId) {
        return barrier(() -> writer.queryMaxSeq(keyId));
    }

    @Override
    public Future<Integer> reconcileLeases(List<LeaseView> live, long nowMs) {
        List<LeaseView> copy = List.copyOf(live);
        Fence f = fence;
        return barrier(() -> writer.reconcile(copy, nowMs, f));
    }

    @Override
    public Future<Long> raiseFence(UUID journalId, long term, String member) {
        return barrier(() -> writer.raiseFence(journalId, term, member));
    }

    @Override
    public long fencedEvents() {
        return fencedEvents.sum();
    }

    /** Runs {@code action} on the writer thread once everything journaled before this call is written. */
    private <T> Future<T> barrier(Action action) {
        if (stopped) {
            return Future.failedFuture("the store is stopped");
        }
        if (!connected) {
            return Future.failedFuture(new IllegalStateException("the database cannot be reached ("
                    + (lastError == null ? "not connected yet" : lastError) + ")"));
        }
        Barrier b = new Barrier(offered.get(), true, action);
        barriers.add(b);
        flushRequested = true;
        wakeWriter();
        @SuppressWarnings("unchecked")
        Future<T> f = (Future<T>) (Future<?>) b.promise.future();
        return onCaller(Vertx.currentContext(), f);
    }

    private void logRateLimited(String format, Object a, Object b) {
        long now = System.currentTimeMillis();
        long last = lastDropLogMs.get();
        if (now - last >= 1_000 && lastDropLogMs.compareAndSet(last, now)) {
            LOG.error(format, a, b);
        }
    }

    private void logRateLimited(String format, Object a) {
        long now = System.currentTimeMillis();
        long last = lastDropLogMs.get();
        if (now - last >= 1_000 && lastDropLogMs.compareAndSet(last, now)) {
            LOG.warn(format, a);
        }
    }

    void wakeWriter() {
        LockSupport.unpark(writerThread);
    }

    // ------------------------------------------------------------------ lifecycle API

    @Override
    public void recordEntitlements(Collection<Entitlement> current) {
        entitlementsToWrite.set(new Entitlements(List.copyOf(current), fence));
        wakeWriter();
    }

    @Override
    public Future<Void> flush() {
        if (stopped) {
            return Future.failedFuture("the store is stopped");
        }
        Barrier b = new Barrier(offered.get(), false, null);
        barriers.add(b);
        flushRequested = true;
        wakeWriter();
        return onCaller(Vertx.currentContext(), b.promise.future()).mapEmpty();
    }

    @Override
    public Future<List<LeaseView>> loadActiveLeases() {
        if (stopped) {
            return Future.failedFuture("the store is stopped");
        }
        if (!connected) {
            return Future.failedFuture(new IllegalStateException("the database cannot be reached ("
                    + (lastError == null ? "not connected yet" : lastError) + ")"));
        }
        Barrier b = new Barrier(offered.get(), true, writer::queryActiveLeases);
        barriers.add(b);
        flushRequested = true;
        wakeWriter();
        @SuppressWarnings("unchecked")
        Future<List<LeaseView>> f = (Future<List<LeaseView>>) (Future<?>) b.promise.future();
        return onCaller(Vertx.currentContext(), f);
    }

    @Override
    public Future<Void> stop() {
        if (!stopping) {
            stopping = true;
            wakeWriter();
        }
        return onCaller(Vertx.currentContext(), stopPromise.future());
    }

    /** Completes on {@code ctx} (the caller's event loop), or on the writer thread for a caller outside Vert.x. */
    static <T> Future<T> onCaller(Context ctx, Future<T> f) {
        if (ctx == null) {
            return f;
        }
        Promise<T> p = Promise.promise();
        f.onComplete(ar -> ctx.runOnContext(v -> p.handle(ar)));
        return p.future();
    }

    // ------------------------------------------------------------------ status

    /** Events given to the sink and not yet in Postgres (held in memory, in the spill, or in flight). */
    long lagEvents() {
        return Math.max(0, offered.get() - done) + writer.leftoverRemaining();
    }

    long memoryDepth() {
        return Math.max(0, offered.get() - taken) + pendingInWriter;
    }

    long lagMs(long now) {
        long oldest = oldestInWriterMs;
        QueuedEvent head = queue.peek();
        if (head != null) {
            oldest = Math.min(oldest, head.enqueuedAtMs);
        }
        return oldest == Long.MAX_VALUE ? 0 : Math.max(0, now - oldest);
    }

    @Override
    public JsonObject status() {
        long now = System.currentTimeMillis();
        JsonObject o = new JsonObject()
                .put("mode", "postgres")
                .put("persistent", true)
                .put("write_mode", config.writeMode().configName())
                .put("target", config.describeTarget())
                .put("connected", connected)
                .put("queue_depth", memoryDepth())
                .put("queue_capacity", config.queueCapacity())
                .put("lag_events", lagEvents())
                .put("lag_ms", lagMs(now))
                .put("spilled_bytes", spill.bytes())
                .put("spilled_events", spill.events())
                .put("spill_dir", config.spillDir().toAbsolutePath().toString())
                .put("parked_events", spill.parked())
                .put("dropped_events", dropped.sum())
                .put("events_written", eventsWritten.sum())
                .put("journal_rows", journalRows.sum())
                .put("batches_written", batchesWritten.sum())
                .put("heartbeats_received", heartbeatsReceived.sum())
                .put("heartbeat_updates", heartbeatUpdates.sum())
                .put("write_failures", writeFailures.sum())
                .put("migrations_applied", migrationsApplied)
                .put("flush_interval_ms", config.flushIntervalMs())
                .put("batch_size", config.batchSize());
        if (lastBatchAtMs > 0) {
            o.put("last_batch_at", Instant.ofEpochMilli(lastBatchAtMs).toString());
        }
        if (lastError != null) {
            o.put("last_error", lastError).put("last_error_at", Instant.ofEpochMilli(lastErrorAtMs).toString());
        }
        Fence f = fence;
        if (f != null || fencedEvents.sum() > 0 || fencedBatches.sum() > 0 || fencedSpillJournalOnly.sum() > 0) {
            o.put("fence_journal_id", f == null ? null : f.journalId().toString())
                    .put("fence_term", f == null ? null : f.term())
                    .put("fence_seen_term", fenceSeenTerm)
                    .put("fenced_batches", fencedBatches.sum())
                    .put("fenced_events", fencedEvents.sum())
                    .put("fenced_spill_events_journal_only", fencedSpillJournalOnly.sum());
        }
        if (lateEvents.sum() > 0) {
            o.put("events_after_stop", lateEvents.sum());
        }
        return o;
    }

    /** What a barrier does on the writer thread once it is reached. */
    interface Action {
        Object run() throws Exception;
    }

    /** Work that waits until everything journaled before it is written: a flush, or a read. */
    static final class Barrier {
        final long target;
        final boolean needsDatabase;
        final Action action;
        final Promise<Object> promise = Promise.promise();

        Barrier(long target, boolean needsDatabase, Action action) {
            this.target = target;
            this.needsDatabase = needsDatabase;
            this.action = action;
        }
    }
}
