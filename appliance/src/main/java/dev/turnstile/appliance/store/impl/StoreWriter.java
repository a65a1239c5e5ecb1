package dev.turnstile.appliance.store.impl;

import dev.turnstile.appliance.log.Redaction;
import dev.turnstile.appliance.seat.Entitlement;
import dev.turnstile.appliance.seat.LeaseState;
import dev.turnstile.appliance.seat.LeaseView;
import dev.turnstile.appliance.seat.SecretHash;
import dev.turnstile.appliance.store.FencedException;
import dev.turnstile.appliance.store.MigrationException;
import dev.turnstile.appliance.store.PgTarget;
import dev.turnstile.appliance.store.StoreConfig;
import dev.turnstile.appliance.store.StoreConfig.WriteMode;
import dev.turnstile.appliance.store.impl.PgFailures.Kind;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetClientOptions;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.io.IOException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The store's writer: a verticle on its own worker context (a worker pool of one thread, owned by the store), so its
 * file I/O (the spill) never runs on an event loop, and its Postgres work is composed on the pg client's futures,
 * never waited for. It drains the queue into batches, writes each batch in one transaction (BEGIN and the batch's
 * statements pipelined on one connection, then COMMIT), and when Postgres is away, holds events up to the queue's
 * capacity and spills the rest to disk, replaying the spill in order, first, when it returns.
 *
 * <p>One step runs at a time: a step is one round of the work (connect if due, spill if over capacity, write one
 * batch, run the barriers that are reached, decide whether to stop); the next step is scheduled when it completes,
 * at once when it wrote something, else after a timer (the flush interval, the reconnect backoff) or when the queue
 * wakes it ({@link EventQueue#idle}). Everything below runs on the writer's context unless it says otherwise; the
 * figures other threads read are volatile or adders.
 *
 * <p>The order of writes is the order of the queue: a spilled event is older than anything still in memory, so the
 * spill is always written first; a failed batch is retried as it was (same event keys) before anything newer.
 */
final class StoreWriter extends VerticleBase {
    static final Logger LOG = LoggerFactory.getLogger("dev.turnstile.appliance.store");
    private static final long MAX_BACKOFF_MS = 5_000;
    private static final long MAX_AUTH_BACKOFF_MS = 30_000;
    private static final long LAG_LOG_EVERY_MS = 10_000;
    private static final int SPILL_CHUNK = 16_384;

    static final String UPSERT_ENTITLEMENT = """
            INSERT INTO entitlements (entitlement_id, tenant_id, product_id, enforcement, max_seats, starts_at,
                                      ends_at, updated_at, removed_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL)
            ON CONFLICT (entitlement_id) DO UPDATE SET
                tenant_id = EXCLUDED.tenant_id, product_id = EXCLUDED.product_id,
                enforcement = EXCLUDED.enforcement, max_seats = EXCLUDED.max_seats,
                starts_at = EXCLUDED.starts_at, ends_at = EXCLUDED.ends_at,
                updated_at = EXCLUDED.updated_at, removed_at = NULL""";
    static final String REMOVE_OTHER_ENTITLEMENTS = """
            UPDATE entitlements SET removed_at = $2
            WHERE removed_at IS NULL AND NOT (entitlement_id = ANY($1))""";
    static final String SELECT_ACTIVE_LEASES = """
            SELECT lease_id, entitlement_id, product_id, session_id, client_id, hw_id, remote_address, quantity,
                   checked_out_at, last_heartbeat, reclaim_secret_hash
            FROM leases WHERE released_at IS NULL
            ORDER BY checked_out_at, lease_id""";
    static final String MAX_JOURNAL_SEQ = "SELECT max(seq) FROM usage_journal WHERE run_id = $1";
    static final String RECONCILE_LIVE = """
            INSERT INTO leases (lease_id, entitlement_id, product_id, session_id, client_id, hw_id, remote_address,
                                quantity, checked_out_at, last_heartbeat, released_at, release_reason,
                                reclaim_secret_hash)
            SELECT l, e, p, sess, c, h, r, q, from_epoch_ms(co), from_epoch_ms(hb), NULL, NULL, decode(sh, 'hex')
            FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[],
                        $8::bigint[], $9::bigint[], $10::bigint[], $11::text[]) AS x(l, e, p, sess, c, h, r, q, co, hb, sh)
            ON CONFLICT (lease_id) DO UPDATE SET
                session_id = EXCLUDED.session_id, client_id = EXCLUDED.client_id, hw_id = EXCLUDED.hw_id,
                reclaim_secret_hash = COALESCE(leases.reclaim_secret_hash, EXCLUDED.reclaim_secret_hash),
                last_heartbeat = GREATEST(leases.last_heartbeat, EXCLUDED.last_heartbeat),
                released_at = NULL, release_reason = NULL""";
    static final String RECONCILE_RELEASE = """
            UPDATE leases SET released_at = from_epoch_ms($2), release_reason = 'reconciled'
            WHERE released_at IS NULL AND NOT (lease_id = ANY($1::uuid[]))""";
    static final String FENCE_CHECK = "SELECT triad_fence_check($1, $2)";
    static final String RAISE_FENCE = """
            INSERT INTO triad_fence AS f (journal_id, term, raised_by, raised_at) VALUES ($1, $2, $3, now())
            ON CONFLICT (journal_id) DO UPDATE SET
                term = GREATEST(f.term, EXCLUDED.term),
                raised_by = CASE WHEN EXCLUDED.term > f.term THEN EXCLUDED.raised_by ELSE f.raised_by END,
                raised_at = CASE WHEN EXCLUDED.term > f.term THEN EXCLUDED.raised_at ELSE f.raised_at END
            RETURNING term""";
    static final String READ_FENCE = "SELECT journal_id, term, raised_by FROM triad_fence WHERE journal_id = ANY($1)";
    /** The SQLSTATE {@code triad_fence_check} raises (V101__triad_fence.sql). */
    static final String FENCE_SQLSTATE = "TF001";

    /** triad: the journal id whose fence guards the writes, and the Raft term the writer resumed in. */
    record Fence(UUID journalId, long term) {
    }

    /** Entitlements waiting to be written, with the fence they were recorded under (null outside a triad). */
    private record Entitlements(List<Entitlement> list, Fence fence) {
    }

    private final StoreConfig c;
    private final PgTarget target;
    private final Migrations migrations;
    private final EventQueue queue;
    private final SpillStore spill;
    private final UUID runId;
    private final boolean writeThrough;

    // ---- owned by the writer's context ----
    private Pool pool;
    /** The writer's connection, held while connected: every transaction and read of the writer, one after the other. */
    private SqlConnection conn;
    private final List<QueuedEvent> pending = new ArrayList<>();
    private List<QueuedEvent> spillChunk;
    private long spillOldestEnqMs = Long.MAX_VALUE;
    private long nextSeq;
    private long nextConnectAtMs;
    private long backoffMs;
    private long lastFlushAtMs;
    private long stopDeadlineMs = Long.MAX_VALUE;
    private String lastLoggedError;
    private long lastLagLogMs;
    private boolean lagReported;
    private long outageStartedMs;
    private boolean spillAnnounced;
    private boolean spillJournalOnlyAnnounced;
    /** triad: the highest term seen in {@code triad_fence} per journal id; an event stamped below it is stale. */
    private final Map<UUID, Long> knownFence = new HashMap<>();
    private boolean looping;
    private boolean stepping;
    private boolean leaving;
    private boolean finished;
    private long timerId = -1;
    /** Vert.x closes under the store (not the service's stop): spill, write nothing more. */
    private boolean vertxClosing;
    private volatile boolean stopRequested;

    // ---- published: written on the writer's context, read anywhere ----
    private volatile boolean connected;
    private volatile boolean stopping;
    private volatile boolean stopped;
    private volatile boolean flushRequested;
    /** Events of this run that are in Postgres or parked. */
    private volatile long done;
    private volatile long pendingInWriter;
    private volatile long oldestInWriterMs = Long.MAX_VALUE;
    private volatile long leftoverRemaining;
    private volatile String lastError;
    private volatile long lastErrorAtMs;
    private volatile long lastBatchAtMs;
    private volatile int migrationsApplied;
    private volatile Fence fence;
    private volatile long fenceSeenTerm;
    private final LongAdder eventsWritten = new LongAdder();
    private final LongAdder journalRows = new LongAdder();
    private final LongAdder batchesWritten = new LongAdder();
    private final LongAdder heartbeatsReceived = new LongAdder();
    private final LongAdder heartbeatUpdates = new LongAdder();
    private final LongAdder writeFailures = new LongAdder();
    private final LongAdder fencedBatches = new LongAdder();
    private final LongAdder fencedEvents = new LongAdder();
    private final LongAdder fencedSpillJournalOnly = new LongAdder();

    private final ConcurrentLinkedQueue<Barrier<?>> barriers = new ConcurrentLinkedQueue<>();
    private final AtomicReference<Entitlements> entitlementsToWrite = new AtomicReference<>();
    private final Promise<Void> stopPromise = Promise.promise();

    StoreWriter(StoreConfig config, PgTarget target, Migrations migrations, EventQueue queue, UUID runId) {
        this.c = config;
        this.target = target;
        this.migrations = migrations;
        this.queue = queue;
        this.runId = runId;
        this.spill = new SpillStore(config.spillDir());
        this.writeThrough = config.writeMode() == WriteMode.WRITE_THROUGH;
        queue.waker(this::kick);
    }

    private static long now() {
        return System.currentTimeMillis();
    }

    // ------------------------------------------------------------------ any thread: what the service asks

    /** The fence new events are stamped with (null outside a triad). */
    Fence fence() {
        return fence;
    }

    /** True once the writer has finished (events offered now are not written). */
    boolean stopped() {
        return stopped;
    }

    long fencedEvents() {
        return fencedEvents.sum();
    }

    /** Completes when the writer has written (or spilled) everything and closed; see {@link #stop()}. */
    Future<Void> whenStopped() {
        return stopPromise.future();
    }

    /** Wakes the writer (from any thread): new work, a barrier, a stop. */
    void kick() {
        Context ctx = context;
        if (ctx != null) {
            ctx.runOnContext(v -> wake());
        }
    }

    /** Completes once everything journaled before the call is written (or parked). */
    Future<Void> flush() {
        return barrier(false, null);
    }

    Future<List<LeaseView>> loadActiveLeases() {
        return barrier(true, this::queryActiveLeases);
    }

    Future<Long> maxJournalSeq(UUID keyId) {
        return barrier(true, () -> Futures.within(conn.preparedQuery(MAX_JOURNAL_SEQ).execute(Tuple.of(keyId)),
                c.writeTimeoutMs()).map(rows -> {
                    Long max = rows.iterator().next().getLong(0);
                    return max == null ? -1L : max;
                }));
    }

    Future<Integer> reconcileLeases(List<LeaseView> live, long nowMs) {
        List<LeaseView> copy = List.copyOf(live);
        Fence f = fence;
        return barrier(true, () -> reconcile(copy, nowMs, f));
    }

    Future<Long> raiseFence(UUID journalId, long term, String member) {
        return barrier(true, () -> raise(journalId, term, member));
    }

    void recordEntitlements(List<Entitlement> current) {
        entitlementsToWrite.set(new Entitlements(current, fence));
        kick();
    }

    /** Runs {@code action} on the writer's context once everything journaled before this call is written. */
    private <T> Future<T> barrier(boolean needsDatabase, Supplier<Future<T>> action) {
        if (stopped) {
            return Future.failedFuture("the store is stopped");
        }
        if (needsDatabase && !connected) {
            return Future.failedFuture(unreachable());
        }
        Barrier<T> b = new Barrier<>(queue.offered(), needsDatabase, action);
        barriers.add(b);
        flushRequested = true;
        kick();
        return b.promise.future();
    }

    private IllegalStateException unreachable() {
        return new IllegalStateException("the database cannot be reached ("
                + (lastError == null ? "not connected yet" : lastError) + ")");
    }

    // ------------------------------------------------------------------ lifecycle (the writer's context)

    @Override
    public Future<?> start() {
        try {
            spill.open();
        } catch (IOException | RuntimeException e) {
            stopped = true;
            stopPromise.tryComplete();
            return Future.failedFuture(new IllegalStateException("store.spill_dir " + c.spillDir().toAbsolutePath()
                    + " cannot be used: " + PgFailures.describe(e), e));
        }
        leftoverRemaining = spill.events();
        spillOldestEnqMs = now();
        if (leftoverRemaining > 0) {
            LOG.info("store: {} events ({} bytes) that an earlier run spilled to {} are written first",
                    leftoverRemaining, spill.bytes(), c.spillDir().toAbsolutePath());
        }
        Future<Void> first;
        if (!target.usable()) {
            noteError(target.problem());
            LOG.error("store: {}. Seats are served from memory; ledger events are held and spilled to {} "
                    + "until the URL is fixed and the appliance restarted", target.problem(),
                    c.spillDir().toAbsolutePath());
            first = Future.succeededFuture();
        } else {
            first = connect().recover(e -> {
                if (e instanceof MigrationException) {
                    LOG.error("store: {}", e.getMessage());
                    stopped = true;
                    spill.close();
                    stopPromise.tryComplete();
                    return Future.failedFuture(e);
                }
                connectFailed(e);
                return Future.succeededFuture();
            });
        }
        return first.onSuccess(v -> {
            lastFlushAtMs = now();
            looping = true;
            wake();
        });
    }

    /** The service's stop: the undeploy that follows writes everything held (see {@link #stop()}). */
    void stopRequested() {
        stopRequested = true;
    }

    /**
     * Undeploying. Asked by the service ({@link #stopRequested()}): write everything held, spill what Postgres does
     * not take in time. Otherwise Vert.x is closing under the store (a crash of the appliance's runtime, or a test's
     * kill): nothing more is written, what is held goes to the spill for the next start, as before the writer was a
     * verticle.
     */
    @Override
    public Future<?> stop() {
        if (!finished) {
            if (!stopRequested && !vertxClosing) {
                vertxClosing = true;
                LOG.error("store: Vert.x was closed before the store was stopped; spilling what is held to {} and "
                        + "stopping", c.spillDir().toAbsolutePath());
            }
            stopping = true;
            if (looping) {
                wake();
            } else {
                finish();
            }
        }
        return stopPromise.future();
    }

    // ------------------------------------------------------------------ the loop

    /** Runs a step now unless one runs already (then it decides what comes next). */
    private void wake() {
        if (timerId >= 0) {
            vertx.cancelTimer(timerId);
            timerId = -1;
        }
        if (!looping || stepping || finished) {
            return;
        }
        stepping = true;
        queue.busy();
        step();
    }

    private void step() {
        Future<Boolean> f;
        try {
            f = iteration();
        } catch (Throwable t) {
            f = Future.failedFuture(t);
        }
        f.onComplete(ar -> {
            if (Vertx.currentContext() != context) {
                // a timeout fires on a timer thread of its own: what follows (timers, spill I/O) is the writer's
                context.runOnContext(v -> stepDone(ar));
            } else {
                stepDone(ar);
            }
        });
    }

    private void stepDone(io.vertx.core.AsyncResult<Boolean> ar) {
        if (ar.failed()) {
            LOG.error("store: the writer failed; spilling what it holds", ar.cause());
            try {
                spillMemory();
            } catch (Throwable ignored) {
                // logged by spillMemory
            }
            finish();
        } else if (leaving) {
            finish();
        } else if (ar.result()) {
            context.runOnContext(v -> step());
        } else {
            park();
        }
    }

    /** Nothing to do at once: wait for the timer or for the queue to fill (whichever comes first). */
    private void park() {
        long now = now();
        long wakeAt;
        if (connected) {
            wakeAt = queue.depth() > 0 ? lastFlushAtMs + c.flushIntervalMs() : now + c.flushIntervalMs();
        } else {
            wakeAt = Math.min(now + c.flushIntervalMs(), Math.max(nextConnectAtMs, now + 1));
        }
        if (stopping) {
            wakeAt = Math.min(wakeAt, now + 50);
        }
        long waitMs = wakeAt - now;
        if (waitMs <= 0) {
            context.runOnContext(v -> step());
            return;
        }
        long threshold = connected ? (writeThrough ? 1 : c.batchSize()) : c.queueCapacity();
        queue.idle(threshold);
        if (queue.depth() >= threshold || flushRequested || stopping) {
            queue.busy();
            context.runOnContext(v -> step());
            return;
        }
        stepping = false;
        timerId = vertx.setTimer(waitMs, id -> {
            timerId = -1;
            wake();
        });
    }

    /** One round of the work; completes with true when it wrote something (run again at once). */
    private Future<Boolean> iteration() {
        long now = now();
        boolean stoppingNow = stopping;
        if (stoppingNow && stopDeadlineMs == Long.MAX_VALUE) {
            stopDeadlineMs = now + stopAllowanceMs();
        }
        if (vertxClosing) {
            spillMemory();
            publish();
            leaving = true;
            return Future.succeededFuture(false);
        }
        Future<Void> ready = Future.succeededFuture();
        if (!connected && target.usable() && now >= nextConnectAtMs && !stoppingNow) {
            ready = connect().recover(e -> {
                if (e instanceof MigrationException) {
                    noteError(e.getMessage());
                    LOG.error("store: {}", e.getMessage());
                    nextConnectAtMs = now() + 60_000;
                } else {
                    connectFailed(e);
                }
                return Future.succeededFuture();
            });
        }
        return ready.compose(v -> {
            // The bound: beyond queue_capacity events in memory, spill (connected or not: a Postgres that is up but
            // slower than the ledger must not make memory grow either). Checked before and after the write.
            if (memoryDepth() >= c.queueCapacity()) {
                spillMemory();
            }
            return connected ? writeStep(now(), stoppingNow) : Future.succeededFuture(false);
        }).compose(progressed -> {
            if (memoryDepth() >= c.queueCapacity() || !connected && stoppingNow) {
                spillMemory();
            }
            publish();
            return runBarriers().map(progressed);
        }).map(progressed -> {
            logLag(now());
            if (stoppingNow) {
                boolean memoryEmpty = pending.isEmpty() && queue.isEmpty();
                if (!connected && memoryEmpty
                        || connected && memoryEmpty && !spill.hasData() && entitlementsToWrite.get() == null) {
                    leaving = true;
                } else if (now() >= stopDeadlineMs) {
                    LOG.warn("store: writing everything took longer than the stop allows ({} ms); spilling what is "
                            + "left for the next start", stopAllowanceMs());
                    spillMemory();
                    leaving = true;
                }
            }
            return progressed;
        });
    }

    private long stopAllowanceMs() {
        return Math.max(10_000, 2 * c.writeTimeoutMs());
    }

    // ------------------------------------------------------------------ writing

    /** One unit of work while connected. Completes with true when it wrote something. */
    private Future<Boolean> writeStep(long now, boolean stoppingNow) {
        if (entitlementsToWrite.get() != null) {
            return writeEntitlements().compose(ok -> ok ? writeEvents(now, stoppingNow) : Future.succeededFuture(false));
        }
        return writeEvents(now, stoppingNow);
    }

    private Future<Boolean> writeEvents(long now, boolean stoppingNow) {
        if (spill.hasData()) {
            try {
                if (spillChunk == null) {
                    spillChunk = spill.readChunk(c.batchSize());
                    spillOldestEnqMs = spillChunk.isEmpty() ? Long.MAX_VALUE : spillChunk.get(0).enqueuedAtMs;
                }
            } catch (IOException e) {
                return spillUnreadable(e);
            }
            List<QueuedEvent> chunk = spillChunk;
            Future<Boolean> written = chunk.isEmpty() ? Future.succeededFuture(true) : writeBatch(chunk, true);
            return written.compose(ok -> {
                if (!ok) {
                    return Future.succeededFuture(false);
                }
                int mine = 0;
                for (QueuedEvent q : chunk) {
                    if (runId.equals(q.owner())) {
                        mine++;
                    }
                }
                long lines = spill.chunkLines();
                try {
                    spill.commitChunk();
                } catch (IOException e) {
                    return spillUnreadable(e);
                }
                done += mine;
                leftoverRemaining = Math.max(0, leftoverRemaining - (lines - mine));
                // the next chunk is newer than this one's last event; read at the next step
                spillOldestEnqMs = chunk.isEmpty() ? spillOldestEnqMs : chunk.get(chunk.size() - 1).enqueuedAtMs;
                spillChunk = null;
                return Future.succeededFuture(true);
            });
        }
        if (pending.isEmpty()) {
            long depth = queue.depth();
            if (depth <= 0 || queue.isEmpty()) {
                lastFlushAtMs = now;
                return Future.succeededFuture(false);
            }
            boolean due = writeThrough || depth >= c.batchSize() || stoppingNow || flushRequested
                    || now - lastFlushAtMs >= c.flushIntervalMs();
            if (!due) {
                return Future.succeededFuture(false);
            }
            drain(pending, writeThrough ? 1 : c.batchSize());
            if (pending.isEmpty()) {
                return Future.succeededFuture(false);
            }
        }
        return writeBatch(pending, false).map(ok -> {
            if (!ok) {
                return false;
            }
            done += pending.size();
            pending.clear();
            if (queue.isEmpty()) {
                lastFlushAtMs = now();
            }
            return true;
        });
    }

    private Future<Boolean> spillUnreadable(IOException e) {
        noteError("cannot read the spill in " + c.spillDir().toAbsolutePath() + ": " + e.getMessage());
        LOG.error("store: {}", lastError);
        return Future.succeededFuture(false);
    }

    /**
     * Takes up to {@code max} events off the queue, giving each its event key. triad: an event stamped with a term
     * the fence has passed is dropped here (counted in {@code fenced_events}; see {@link #fenced}).
     */
    private void drain(List<QueuedEvent> into, int max) {
        int n = 0;
        int stale = 0;
        QueuedEvent q;
        while (n < max && (q = queue.poll()) != null) {
            if (q.fence != null && isStale(q)) {
                stale++;
                continue;
            }
            if (q.runId == null) { // triad events arrive keyed
                q.runId = runId;
                q.seq = ++nextSeq;
            }
            into.add(q);
            n++;
        }
        queue.taken(n + stale);
        if (stale > 0) {
            done += stale;
            fencedEvents.add(stale);
            LOG.debug("store: dropped {} more event(s) of a fenced term", stale);
        }
    }

    /** triad: stamped with a term below the highest the fence of its journal is known to hold. */
    private boolean isStale(QueuedEvent q) {
        Long known = knownFence.get(q.fence);
        return known != null && q.term < known;
    }

    /**
     * Writes one batch in one transaction. Completes with true when every event is written, parked or fenced; false
     * when Postgres failed (the caller keeps the batch and retries it, unchanged, later).
     *
     * <p>triad: a batch holding events stamped with a fence ({@link QueuedEvent#fence}) runs
     * {@code triad_fence_check(journal, lowest term)} first in its transaction, pipelined with the rest; a refusal
     * (SQLSTATE TF001) aborts the transaction and the batch is settled by {@link #fenced}.
     */
    private Future<Boolean> writeBatch(List<QueuedEvent> batch, boolean fromSpill) {
        Map<UUID, Long> checks = null;
        for (QueuedEvent q : batch) {
            if (q.fence != null) {
                if (checks == null) {
                    checks = new HashMap<>(2);
                }
                checks.merge(q.fence, q.term, Math::min);
            } else if (fromSpill && q.queuedBy != null) {
                return settleStale(batch, fromSpill); // keyed by a version before fencing: journal only
            }
        }
        if (checks != null && !knownFence.isEmpty()) {
            for (Map.Entry<UUID, Long> ch : checks.entrySet()) {
                Long known = knownFence.get(ch.getKey());
                if (known != null && ch.getValue() < known) {
                    return settleStale(batch, fromSpill);
                }
            }
        }
        long t0 = System.nanoTime();
        BatchPlan plan = BatchPlan.of(batch, c.snapshotIntervalMs());
        Map<UUID, Long> fenceChecks = checks;
        return transaction(conn -> statements(conn, plan, fenceChecks)).map(v -> {
            if (LOG.isDebugEnabled()) {
                LOG.debug("store: wrote {} events in {} us", batch.size(), (System.nanoTime() - t0) / 1000);
            }
            eventsWritten.add(batch.size());
            journalRows.add(plan.journal.size());
            batchesWritten.increment();
            heartbeatsReceived.add(plan.heartbeats);
            heartbeatUpdates.add(plan.heartbeatLeases);
            lastBatchAtMs = now();
            return true;
        }).recover(e -> {
            if (fenceChecks != null && isFenceRefusal(e)) {
                return fenced(batch, fromSpill, fenceChecks);
            }
            writeFailures.increment();
            Kind kind = PgFailures.classify(e);
            if (kind == Kind.DATA) {
                return parkOrSplit(batch, e, fromSpill);
            }
            writeFailed(e, kind);
            return Future.succeededFuture(false);
        });
    }

    /**
     * One transaction on the writer's connection: BEGIN and {@code statements} are sent together (pipelined: one
     * round trip for all of them), then COMMIT once every statement succeeded, else ROLLBACK and the first failure
     * (a refusal aborts the transaction, so the statements after it fail with "transaction aborted"). Bounded by
     * {@code store.write_timeout}: beyond, it fails with a timeout and the caller drops the connection.
     */
    private Future<Void> transaction(Function<SqlConnection, List<Future<?>>> statements) {
        SqlConnection conn = this.conn;
        if (conn == null) {
            return Future.failedFuture(new IllegalStateException("not connected to Postgres"));
        }
        return Futures.within(inTransaction(conn, statements), c.writeTimeoutMs());
    }

    private static Future<Void> inTransaction(SqlConnection conn, Function<SqlConnection, List<Future<?>>> statements) {
        Future<?> begin = conn.query("BEGIN").execute();
        List<Future<?>> all = new ArrayList<>(6);
        all.add(begin);
        try {
            all.addAll(statements.apply(conn));
        } catch (RuntimeException e) {
            return conn.query("ROLLBACK").execute().transform(x -> Future.<Void>failedFuture(e));
        }
        return Future.join(all).transform(joined -> {
            for (Future<?> f : all) {
                if (f.failed()) {
                    Throwable first = f.cause();
                    return conn.query("ROLLBACK").execute().transform(x -> Future.<Void>failedFuture(first));
                }
            }
            return conn.query("COMMIT").execute().<Void>mapEmpty();
        });
    }

    /** The batch's statements, sent together (pipelined on the connection), inside the caller's transaction. */
    private static List<Future<?>> statements(SqlConnection conn, BatchPlan plan, Map<UUID, Long> fenceChecks) {
        List<Future<?>> all = new ArrayList<>(5);
        if (fenceChecks != null) { // first: a refusal aborts the transaction before anything else runs
            for (Map.Entry<UUID, Long> ch : fenceChecks.entrySet()) {
                all.add(conn.preparedQuery(FENCE_CHECK).execute(Tuple.of(ch.getKey(), ch.getValue())));
            }
        }
        send(all, conn, BatchPlan.INSERT_JOURNAL, plan.journal);
        send(all, conn, BatchPlan.UPSERT_LEASE, plan.leaseUpserts);
        send(all, conn, BatchPlan.UPDATE_LEASE, plan.leaseUpdates);
        send(all, conn, BatchPlan.UPSERT_SNAPSHOT, plan.snapshots);
        return all;
    }

    private static void send(List<Future<?>> all, SqlConnection conn, String sql, BatchPlan.Columns rows) {
        if (!rows.isEmpty()) {
            all.add(conn.preparedQuery(sql).execute(rows.toTuple()));
        }
    }

    // ------------------------------------------------------------------ triad fencing

    static boolean isFenceRefusal(Throwable t) {
        return PgFailures.unwrap(t) instanceof PgException pg && FENCE_SQLSTATE.equals(pg.getSqlState());
    }

    /** The stored term a refusal reports (its DETAIL), else {@code fallback}. */
    private static long storedTermOf(Throwable t, long fallback) {
        if (PgFailures.unwrap(t) instanceof PgException pg && pg.getDetail() != null) {
            try {
                return Long.parseLong(pg.getDetail().trim());
            } catch (NumberFormatException ignored) {
                // not ours
            }
        }
        return fallback;
    }

    private void noteFence(UUID journalId, long stored) {
        knownFence.merge(journalId, stored, Math::max);
        if (stored > fenceSeenTerm) {
            fenceSeenTerm = stored;
        }
    }

    /** The fence check of {@code f}, first in a transaction's statements (nothing outside a triad). */
    private static List<Future<?>> fenceFirst(SqlConnection conn, Fence f) {
        List<Future<?>> all = new ArrayList<>(3);
        if (f != null) {
            all.add(conn.preparedQuery(FENCE_CHECK).execute(Tuple.of(f.journalId(), f.term())));
        }
        return all;
    }

    /** Stale: stamped below the known fence; from the spill also a keyed row of a version before fencing. */
    private boolean staleFor(QueuedEvent q, boolean fromSpill) {
        return q.fence != null ? isStale(q) : fromSpill && q.queuedBy != null;
    }

    /**
     * The fence refused {@code batch}: reads the stored terms, then settles the batch ({@link #settleStale}). The
     * first refusal at a new term also drops every stale event still queued, and says so in one WARN.
     */
    private Future<Boolean> fenced(List<QueuedEvent> batch, boolean fromSpill, Map<UUID, Long> checks) {
        SqlConnection conn = this.conn;
        if (conn == null) {
            return Future.succeededFuture(false);
        }
        return Futures.within(conn.preparedQuery(READ_FENCE).execute(Tuple.of(checks.keySet().toArray(new UUID[0]))),
                c.writeTimeoutMs()).transform(ar -> {
                    if (ar.failed()) {
                        writeFailures.increment();
                        writeFailed(ar.cause(), PgFailures.classify(ar.cause()));
                        return Future.succeededFuture(false);
                    }
                    List<String> by = new ArrayList<>(1);
                    boolean newTerm = false;
                    long stored = 0;
                    for (Row r : ar.result()) {
                        UUID id = r.getUUID("journal_id");
                        long t = r.getLong("term");
                        Long prev = knownFence.get(id);
                        if (prev == null || t > prev) {
                            newTerm = true;
                        }
                        noteFence(id, t);
                        stored = Math.max(stored, t);
                        by.add(r.getString("raised_by"));
                    }
                    int staleInBatch = 0;
                    for (QueuedEvent q : batch) {
                        if (staleFor(q, fromSpill)) {
                            staleInBatch++;
                        }
                    }
                    if (staleInBatch == 0) { // the row changed under us (deleted?): retry the batch later
                        noteError("triad fence refused a batch but the stored term (" + stored
                                + ") does not exceed its terms");
                        LOG.warn("store: {}; retrying", lastError);
                        return Future.succeededFuture(false);
                    }
                    long writerTerm = checks.values().stream().mapToLong(Long::longValue).min().orElse(0);
                    if (!fromSpill && newTerm) {
                        long purged = purgeQueue();
                        LOG.warn("store: FENCED: this member's writes to the triad journal as leader of term {} are "
                                + "refused: the fence in Postgres is at term {} (raised by {}), a newer leader has "
                                + "resumed the write-behind. Dropped {} event(s) (the {} of this batch and {} still "
                                + "queued); they belong to the new leader, which writes them from its own buffer. "
                                + "Store status: fenced_batches, fenced_events", writerTerm, stored,
                                by.isEmpty() ? "?" : String.join(", ", by), staleInBatch + purged, staleInBatch, purged);
                    }
                    return settleStale(batch, fromSpill);
                });
    }

    /** Drops every queued event stamped below the known fence (they would be refused one batch at a time). */
    private long purgeQueue() {
        long removed = queue.removeIf(q -> q.fence != null && isStale(q));
        if (removed > 0) {
            done += removed;
            fencedEvents.add(removed);
        }
        return removed;
    }

    /**
     * Settles the stale events of {@code batch} and writes the rest. From memory, stale events are dropped (counted in
     * {@code fenced_events}, one {@code fenced_batches}). From the spill (a run of this member that was leader in an
     * older term, e.g. before a crash), they are written to {@code usage_journal} only: a journal row's key and content
     * come from the replicated log, so it is right whoever writes it (ON CONFLICT DO NOTHING), and the spill may be
     * the only copy left of events the new leader no longer holds; their lease, heartbeat and pool-snapshot effects
     * are not written, so the {@code leases} table is never set back.
     */
    private Future<Boolean> settleStale(List<QueuedEvent> batch, boolean fromSpill) {
        List<QueuedEvent> stale = new ArrayList<>();
        List<QueuedEvent> rest = new ArrayList<>();
        for (QueuedEvent q : batch) {
            (staleFor(q, fromSpill) ? stale : rest).add(q);
        }
        Future<Boolean> first;
        if (fromSpill) {
            first = (stale.isEmpty() ? Future.succeededFuture(true) : writeJournalOnly(stale)).map(ok -> {
                if (!ok) {
                    return false;
                }
                int newly = countFenced(stale);
                fencedSpillJournalOnly.add(newly);
                if (newly > 0 && !spillJournalOnlyAnnounced) {
                    spillJournalOnlyAnnounced = true;
                    LOG.warn("store: the spill holds triad events of an older leadership (term below the fence in "
                            + "Postgres, or written before fencing existed): they are written to usage_journal only, "
                            + "not to leases or pool_snapshots, so a newer leader's lease rows are not set back (store "
                            + "status: fenced_spill_events_journal_only)");
                }
                return true;
            });
        } else {
            int newly = countFenced(stale);
            if (newly > 0) {
                fencedEvents.add(newly);
                fencedBatches.increment();
            }
            first = Future.succeededFuture(true);
        }
        return first.compose(ok -> !ok || rest.isEmpty() ? Future.succeededFuture(ok) : writeBatch(rest, fromSpill));
    }

    private static int countFenced(List<QueuedEvent> stale) {
        int newly = 0;
        for (QueuedEvent q : stale) {
            if (!q.fencedCounted) {
                q.fencedCounted = true;
                newly++;
            }
        }
        return newly;
    }

    /** The journal rows of {@code events} only, in one transaction (keyed: ON CONFLICT DO NOTHING). */
    private Future<Boolean> writeJournalOnly(List<QueuedEvent> events) {
        BatchPlan plan = BatchPlan.of(events, c.snapshotIntervalMs());
        if (plan.journal.isEmpty()) {
            return Future.succeededFuture(true);
        }
        return transaction(conn -> List.of(conn.preparedQuery(BatchPlan.INSERT_JOURNAL).execute(plan.journal.toTuple())))
                .map(v -> {
                    journalRows.add(plan.journal.size());
                    lastBatchAtMs = now();
                    return true;
                }).recover(e -> {
                    writeFailures.increment();
                    Kind kind = PgFailures.classify(e);
                    if (kind == Kind.DATA && events.size() > 1) {
                        return Futures.inOrder(events, q -> writeJournalOnly(List.of(q)));
                    }
                    if (kind == Kind.DATA) {
                        try {
                            spill.park(events.get(0), PgFailures.describe(e));
                        } catch (IOException io) {
                            LOG.error("store: Postgres refused event {} ({}) and it cannot be parked: {}",
                                    events.get(0), PgFailures.describe(e), EventCodec.encode(events.get(0)));
                        }
                        return Future.succeededFuture(true);
                    }
                    writeFailed(e, kind);
                    return Future.succeededFuture(false);
                });
    }

    /**
     * triad: raises the fence of {@code journalId} to {@code term} (never lowers it); stamps this store's later writes
     * with it. A barrier: its own transaction, committed before the caller goes on.
     */
    private Future<Long> raise(UUID journalId, long term, String member) {
        return Futures.within(conn.preparedQuery(RAISE_FENCE)
                .execute(Tuple.of(journalId, term, member + " (term " + term + ")")), c.writeTimeoutMs()).compose(rows -> {
                    long stored = rows.iterator().next().getLong(0);
                    noteFence(journalId, stored);
                    if (stored > term) {
                        return Future.failedFuture(new FencedException(journalId, stored, term));
                    }
                    fence = new Fence(journalId, term);
                    LOG.info("store: triad fence of journal {} raised to term {} by {}: writes of older terms are "
                            + "refused from now on", journalId, term, member);
                    return Future.succeededFuture(stored);
                });
    }

    /** triad: the leases table made to match the replicated ledger's live leases (see PersistenceService). */
    private Future<Integer> reconcile(List<LeaseView> live, long nowMs, Fence f) {
        Long known = f == null ? null : knownFence.get(f.journalId());
        if (known != null && f.term() < known) {
            fencedBatches.increment();
            return Future.failedFuture(new FencedException(f.journalId(), known, f.term()));
        }
        int n = live.size();
        UUID[] ids = new UUID[n];
        String[] ents = new String[n];
        String[] prods = new String[n];
        Long[] sess = new Long[n];
        String[] clients = new String[n];
        String[] hws = new String[n];
        String[] remotes = new String[n];
        Long[] qty = new Long[n];
        Long[] co = new Long[n];
        Long[] hb = new Long[n];
        String[] hashes = new String[n]; // protocol 1.1: the reclaim secret hash as hex, null for none
        for (int i = 0; i < n; i++) {
            LeaseView l = live.get(i);
            ids[i] = l.leaseId();
            ents[i] = l.entitlementId();
            prods[i] = l.productId();
            sess[i] = l.sessionId();
            clients[i] = l.clientId();
            hws[i] = l.hwId();
            remotes[i] = l.remoteAddress();
            qty[i] = l.quantity();
            co[i] = l.checkedOutAtMs();
            hb[i] = Math.max(l.checkedOutAtMs(), l.lastHeartbeatMs());
            hashes[i] = l.secretHash() == null ? null : HexFormat.of().formatHex(l.secretHash().bytes());
        }
        int[] released = {0};
        return transaction(conn -> {
            List<Future<?>> all = fenceFirst(conn, f);
            all.add(conn.preparedQuery(RECONCILE_LIVE).execute(Tuple.tuple().addValue(ids).addValue(ents)
                    .addValue(prods).addValue(sess).addValue(clients).addValue(hws).addValue(remotes).addValue(qty)
                    .addValue(co).addValue(hb).addValue(hashes)));
            all.add(conn.preparedQuery(RECONCILE_RELEASE).execute(Tuple.of(ids, nowMs))
                    .onSuccess(rows -> released[0] = rows.rowCount()));
            return all;
        }).map(v -> released[0]).recover(e -> {
            if (f != null && isFenceRefusal(e)) {
                long stored = storedTermOf(e, f.term() + 1);
                noteFence(f.journalId(), stored);
                fencedBatches.increment();
                return Future.failedFuture(new FencedException(f.journalId(), stored, f.term()));
            }
            return Future.failedFuture(e);
        });
    }

    /** Postgres refused a row for its content: find it by writing the events one by one, park it, keep the rest. */
    private Future<Boolean> parkOrSplit(List<QueuedEvent> batch, Throwable e, boolean fromSpill) {
        String why = PgFailures.describe(e);
        if (batch.size() == 1) {
            QueuedEvent q = batch.get(0);
            try {
                spill.park(q, why);
                LOG.error("store: Postgres refused event {} ({}); it is parked in {} and the rest is written",
                        q, why, spill.dir().resolve(SpillStore.PARKED_FILE).toAbsolutePath());
            } catch (IOException io) {
                LOG.error("store: Postgres refused event {} ({}) and it cannot be parked ({}): the event is "
                        + "only in this log line: {}", q, why, io.getMessage(), EventCodec.encode(q));
            }
            noteError("event refused and parked: " + why);
            return Future.succeededFuture(true);
        }
        LOG.warn("store: Postgres refused a batch of {} events ({}); writing them one by one to find the "
                + "refused ones", batch.size(), why);
        // lost the connection meanwhile: false, and the whole batch is retried (rows are keyed)
        return Futures.inOrder(List.copyOf(batch), q -> writeBatch(List.of(q), fromSpill));
    }

    private Future<Boolean> writeEntitlements() {
        Entitlements pend = entitlementsToWrite.get();
        List<Entitlement> ents = pend.list();
        Fence f = pend.fence();
        Long known = f == null ? null : knownFence.get(f.journalId());
        if (known != null && f.term() < known) {
            fencedEntitlements(pend, known);
            return Future.succeededFuture(true);
        }
        OffsetDateTime now = BatchPlan.time(now());
        List<Tuple> rows = new ArrayList<>();
        String[] ids = new String[ents.size()];
        for (int i = 0; i < ents.size(); i++) {
            Entitlement e = ents.get(i);
            ids[i] = e.entitlementId();
            rows.add(Tuple.tuple()
                    .addValue(e.entitlementId())
                    .addValue(e.tenantId())
                    .addValue(e.productId())
                    .addValue(e.enforcement().name().toLowerCase(Locale.ROOT))
                    .addValue(e.maxSeats())
                    .addValue(e.startsAt() == null ? null : BatchPlan.time(e.startsAt().toEpochMilli()))
                    .addValue(e.endsAt() == null ? null : BatchPlan.time(e.endsAt().toEpochMilli()))
                    .addValue(now));
        }
        return transaction(conn -> {
            List<Future<?>> all = fenceFirst(conn, f);
            if (!rows.isEmpty()) {
                all.add(conn.preparedQuery(UPSERT_ENTITLEMENT).executeBatch(rows)); // one pipelined round trip
            }
            all.add(conn.preparedQuery(REMOVE_OTHER_ENTITLEMENTS).execute(Tuple.of(ids, now)));
            return all;
        }).map(v -> {
            entitlementsToWrite.compareAndSet(pend, null);
            return true;
        }).recover(e -> {
            if (f != null && isFenceRefusal(e)) {
                long stored = storedTermOf(e, f.term() + 1);
                noteFence(f.journalId(), stored);
                fencedEntitlements(pend, stored);
                return Future.succeededFuture(true);
            }
            Kind kind = PgFailures.classify(e);
            if (kind == Kind.DATA) {
                LOG.error("store: Postgres refused the entitlements ({}); they are not recorded",
                        PgFailures.describe(e));
                entitlementsToWrite.compareAndSet(pend, null);
                return Future.succeededFuture(true);
            }
            writeFailed(e, kind);
            return Future.succeededFuture(false);
        });
    }

    private void fencedEntitlements(Entitlements pend, long stored) {
        entitlementsToWrite.compareAndSet(pend, null);
        fencedBatches.increment();
        LOG.warn("store: FENCED: the entitlements recorded as leader of term {} are not written: the fence of journal "
                + "{} is at term {} (the newer leader records the replicated ledger's entitlements itself)",
                pend.fence().term(), pend.fence().journalId(), stored);
    }

    // ------------------------------------------------------------------ spilling

    /**
     * Moves everything held in memory (the failed batch first, then the queue as it is now) to the spill, in order,
     * in chunks so that a long queue never becomes one huge buffer. File I/O: on the writer's worker thread.
     */
    private void spillMemory() {
        long toMove = pending.size() + queue.depth();
        if (toMove == 0) {
            return;
        }
        long moved = 0;
        List<QueuedEvent> chunk = new ArrayList<>(pending);
        pending.clear();
        while (true) {
            int room = SPILL_CHUNK - chunk.size();
            if (room > 0 && moved + chunk.size() < toMove) {
                drain(chunk, (int) Math.min(room, toMove - moved - chunk.size()));
            }
            if (chunk.isEmpty()) {
                break;
            }
            try {
                if (!spill.hasData()) {
                    spillOldestEnqMs = chunk.get(0).enqueuedAtMs;
                }
                spill.append(chunk);
            } catch (IOException | RuntimeException e) {
                pending.addAll(chunk); // kept in memory, in order, ahead of the queue
                noteError("cannot spill to " + c.spillDir().toAbsolutePath() + ": " + e.getMessage());
                LOG.error("store: cannot spill {} events to {} ({}); they stay in memory", chunk.size(),
                        c.spillDir().toAbsolutePath(), e.getMessage());
                return;
            }
            moved += chunk.size();
            if (!spillAnnounced) {
                spillAnnounced = true;
                String why = connected
                        ? "Postgres is slower than the ledger: more than store.queue_capacity (" + c.queueCapacity()
                        + ") events wait"
                        : "Postgres is not taking events (" + lastError + ")";
                LOG.warn("store: {}; events held in memory are spilled to {}, to be written in order as soon as it "
                        + "can", why, c.spillDir().toAbsolutePath());
            }
            chunk.clear();
            if (moved >= toMove) {
                break;
            }
        }
    }

    // ------------------------------------------------------------------ connection

    private Future<Void> connect() {
        return closePool().compose(v -> {
            int timeout = (int) Math.min(Integer.MAX_VALUE, c.connectTimeoutMs());
            Pool p = PgBuilder.pool()
                    .with(new PoolOptions().setMaxSize(2).setName("turnstile-store-" + runId)
                            .setConnectionTimeout(timeout).setConnectionTimeoutUnit(TimeUnit.MILLISECONDS))
                    .with(new NetClientOptions().setConnectTimeout(timeout))
                    .connectingTo(target.newOptions())
                    .using(vertx)
                    .build();
            pool = p;
            long timeout2 = c.connectTimeoutMs() + c.writeTimeoutMs();
            return migrations.apply(p, timeout2).compose(applied -> Futures.within(p.getConnection(), timeout2)
                            .map(held -> {
                                conn = held; // no acquire per transaction: the writer does one thing at a time
                                return applied;
                            }))
                    .recover(e -> closePool().transform(x -> Future.failedFuture(e)));
        }).map(applied -> {
            migrationsApplied += applied;
            boolean wasOut = outageStartedMs > 0;
            connected = true;
            backoffMs = 0;
            lastLoggedError = null;
            spillAnnounced = false;
            if (wasOut) {
                LOG.info("store: connected to {} again after {} s; writing the {} events held meanwhile, in order",
                        c.describeTarget(), (now() - outageStartedMs) / 1000, lagEvents());
                outageStartedMs = 0;
            } else {
                LOG.info("store: connected to {} ({} write mode, flush every {} ms or {} events); schema up to date, "
                        + "{} migration(s) applied now", c.describeTarget(), c.writeMode().configName(),
                        c.flushIntervalMs(), c.batchSize(), applied);
            }
            return null;
        });
    }

    private void connectFailed(Throwable e) {
        Kind kind = PgFailures.classify(e);
        String msg = PgFailures.describe(e);
        String line;
        if (kind == Kind.AUTHENTICATION) {
            line = "Postgres at " + c.describeTarget() + " refused the credentials of user '"
                    + target.options().getUser() + "': " + msg
                    + ". Check store.user and store.password (or " + StoreConfig.PASSWORD_ENV + ")";
        } else {
            line = "cannot reach Postgres at " + c.describeTarget() + ": " + msg;
        }
        disconnected(line, kind);
    }

    private void writeFailed(Throwable e, Kind kind) {
        String line = "writing to Postgres at " + c.describeTarget() + " failed (" + kind.name().toLowerCase(Locale.ROOT)
                + "): " + PgFailures.describe(e);
        disconnected(line, kind);
    }

    private void disconnected(String line, Kind kind) {
        if (kind == Kind.CLOSED && !stopping) {
            LOG.error("store: Vert.x was closed before the store was stopped ({}); spilling what is held to {} and "
                    + "stopping", line, c.spillDir().toAbsolutePath());
            stopping = true;
        }
        boolean wasConnected = connected;
        connected = false;
        closePool();
        noteError(line);
        if (outageStartedMs == 0) {
            outageStartedMs = now();
        }
        long max = kind == Kind.AUTHENTICATION ? MAX_AUTH_BACKOFF_MS : MAX_BACKOFF_MS;
        backoffMs = backoffMs == 0 ? 100 : Math.min(max, backoffMs * 2);
        nextConnectAtMs = now() + backoffMs;
        if (wasConnected || !line.equals(lastLoggedError)) {
            LOG.error("store: {}. Seats are still served; events are held in memory (up to {}) and spilled to {} "
                    + "beyond; retrying", line, c.queueCapacity(), c.spillDir().toAbsolutePath());
            lastLoggedError = line;
        } else {
            LOG.debug("store: still failing: {}", line);
        }
    }

    private void noteError(String message) {
        lastError = Redaction.redact(message); // shown by /v1/status, which may be open to the LAN
        lastErrorAtMs = now();
    }

    /** Closes the connection and the pool (a broken one may fail to close: nothing to do about it); within 2 s. */
    private Future<Void> closePool() {
        Pool p = pool;
        SqlConnection held = conn;
        pool = null;
        conn = null;
        Future<Void> closed = held == null ? Future.succeededFuture() : Futures.within(held.close(), 2_000).otherwiseEmpty();
        if (p == null) {
            return closed;
        }
        return closed.compose(v -> Futures.within(p.close(), 2_000).otherwiseEmpty());
    }

    // ------------------------------------------------------------------ barriers, figures, end

    /** Reads the active leases; a barrier, so everything journaled before the call is written first. */
    private Future<List<LeaseView>> queryActiveLeases() {
        return Futures.within(conn.query(SELECT_ACTIVE_LEASES).execute(), c.writeTimeoutMs()).map(rows -> {
            List<LeaseView> out = new ArrayList<>(rows.size());
            for (Row r : rows) {
                long hb = r.getOffsetDateTime("last_heartbeat").toInstant().toEpochMilli();
                String remote = r.getString("remote_address");
                Buffer hash = r.getBuffer("reclaim_secret_hash"); // protocol 1.1: null for a 1.0 lease
                out.add(new LeaseView(r.getUUID("lease_id"), r.getString("entitlement_id"),
                        r.getString("product_id"), r.getLong("session_id"), r.getString("client_id"),
                        r.getString("hw_id"), remote == null ? "" : remote, r.getLong("quantity"),
                        r.getOffsetDateTime("checked_out_at").toInstant().toEpochMilli(), hb, hb, LeaseState.ORPHANED,
                        hash == null ? null : SecretHash.fromBytes(hash.getBytes())));
            }
            return out;
        });
    }

    /** Runs, in order, the barriers that are reached; fails those that need a database that cannot be reached. */
    private Future<Void> runBarriers() {
        long doneNow = done;
        List<Barrier<?>> reached = new ArrayList<>();
        for (Iterator<Barrier<?>> it = barriers.iterator(); it.hasNext(); ) {
            Barrier<?> b = it.next();
            if (doneNow >= b.target && leftoverRemaining == 0) {
                it.remove();
                reached.add(b);
            } else if (b.needsDatabase && !connected) {
                it.remove();
                b.promise.tryFail(unreachable());
            }
        }
        flushRequested = !barriers.isEmpty();
        if (reached.isEmpty()) {
            return Future.succeededFuture();
        }
        return Futures.inOrder(reached, b -> b.run(connected, this::unreachable).map(true)).mapEmpty();
    }

    private void publish() {
        pendingInWriter = pending.size();
        long oldest = Long.MAX_VALUE;
        if (spillChunk != null && !spillChunk.isEmpty()) {
            oldest = spillChunk.get(0).enqueuedAtMs;
        } else if (spill.hasData()) {
            oldest = spillOldestEnqMs;
        }
        if (!pending.isEmpty()) {
            oldest = Math.min(oldest, pending.get(0).enqueuedAtMs);
        }
        oldestInWriterMs = oldest;
    }

    private void logLag(long now) {
        long lag = lagEvents();
        if (lag == 0) {
            if (lagReported) {
                LOG.info("store: caught up; everything held is written");
                lagReported = false;
            }
            return;
        }
        long lagMs = lagMs(now);
        boolean behind = !connected || lagMs > Math.max(2_000, 10 * c.flushIntervalMs());
        if (behind && now - lastLagLogMs >= LAG_LOG_EVERY_MS) {
            lastLagLogMs = now;
            lagReported = true;
            LOG.warn("store: {} events ({} ms) behind: {} in memory, {} bytes spilled to {}; Postgres {}", lag, lagMs,
                    memoryDepth(), spill.bytes(), c.spillDir().toAbsolutePath(),
                    connected ? "connected" : "unreachable (" + lastError + ")");
        }
    }

    /** The writer's last act: late arrivals are written if possible, else spilled; the pool and the spill closed. */
    private void finish() {
        if (finished) {
            return;
        }
        finished = true;
        stopped = true;
        if (timerId >= 0) {
            vertx.cancelTimer(timerId);
            timerId = -1;
        }
        Future<Boolean> last = Future.succeededFuture(true);
        if (connected && !vertxClosing && pending.isEmpty() && !queue.isEmpty()) {
            drain(pending, Integer.MAX_VALUE);
            last = writeBatch(pending, false).map(ok -> {
                if (ok) {
                    done += pending.size();
                    pending.clear();
                }
                return ok;
            });
        }
        last.transform(ar -> {
            if (!queue.isEmpty() || !pending.isEmpty()) {
                spillMemory();
            }
            return closePool();
        }).onComplete(ar -> {
            long unwritten = pending.size();
            spill.close();
            connected = false;
            publish();
            for (Barrier<?> b; (b = barriers.poll()) != null; ) {
                b.promise.tryFail(new IllegalStateException("the store stopped"));
            }
            if (unwritten > 0) {
                LOG.error("store: stopped with {} events neither written nor spilled (see the errors above)", unwritten);
            }
            if (spill.events() > 0) {
                LOG.info("store: stopped; {} events written this run; {} events ({} bytes) wait in {} for the next "
                        + "start", eventsWritten.sum(), spill.events(), spill.bytes(), c.spillDir().toAbsolutePath());
            } else {
                LOG.info("store: stopped; {} events written this run, nothing held", eventsWritten.sum());
            }
            stopPromise.tryComplete();
        });
    }

    // ------------------------------------------------------------------ figures (any thread)

    /** Events given to the sink and not yet in Postgres (held in memory, in the spill, or in flight). */
    long lagEvents() {
        return Math.max(0, queue.offered() - done) + leftoverRemaining;
    }

    long memoryDepth() {
        return queue.depth() + pendingInWriter;
    }

    long lagMs(long now) {
        long oldest = oldestInWriterMs;
        QueuedEvent head = queue.peek();
        if (head != null) {
            oldest = Math.min(oldest, head.enqueuedAtMs);
        }
        return oldest == Long.MAX_VALUE ? 0 : Math.max(0, now - oldest);
    }

    /** The writer's figures for the status page (the service adds the rest). */
    JsonObject status() {
        long now = now();
        JsonObject o = new JsonObject()
                .put("mode", "postgres")
                .put("persistent", true)
                .put("write_mode", c.writeMode().configName())
                .put("target", c.describeTarget())
                .put("connected", connected)
                .put("queue_depth", memoryDepth())
                .put("queue_capacity", c.queueCapacity())
                .put("lag_events", lagEvents())
                .put("lag_ms", lagMs(now))
                .put("spilled_bytes", spill.bytes())
                .put("spilled_events", spill.events())
                .put("spill_dir", c.spillDir().toAbsolutePath().toString())
                .put("parked_events", spill.parked())
                .put("dropped_events", queue.dropped())
                .put("events_written", eventsWritten.sum())
                .put("journal_rows", journalRows.sum())
                .put("batches_written", batchesWritten.sum())
                .put("heartbeats_received", heartbeatsReceived.sum())
                .put("heartbeat_updates", heartbeatUpdates.sum())
                .put("write_failures", writeFailures.sum())
                .put("migrations_applied", migrationsApplied)
                .put("flush_interval_ms", c.flushIntervalMs())
                .put("batch_size", c.batchSize());
        if (lastBatchAtMs > 0) {
            o.put("last_batch_at", Instant.ofEpochMilli(lastBatchAtMs).toString());
        }
        String err = lastError;
        if (err != null) {
            o.put("last_error", err).put("last_error_at", Instant.ofEpochMilli(lastErrorAtMs).toString());
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
        return o;
    }

    /** Work that waits until everything journaled before it is written: a flush (no action), or a read. */
    private static final class Barrier<T> {
        final long target;
        final boolean needsDatabase;
        final Supplier<Future<T>> action;
        final Promise<T> promise = Promise.promise();

        Barrier(long target, boolean needsDatabase, Supplier<Future<T>> action) {
            this.target = target;
            this.needsDatabase = needsDatabase;
            this.action = action;
        }

        /** Runs the action (on the writer's context); completes once it is settled, never fails. */
        Future<Void> run(boolean connected, Supplier<IllegalStateException> unreachable) {
            if (action == null) {
                promise.tryComplete();
                return Future.succeededFuture();
            }
            if (!connected) {
                promise.tryFail(unreachable.get());
                return Future.succeededFuture();
            }
            Future<T> f;
            try {
                f = action.get();
            } catch (RuntimeException e) {
                f = Future.failedFuture(e);
            }
            return f.transform(ar -> {
                if (ar.succeeded()) {
                    promise.tryComplete(ar.result());
                } else if (ar.cause() instanceof FencedException) {
                    promise.tryFail(ar.cause());
                } else {
                    promise.tryFail(new IllegalStateException("reading from Postgres failed: "
                            + PgFailures.describe(ar.cause()), ar.cause()));
                }
                return Future.succeededFuture();
            });
        }
    }
}
