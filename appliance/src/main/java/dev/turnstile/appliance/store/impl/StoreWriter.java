package dev.turnstile.appliance.store.impl;

import dev.turnstile.appliance.log.Redaction;
import static dev.turnstile.appliance.store.impl.PgPersistenceService.LOG;

import dev.turnstile.appliance.seat.Entitlement;
import dev.turnstile.appliance.seat.LeaseState;
import dev.turnstile.appliance.seat.LeaseView;
import dev.turnstile.appliance.store.FencedException;
import dev.turnstile.appliance.store.MigrationException;
import dev.turnstile.appliance.store.StoreConfig;
import dev.turnstile.appliance.store.StoreConfig.WriteMode;
import dev.turnstile.appliance.store.impl.PgFailures.Kind;
import io.vertx.core.Future;
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
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The store's single writer thread: drains the queue into batches, writes each batch in one
 * transaction, and when Postgres is away, holds events up to the queue's capacity and spills the
 * rest to disk, replaying the spill in order, first, when it returns. Blocking waits happen here and
 * only here, never on an event loop.
 *
 * <p>The order of writes is the order of the queue: a spilled event is older than anything still in
 * memory, so the spill is always written first; a failed batch is retried as it was (same event
 * keys) before anything newer.
 */
final class StoreWriter implements Runnable {
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

    private final PgPersistenceService s;
    private final StoreConfig c;
    private final boolean writeThrough;

    private Pool pool;
    private final List<QueuedEvent> pending = new ArrayList<>();
    private List<QueuedEvent> spillChunk;
    private long spillOldestEnqMs = Long.MAX_VALUE;
    private long nextSeq;
    private long nextConnectAtMs;
    private long backoffMs;
    private volatile long leftoverRemaining;
    private long lastFlushAtMs;
    private long stopDeadlineMs = Long.MAX_VALUE;
    private String lastLoggedError;
    private long lastLagLogMs;
    private boolean lagReported;
    private long outageStartedMs;
    private boolean spillAnnounced;
    private boolean loopEntered;
    /** triad: the highest term seen in {@code triad_fence} per journal id; an event stamped below it is stale. */
    private final Map<UUID, Long> knownFence = new HashMap<>();
    private boolean spillJournalOnlyAnnounced;

    StoreWriter(PgPersistenceService s) {
        this.s = s;
        this.c = s.config;
        this.writeThrough = c.writeMode() == WriteMode.WRITE_THROUGH;
    }

    /** Events spilled by an earlier run and not yet written. */
    long leftoverRemaining() {
        return leftoverRemaining;
    }

    private static long now() {
        return System.currentTimeMillis();
    }

    @Override
    public void run() {
        try {
            try {
                s.spill.open();
            } catch (IOException | RuntimeException e) {
                s.stopped = true;
                s.startPromise.fail(new IllegalStateException("store.spill_dir " + c.spillDir().toAbsolutePath()
                        + " cannot be used: " + PgFailures.describe(e), e));
                s.stopPromise.tryComplete();
                return;
            }
            leftoverRemaining = s.spill.events();
            spillOldestEnqMs = now();
            if (leftoverRemaining > 0) {
                LOG.info("store: {} events ({} bytes) that an earlier run spilled to {} are written first",
                        leftoverRemaining, s.spill.bytes(), c.spillDir().toAbsolutePath());
            }
            if (s.connectOptions == null) {
                noteError(s.urlProblem);
                LOG.error("store: {}. Seats are served from memory; ledger events are held and spilled to {} "
                        + "until the URL is fixed and the appliance restarted", s.urlProblem,
                        c.spillDir().toAbsolutePath());
                s.connected = false;
                s.startPromise.complete();
            } else {
                try {
                    connect();
                    s.startPromise.complete();
                } catch (MigrationException e) {
                    LOG.error("store: {}", e.getMessage());
                    closePool();
                    s.stopped = true;
                    s.spill.close();
                    s.startPromise.fail(e);
                    s.stopPromise.tryComplete();
                    return;
                } catch (Exception e) {
                    connectFailed(e);
                    s.startPromise.complete();
                }
            }
            loopEntered = true;
            loop();
        } catch (Throwable t) {
            LOG.error("store: the writer thread failed; spilling what it holds", t);
            try {
                spillMemory();
            } catch (Throwable ignored) {
                // logged by spillMemory
            }
        } finally {
            if (loopEntered) {
                finish();
            }
        }
    }

    private void loop() {
        lastFlushAtMs = now();
        while (true) {
            long now = now();
            boolean stopping = s.stopping;
            if (stopping && stopDeadlineMs == Long.MAX_VALUE) {
                stopDeadlineMs = now + Math.max(10_000, 2 * c.writeTimeoutMs());
            }
            if (!s.connected && s.connectOptions != null && now >= nextConnectAtMs && !stopping) {
                try {
                    connect();
                } catch (MigrationException e) {
                    noteError(e.getMessage());
                    LOG.error("store: {}", e.getMessage());
                    nextConnectAtMs = now() + 60_000;
                } catch (Exception e) {
                    connectFailed(e);
                }
            }
            // The bound: beyond queue_capacity events in memory, spill (connected or not: a Postgres that
            // is up but slower than the ledger must not make memory grow either). Checked before and after
            // the write, which may take a while.
            if (s.memoryDepth() >= c.queueCapacity()) {
                spillMemory();
            }
            boolean progressed = false;
            if (s.connected) {
                progressed = writeStep(now(), stopping);
            }
            if (s.memoryDepth() >= c.queueCapacity() || !s.connected && stopping) {
                spillMemory();
            }
            publish();
            runBarriers();
            logLag(now());
            if (stopping) {
                boolean memoryEmpty = pending.isEmpty() && s.queue.isEmpty();
                if (!s.connected && memoryEmpty) {
                    break;
                }
                if (s.connected && memoryEmpty && !s.spill.hasData() && s.entitlementsToWrite.get() == null) {
                    break;
                }
                if (now() >= stopDeadlineMs) {
                    LOG.warn("store: writing everything took longer than the stop allows ({} ms); spilling what is "
                            + "left for the next start", Math.max(10_000, 2 * c.writeTimeoutMs()));
                    spillMemory();
                    break;
                }
            }
            if (!progressed) {
                park();
            }
        }
    }

    private void park() {
        long now = now();
        long wakeAt;
        if (s.connected) {
            long depth = s.offered.get() - s.taken;
            wakeAt = depth > 0 ? lastFlushAtMs + c.flushIntervalMs() : now + c.flushIntervalMs();
        } else {
            wakeAt = Math.min(now + c.flushIntervalMs(), Math.max(nextConnectAtMs, now + 1));
        }
        if (s.stopping) {
            wakeAt = Math.min(wakeAt, now + 50);
        }
        long waitMs = wakeAt - now;
        if (waitMs <= 0) {
            return;
        }
        long threshold = s.connected ? (writeThrough ? 1 : c.batchSize()) : c.queueCapacity();
        s.kickThreshold = threshold;
        s.writerWaiting = true;
        if (s.offered.get() - s.taken < threshold && !s.flushRequested && !s.stopping) {
            LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(waitMs));
        }
        s.writerWaiting = false;
    }

    // ------------------------------------------------------------------ writing

    /** One unit of work while connected. Returns true when it wrote something (loop again at once). */
    private boolean writeStep(long now, boolean stopping) {
        if (s.entitlementsToWrite.get() != null && !writeEntitlements()) {
            return false;
        }
        if (s.spill.hasData()) {
            try {
                if (spillChunk == null) {
                    spillChunk = s.spill.readChunk(c.batchSize());
                    spillOldestEnqMs = spillChunk.isEmpty() ? Long.MAX_VALUE : spillChunk.get(0).enqueuedAtMs;
                }
                if (!spillChunk.isEmpty() && !writeBatch(spillChunk, true)) {
                    return false;
                }
                int mine = 0;
                for (QueuedEvent q : spillChunk) {
                    if (s.runId.equals(q.owner())) {
                        mine++;
                    }
                }
                long lines = s.spill.chunkLines();
                s.spill.commitChunk();
                s.done += mine;
                leftoverRemaining = Math.max(0, leftoverRemaining - (lines - mine));
                // the next chunk is newer than this one's last event; read at the next step
                spillOldestEnqMs = spillChunk.isEmpty() ? spillOldestEnqMs
                        : spillChunk.get(spillChunk.size() - 1).enqueuedAtMs;
                spillChunk = null;
                return true;
            } catch (IOException e) {
                noteError("cannot read the spill in " + c.spillDir().toAbsolutePath() + ": " + e.getMessage());
                LOG.error("store: {}", s.lastError);
                return false;
            }
        }
        if (pending.isEmpty()) {
            long depth = s.offered.get() - s.taken;
            if (depth <= 0 || s.queue.isEmpty()) {
                lastFlushAtMs = now;
                return false;
            }
            boolean due = writeThrough || depth >= c.batchSize() || stopping || s.flushRequested
                    || now - lastFlushAtMs >= c.flushIntervalMs();
            if (!due) {
                return false;
            }
            drain(pending, writeThrough ? 1 : c.batchSize());
            if (pending.isEmpty()) {
                return false;
            }
        }
        if (!writeBatch(pending, false)) {
            return false;
        }
        s.done += pending.size();
        pending.clear();
        if (s.queue.isEmpty()) {
            lastFlushAtMs = now();
        }
        return true;
    }

    /**
     * Takes up to {@code max} events off the queue, giving each its event key. triad: an event stamped with a term
     * the fence has passed is dropped here (counted in {@code fenced_events}; see {@link #fenced}).
     */
    private void drain(List<QueuedEvent> into, int max) {
        int n = 0;
        int stale = 0;
        QueuedEvent q;
        while (n < max && (q = s.queue.poll()) != null) {
            if (q.fence != null && isStale(q)) {
                stale++;
                continue;
            }
            if (q.runId == null) { // triad events arrive keyed
                q.runId = s.runId;
                q.seq = ++nextSeq;
            }
            into.add(q);
            n++;
        }
        s.taken += n + stale;
        if (stale > 0) {
            s.done += stale;
            s.fencedEvents.add(stale);
            LOG.debug("store: dropped {} more event(s) of a fenced term", stale);
        }
    }

    /** triad: stamped with a term below the highest the fence of its journal is known to hold. */
    private boolean isStale(QueuedEvent q) {
        Long known = knownFence.get(q.fence);
        return known != null && q.term < known;
    }

    /**
     * Writes one batch in one transaction. Returns true when every event is written, parked or fenced; false
     * when Postgres failed (the caller keeps the batch and retries it, unchanged, later).
     *
     * <p>triad: a batch holding events stamped with a fence ({@link QueuedEvent#fence}) runs
     * {@code triad_fence_check(journal, lowest term)} first in its transaction, pipelined with the rest; a refusal
     * (SQLSTATE TF001) aborts the transaction and the batch is settled by {@link #fenced}.
     */
    private boolean writeBatch(List<QueuedEvent> batch, boolean fromSpill) {
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
        long tp0 = System.nanoTime();
        BatchPlan plan = BatchPlan.of(batch, c.snapshotIntervalMs());
        long tp1 = System.nanoTime();
        Map<UUID, Long> fenceChecks = checks;
        try {
            Await.await(pool.withTransaction(conn -> statements(conn, plan, fenceChecks)), c.writeTimeoutMs());
            if (LOG.isDebugEnabled()) {
                LOG.debug("store: wrote {} events in {} us (plan {} us)", batch.size(),
                        (System.nanoTime() - tp1) / 1000, (tp1 - tp0) / 1000);
            }
        } catch (Exception e) {
            if (fenceChecks != null && isFenceRefusal(e)) {
                return fenced(batch, fromSpill, fenceChecks);
            }
            s.writeFailures.increment();
            Kind kind = PgFailures.classify(e);
            if (kind == Kind.DATA) {
                return parkOrSplit(batch, e, fromSpill);
            }
            writeFailed(e, kind);
            return false;
        }
        s.eventsWritten.add(batch.size());
        s.journalRows.add(plan.journal.size());
        s.batchesWritten.increment();
        s.heartbeatsReceived.add(plan.heartbeats);
        s.heartbeatUpdates.add(plan.heartbeatLeases);
        s.lastBatchAtMs = now();
        return true;
    }

    /** The batch's statements, sent together (pipelined on the connection), inside the caller's transaction. */
    private static Future<Void> statements(SqlConnection conn, BatchPlan plan, Map<UUID, Long> fenceChecks) {
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
        return Future.all(all).mapEmpty();
    }

    private static void send(List<Future<?>> all, SqlConnection conn, String sql, BatchPlan.Columns rows) {
        if (!rows.isEmpty()) {
            all.add(conn.preparedQuery(sql).execute(rows.toTuple()));
        }
    }

    private static Future<?> batch(Future<?> before, SqlConnection conn, String sql, List<Tuple> rows) {
        if (rows.isEmpty()) {
            return before;
        }
        return before.compose(v -> conn.preparedQuery(sql).executeBatch(rows));
    }

    // ------------------------------------------------------------------ triad fencing

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
        if (stored > s.fenceSeenTerm) {
            s.fenceSeenTerm = stored;
        }
    }

    /** Checks the fence first, inside the caller's transaction (a no-op outside a triad). */
    private static Future<Void> fenceFirst(SqlConnection conn, PgPersistenceService.Fence f) {
        if (f == null) {
            return Future.succeededFuture();
        }
        return conn.preparedQuery(FENCE_CHECK).execute(Tuple.of(f.journalId(), f.term())).mapEmpty();
    }

    /** Stale: stamped below the known fence; from the spill also a keyed row of a version before fencing. */
    private boolean staleFor(QueuedEvent q, boolean fromSpill) {
        return q.fence != null ? isStale(q) : fromSpill && q.queuedBy != null;
    }

    /**
     * The fence refused {@code batch}: reads the stored terms, then settles the batch ({@link #settleStale}). The
     * first refusal at a new term also drops every stale event still queued, and says so in one WARN.
     */
    private boolean fenced(List<QueuedEvent> batch, boolean fromSpill, Map<UUID, Long> checks) {
        List<String> by = new ArrayList<>(1);
        boolean newTerm = false;
        long stored = 0;
        try {
            RowSet<Row> rows = Await.await(pool.preparedQuery(READ_FENCE)
                    .execute(Tuple.of(checks.keySet().toArray(new UUID[0]))), c.writeTimeoutMs());
            for (Row r : rows) {
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
        } catch (Exception e) {
            s.writeFailures.increment();
            writeFailed(e, PgFailures.classify(e));
            return false;
        }
        int staleInBatch = 0;
        for (QueuedEvent q : batch) {
            if (staleFor(q, fromSpill)) {
                staleInBatch++;
            }
        }
        if (staleInBatch == 0) { // the row changed under us (deleted?): retry the batch later
            noteError("triad fence refused a batch but the stored term (" + stored + ") does not exceed its terms");
            LOG.warn("store: {}; retrying", s.lastError);
            return false;
        }
        long writerTerm = checks.values().stream().mapToLong(Long::longValue).min().orElse(0);
        if (!fromSpill && newTerm) {
            long purged = purgeQueue();
            LOG.warn("store: FENCED: this member's writes to the triad journal as leader of term {} are refused: "
                    + "the fence in Postgres is at term {} (raised by {}), a newer leader has resumed the write-behind. "
                    + "Dropped {} event(s) (the {} of this batch and {} still queued); they belong to the new leader, "
                    + "which writes them from its own buffer. Store status: fenced_batches, fenced_events",
                    writerTerm, stored, by.isEmpty() ? "?" : String.join(", ", by), staleInBatch + purged,
                    staleInBatch, purged);
        }
        return settleStale(batch, fromSpill);
    }

    /** Drops every queued event stamped below the known fence (they would be refused one batch at a time). */
    private long purgeQueue() {
        long removed = 0;
        for (Iterator<QueuedEvent> it = s.queue.iterator(); it.hasNext(); ) {
            QueuedEvent q = it.next();
            if (q.fence != null && isStale(q)) {
                it.remove();
                removed++;
            }
        }
        if (removed > 0) {
            s.taken += removed;
            s.done += removed;
            s.fencedEvents.add(removed);
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
    private boolean settleStale(List<QueuedEvent> batch, boolean fromSpill) {
        List<QueuedEvent> stale = new ArrayList<>();
        List<QueuedEvent> rest = new ArrayList<>();
        for (QueuedEvent q : batch) {
            (staleFor(q, fromSpill) ? stale : rest).add(q);
        }
        int newly = 0;
        if (fromSpill) {
            if (!stale.isEmpty() && !writeJournalOnly(stale)) {
                return false;
            }
            for (QueuedEvent q : stale) {
                if (!q.fencedCounted) {
                    q.fencedCounted = true;
                    newly++;
                }
            }
            s.fencedSpillJournalOnly.add(newly);
            if (newly > 0 && !spillJournalOnlyAnnounced) {
                spillJournalOnlyAnnounced = true;
                LOG.warn("store: the spill holds triad events of an older leadership (term below the fence in "
                        + "Postgres, or written before fencing existed): they are written to usage_journal only, not "
                        + "to leases or pool_snapshots, so a newer leader's lease rows are not set back (store status: "
                        + "fenced_spill_events_journal_only)");
            }
        } else {
            for (QueuedEvent q : stale) {
                if (!q.fencedCounted) {
                    q.fencedCounted = true;
                    newly++;
                }
            }
            if (newly > 0) {
                s.fencedEvents.add(newly);
                s.fencedBatches.increment();
            }
        }
        return rest.isEmpty() || writeBatch(rest, fromSpill);
    }

    /** The journal rows of {@code events} only, in one transaction (keyed: ON CONFLICT DO NOTHING). */
    private boolean writeJournalOnly(List<QueuedEvent> events) {
        BatchPlan plan = BatchPlan.of(events, c.snapshotIntervalMs());
        if (plan.journal.isEmpty()) {
            return true;
        }
        try {
            Await.await(pool.withTransaction(conn -> conn.preparedQuery(BatchPlan.INSERT_JOURNAL)
                    .execute(plan.journal.toTuple()).mapEmpty()), c.writeTimeoutMs());
        } catch (Exception e) {
            s.writeFailures.increment();
            Kind kind = PgFailures.classify(e);
            if (kind == Kind.DATA && events.size() > 1) {
                for (QueuedEvent q : events) {
                    if (!writeJournalOnly(List.of(q))) {
                        return false;
                    }
                }
                return true;
            }
            if (kind == Kind.DATA) {
                try {
                    s.spill.park(events.get(0), PgFailures.describe(e));
                } catch (IOException io) {
                    LOG.error("store: Postgres refused event {} ({}) and it cannot be parked: {}", events.get(0),
                            PgFailures.describe(e), EventCodec.encode(events.get(0)));
                }
                return true;
            }
            writeFailed(e, kind);
            return false;
        }
        s.journalRows.add(plan.journal.size());
        s.lastBatchAtMs = now();
        return true;
    }

    /**
     * triad: raises the fence of {@code journalId} to {@code term} (never lowers it); stamps this store's later writes
     * with it. Runs on this thread (a barrier), in its own transaction, committed before the caller goes on.
     */
    Object raiseFence(UUID journalId, long term, String member) throws Exception {
        RowSet<Row> rows = Await.await(pool.preparedQuery(RAISE_FENCE)
                .execute(Tuple.of(journalId, term, member + " (term " + term + ")")), c.writeTimeoutMs());
        long stored = rows.iterator().next().getLong(0);
        noteFence(journalId, stored);
        if (stored > term) {
            throw new FencedException(journalId, stored, term);
        }
        s.fence = new PgPersistenceService.Fence(journalId, term);
        LOG.info("store: triad fence of journal {} raised to term {} by {}: writes of older terms are refused from now on",
                journalId, term, member);
        return stored;
    }

    /** Postgres refused a row for its content: find it by writing the events one by one, park it, keep the rest. */
    private boolean parkOrSplit(List<QueuedEvent> batch, Exception e, boolean fromSpill) {
        String why = PgFailures.describe(e);
        if (batch.size() == 1) {
            QueuedEvent q = batch.get(0);
            try {
                s.spill.park(q, why);
                LOG.error("store: Postgres refused event {} ({}); it is parked in {} and the rest is written",
                        q, why, s.spill.dir().resolve(SpillStore.PARKED_FILE).toAbsolutePath());
            } catch (IOException io) {
                LOG.error("store: Postgres refused event {} ({}) and it cannot be parked ({}): the event is "
                        + "only in this log line: {}", q, why, io.getMessage(), EventCodec.encode(q));
            }
            noteError("event refused and parked: " + why);
            return true;
        }
        LOG.warn("store: Postgres refused a batch of {} events ({}); writing them one by one to find the "
                + "refused ones", batch.size(), why);
        for (QueuedEvent q : batch) {
            if (!writeBatch(List.of(q), fromSpill)) {
                return false; // lost the connection meanwhile: the whole batch is retried (rows are keyed)
            }
        }
        return true;
    }

    private boolean writeEntitlements() {
        PgPersistenceService.Entitlements pend = s.entitlementsToWrite.get();
        List<Entitlement> ents = pend.list();
        PgPersistenceService.Fence f = pend.fence();
        Long known = f == null ? null : knownFence.get(f.journalId());
        if (known != null && f.term() < known) {
            fencedEntitlements(pend, known);
            return true;
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
        try {
            Await.await(pool.withTransaction(conn -> batch(fenceFirst(conn, f), conn, UPSERT_ENTITLEMENT, rows)
                    .compose(v -> conn.preparedQuery(REMOVE_OTHER_ENTITLEMENTS).execute(Tuple.of(ids, now)))
                    .mapEmpty()), c.writeTimeoutMs());
        } catch (Exception e) {
            if (f != null && isFenceRefusal(e)) {
                long stored = storedTermOf(e, f.term() + 1);
                noteFence(f.journalId(), stored);
                fencedEntitlements(pend, stored);
                return true;
            }
            Kind kind = PgFailures.classify(e);
            if (kind == Kind.DATA) {
                LOG.error("store: Postgres refused the entitlements ({}); they are not recorded",
                        PgFailures.describe(e));
                s.entitlementsToWrite.compareAndSet(pend, null);
                return true;
            }
            writeFailed(e, kind);
            return false;
        }
        s.entitlementsToWrite.compareAndSet(pend, null);
        return true;
    }

    private void fencedEntitlements(PgPersistenceService.Entitlements pend, long stored) {
        s.entitlementsToWrite.compareAndSet(pend, null);
        s.fencedBatches.increment();
        LOG.warn("store: FENCED: the entitlements recorded as leader of term {} are not written: the fence of journal "
                + "{} is at term {} (the newer leader records the replicated ledger's entitlements itself)",
                pend.fence().term(), pend.fence().journalId(), stored);
    }

    // ------------------------------------------------------------------ spilling

    /**
     * Moves everything held in memory (the failed batch first, then the queue as it is now) to the
     * spill, in order, in chunks so that a long queue never becomes one huge buffer.
     */
    private void spillMemory() {
        long toMove = pending.size() + Math.max(0, s.offered.get() - s.taken);
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
                if (!s.spill.hasData()) {
                    spillOldestEnqMs = chunk.get(0).enqueuedAtMs;
                }
                s.spill.append(chunk);
            } catch (IOException | RuntimeException e) {
                pending.addAll(chunk); // kept in memory, in order, ahead of the queue
                noteError("cannot spill to " + c.spillDir().toAbsolutePath() + ": " + e.getMessage());
                LOG.error("store: cannot spill {} events to {} ({}); they stay in memory", chunk.size(),
                        c.spillDir().toAbsolutePath(), e.getMessage());
                return;
            }
            s.spilledTotal.add(chunk.size());
            moved += chunk.size();
            if (!spillAnnounced) {
                spillAnnounced = true;
                String why = s.connected
                        ? "Postgres is slower than the ledger: more than store.queue_capacity (" + c.queueCapacity()
                        + ") events wait"
                        : "Postgres is not taking events (" + s.lastError + ")";
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

    private void connect() throws Exception {
        closePool();
        int timeout = (int) Math.min(Integer.MAX_VALUE, c.connectTimeoutMs());
        pool = PgBuilder.pool()
                .with(new PoolOptions().setMaxSize(2).setName("turnstile-store-" + s.runId)
                        .setConnectionTimeout(timeout).setConnectionTimeoutUnit(TimeUnit.MILLISECONDS))
                .with(new NetClientOptions().setConnectTimeout(timeout))
                .connectingTo(s.connectOptions)
                .using(s.vertx)
                .build();
        int applied;
        try {
            applied = s.migrations.apply(pool, c.connectTimeoutMs() + c.writeTimeoutMs());
        } catch (Exception e) {
            closePool();
            throw e;
        }
        s.migrationsApplied += applied;
        boolean wasOut = outageStartedMs > 0;
        s.connected = true;
        backoffMs = 0;
        lastLoggedError = null;
        spillAnnounced = false;
        if (wasOut) {
            LOG.info("store: connected to {} again after {} s; writing the {} events held meanwhile, in order",
                    c.describeTarget(), (now() - outageStartedMs) / 1000, s.lagEvents());
            outageStartedMs = 0;
        } else {
            LOG.info("store: connected to {} ({} write mode, flush every {} ms or {} events); schema up to date, "
                    + "{} migration(s) applied now", c.describeTarget(), c.writeMode().configName(),
                    c.flushIntervalMs(), c.batchSize(), applied);
        }
    }

    private void connectFailed(Exception e) {
        Kind kind = PgFailures.classify(e);
        String msg = PgFailures.describe(e);
        String line;
        if (kind == Kind.AUTHENTICATION) {
            line = "Postgres at " + c.describeTarget() + " refused the credentials of user '"
                    + s.connectOptions.getUser() + "': " + msg
                    + ". Check store.user and store.password (or " + StoreConfig.PASSWORD_ENV + ")";
        } else {
            line = "cannot reach Postgres at " + c.describeTarget() + ": " + msg;
        }
        disconnected(line, kind);
    }

    private void writeFailed(Exception e, Kind kind) {
        String line = "writing to Postgres at " + c.describeTarget() + " failed (" + kind.name().toLowerCase(Locale.ROOT)
                + "): " + PgFailures.describe(e);
        disconnected(line, kind);
    }

    private void disconnected(String line, Kind kind) {
        if (kind == Kind.CLOSED && !s.stopping) {
            LOG.error("store: Vert.x was closed before the store was stopped ({}); spilling what is held to {} and "
                    + "stopping", line, c.spillDir().toAbsolutePath());
            s.stopping = true;
        }
        boolean wasConnected = s.connected;
        s.connected = false;
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
        s.lastError = Redaction.redact(message); // shown by /v1/status, which may be open to the LAN
        s.lastErrorAtMs = now();
    }

    private void closePool() {
        Pool p = pool;
        pool = null;
        if (p != null) {
            try {
                Await.await(p.close(), 2_000);
            } catch (Exception ignored) {
                // closing a broken pool may fail; nothing to do
            }
        }
    }

    // ------------------------------------------------------------------ barriers, figures, end

    /** Reads the active leases; runs on this thread once everything journaled before the call is written. */
    Object queryActiveLeases() throws Exception {
        RowSet<Row> rows = Await.await(pool.query(SELECT_ACTIVE_LEASES).execute(), c.writeTimeoutMs());
        List<LeaseView> out = new ArrayList<>(rows.size());
        for (Row r : rows) {
            long hb = r.getOffsetDateTime("last_heartbeat").toInstant().toEpochMilli();
            String remote = r.getString("remote_address");
            io.vertx.core.buffer.Buffer hash = r.getBuffer("reclaim_secret_hash"); // protocol 1.1: null for a 1.0 lease
            out.add(new LeaseView(r.getUUID("lease_id"), r.getString("entitlement_id"), r.getString("product_id"),
                    r.getLong("session_id"), r.getString("client_id"), r.getString("hw_id"),
                    remote == null ? "" : remote, r.getLong("quantity"),
                    r.getOffsetDateTime("checked_out_at").toInstant().toEpochMilli(), hb, hb, LeaseState.ORPHANED,
                    hash == null ? null : dev.turnstile.appliance.seat.SecretHash.fromBytes(hash.getBytes())));
        }
        return out;
    }

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

    /** triad: the highest seq under {@code keyId}; runs on this thread once everything before it is written. */
    Object queryMaxSeq(java.util.UUID keyId) throws Exception {
        RowSet<Row> rows = Await.await(pool.preparedQuery(MAX_JOURNAL_SEQ).execute(Tuple.of(keyId)),
                c.writeTimeoutMs());
        Long max = rows.iterator().next().getLong(0);
        return max == null ? -1L : max;
    }

    /** triad: the leases table made to match the replicated ledger's live leases (see PersistenceService). */
    Object reconcile(List<LeaseView> live, long nowMs, PgPersistenceService.Fence f) throws Exception {
        Long known = f == null ? null : knownFence.get(f.journalId());
        if (known != null && f.term() < known) {
            s.fencedBatches.increment();
            throw new FencedException(f.journalId(), known, f.term());
        }
        int n = live.size();
        java.util.UUID[] ids = new java.util.UUID[n];
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
            hashes[i] = l.secretHash() == null ? null : java.util.HexFormat.of().formatHex(l.secretHash().bytes());
        }
        RowSet<Row> released;
        try {
            released = Await.await(pool.withTransaction(conn -> fenceFirst(conn, f)
                    .compose(x -> conn.preparedQuery(RECONCILE_LIVE).execute(Tuple.tuple().addValue(ids).addValue(ents)
                            .addValue(prods).addValue(sess).addValue(clients).addValue(hws).addValue(remotes)
                            .addValue(qty).addValue(co).addValue(hb).addValue(hashes)))
                    .compose(v -> conn.preparedQuery(RECONCILE_RELEASE).execute(Tuple.of(ids, nowMs)))),
                    c.writeTimeoutMs());
        } catch (Exception e) {
            if (f != null && isFenceRefusal(e)) {
                long stored = storedTermOf(e, f.term() + 1);
                noteFence(f.journalId(), stored);
                s.fencedBatches.increment();
                throw new FencedException(f.journalId(), stored, f.term());
            }
            throw e;
        }
        return released.rowCount();
    }

    private void runBarriers() {
        long doneNow = s.done;
        for (Iterator<PgPersistenceService.Barrier> it = s.barriers.iterator(); it.hasNext(); ) {
            PgPersistenceService.Barrier b = it.next();
            boolean reached = doneNow >= b.target && leftoverRemaining == 0;
            if (!reached) {
                if (b.needsDatabase && !s.connected) {
                    it.remove();
                    b.promise.tryFail(new IllegalStateException("the database cannot be reached (" + s.lastError + ")"));
                }
                continue;
            }
            it.remove();
            if (b.action == null) {
                b.promise.tryComplete();
            } else if (!s.connected) {
                b.promise.tryFail(new IllegalStateException("the database cannot be reached (" + s.lastError + ")"));
            } else {
                try {
                    b.promise.tryComplete(b.action.run());
                } catch (FencedException e) {
                    b.promise.tryFail(e);
                } catch (Exception e) {
                    b.promise.tryFail(new IllegalStateException("reading from Postgres failed: "
                            + PgFailures.describe(e), e));
                }
            }
        }
        s.flushRequested = false;
        if (!s.barriers.isEmpty()) {
            s.flushRequested = true;
        }
    }

    private void publish() {
        s.pendingInWriter = pending.size();
        long oldest = Long.MAX_VALUE;
        if (spillChunk != null && !spillChunk.isEmpty()) {
            oldest = spillChunk.get(0).enqueuedAtMs;
        } else if (s.spill.hasData()) {
            oldest = spillOldestEnqMs;
        }
        if (!pending.isEmpty()) {
            oldest = Math.min(oldest, pending.get(0).enqueuedAtMs);
        }
        s.oldestInWriterMs = oldest;
    }

    private void logLag(long now) {
        long lag = s.lagEvents();
        if (lag == 0) {
            if (lagReported) {
                LOG.info("store: caught up; everything held is written");
                lagReported = false;
            }
            return;
        }
        long lagMs = s.lagMs(now);
        boolean behind = !s.connected || lagMs > Math.max(2_000, 10 * c.flushIntervalMs());
        if (behind && now - lastLagLogMs >= LAG_LOG_EVERY_MS) {
            lastLagLogMs = now;
            lagReported = true;
            LOG.warn("store: {} events ({} ms) behind: {} in memory, {} bytes spilled to {}; Postgres {}", lag, lagMs,
                    s.memoryDepth(), s.spill.bytes(), c.spillDir().toAbsolutePath(),
                    s.connected ? "connected" : "unreachable (" + s.lastError + ")");
        }
    }

    private void finish() {
        s.stopped = true;
        // Late arrivals between the last drain and now: write them if possible, else spill them.
        if (!s.queue.isEmpty() || !pending.isEmpty()) {
            if (s.connected && pending.isEmpty()) {
                drain(pending, Integer.MAX_VALUE);
                if (writeBatch(pending, false)) {
                    s.done += pending.size();
                    pending.clear();
                }
            }
            spillMemory();
        }
        long unwritten = pending.size();
        closePool();
        s.spill.close();
        s.connected = false;
        for (PgPersistenceService.Barrier b; (b = s.barriers.poll()) != null; ) {
            b.promise.tryFail(new IllegalStateException("the store stopped"));
        }
        if (unwritten > 0) {
            LOG.error("store: stopped with {} events neither written nor spilled (see the errors above)", unwritten);
        }
        if (s.spill.events() > 0) {
            LOG.info("store: stopped; {} events written this run; {} events ({} bytes) wait in {} for the next start",
                    s.eventsWritten.sum(), s.spill.events(), s.spill.bytes(), c.spillDir().toAbsolutePath());
        } else {
            LOG.info("store: stopped; {} events written this run, nothing held", s.eventsWritten.sum());
        }
        s.stopPromise.tryComplete();
    }
}
