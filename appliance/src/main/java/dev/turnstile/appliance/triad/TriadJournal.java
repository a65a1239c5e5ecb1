package dev.turnstile.appliance.triad;

import dev.turnstile.appliance.seat.ConcurrentLedger;
import dev.turnstile.appliance.seat.Entitlement;
import dev.turnstile.appliance.seat.LeaseView;
import dev.turnstile.appliance.seat.LedgerEvent;
import dev.turnstile.appliance.store.FencedException;
import dev.turnstile.appliance.store.PersistenceService;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The store of a triad member (issue 8): one shared PostgreSQL for the triad (the site's database), written by the
 * leader only, resumed by a new leader without duplicating or losing journal rows.
 *
 * <ul>
 *   <li><b>Keys.</b> An event the ledger produces while applying a Raft log entry has the triad's deterministic key
 *       (journal id, seq) ({@link JournalKeys}): the same on every member. Every other event (heartbeats, refusals
 *       decided before the ledger, start-up) is local: written by the leader under its own run key, never by a
 *       follower (counted in {@code local_events_not_written}).</li>
 *   <li><b>Buffer.</b> Every member keeps the keyed events of the commands it applied, in order, until the leader
 *       confirms them written: the leader flushes its store every {@code max(1 s, store.flush_interval)} and then
 *       commits a journal mark "written up to seq X" (a tiny log entry); applying it, every member drops its events
 *       up to X. Bounded by {@code store.triad_buffer_events}: beyond, the oldest are dropped and their seq kept
 *       (8 bytes each, as many) to report the gap exactly if this member has to resume.</li>
 *   <li><b>Resume.</b> A member that becomes leader: fixes the journal id if the log has none (proposes a mark with a
 *       random id; the first applied wins), reads max(seq) under the id from Postgres, takes the larger of that and
 *       the confirmed position as its start, hands its buffered events after it to the store (keyed:
 *       ON CONFLICT DO NOTHING covers any overlap with what the old leader still writes), makes the {@code leases}
 *       table match the replicated ledger ({@link PersistenceService#reconcileLeases}), records the ledger's
 *       entitlements, then writes behind as the leader. Events it does not have (dropped from a full buffer, or
 *       before the snapshot it was restored from) are a gap: logged at ERROR with counts and shown in the status
 *       ({@code store.triad.last_resume}).</li>
 *   <li><b>Fence.</b> Before it reads max(seq), the new leader raises the fence of the journal id in Postgres
 *       ({@code triad_fence}) to the Raft term it became leader in ({@link PersistenceService#raiseFence}); every
 *       later write of its store checks the fence in its own transaction, so a deposed leader's late batch (paused,
 *       partitioned) is refused and dropped ({@code fenced_batches}, {@code fenced_events}) instead of setting a
 *       reclaimed lease's row back. Local events and entitlements are handed to the store only while this member
 *       writes as the resumed leader, so they carry its term too.</li>
 * </ul>
 * The store below is the single-server {@link PersistenceService} (queue, batches, spill), unchanged.
 */
public final class TriadJournal implements PersistenceService, JournalKeys.Listener {
    private static final Logger LOG = LoggerFactory.getLogger("dev.turnstile.appliance.store");
    /** Shallow heap of one buffered event with its key (measured, see store-triad notes): for the status figure. */
    static final int BYTES_PER_EVENT = 150;

    private record Keyed(long seq, LedgerEvent event) {
    }

    private final PersistenceService store;
    private final int capacity;
    private final long confirmIntervalMs;
    private final ScheduledExecutorService exec;
    private final AtomicLong epoch = new AtomicLong();

    // ---- guarded by this ----
    private final ArrayDeque<Keyed> buffer = new ArrayDeque<>();
    /** seqs of events dropped from the full buffer before they were confirmed written (a ring). */
    private final long[] dropped;
    private int droppedHead;
    private int droppedSize;
    private long droppedUntracked;
    private long droppedTotal;
    /** Commands before this index were never applied here (this member was restored from a snapshot). */
    private long coverageFromIndex = 1;
    private boolean running;
    private long handedUpTo = -1;
    private long keyedEvents;
    private long lastKeyedSeq = -1;

    private volatile TriadNode node;
    private volatile JournalKeys keys;
    private volatile ConcurrentLedger ledger;
    private volatile String state = "following";
    /** True while this member writes as the resumed leader (mirrors {@code running}, read without the lock). */
    private volatile boolean writing;
    /** The Raft term this member last became leader in, and the term it last resumed (raised the fence) in. */
    private volatile long gainedTerm;
    private volatile long resumedTerm;
    private volatile JsonObject lastResume;
    private volatile boolean flushInFlight;
    private final LongAdder confirmsProposed = new LongAdder();
    private final LongAdder localWritten = new LongAdder();
    private final LongAdder localSkipped = new LongAdder();
    private final LongAdder overflow = new LongAdder();
    private final LongAdder entitlementsSkipped = new LongAdder();

    public TriadJournal(PersistenceService store, int bufferEvents, long flushIntervalMs) {
        this.store = store;
        this.capacity = bufferEvents;
        this.dropped = new long[bufferEvents];
        this.confirmIntervalMs = Math.max(1_000, flushIntervalMs);
        this.exec = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "triad-journal");
            t.setDaemon(true);
            return t;
        });
    }

    /** Wires the member before it joins (log replay at join is already keyed). */
    public void attach(TriadNode node, ConcurrentLedger ledger) {
        this.ledger = ledger;
        this.keys = node.stateMachine().journal();
        this.node = node;
        keys.listener(this);
        node.onLeadershipGained(this::leadershipGained);
        node.onLeadershipLost(next -> leadershipLost());
        exec.scheduleWithFixedDelay(this::confirm, confirmIntervalMs, confirmIntervalMs, TimeUnit.MILLISECONDS);
    }

    // ------------------------------------------------------------------ events

    @Override
    public boolean persistent() {
        return store.persistent();
    }

    @Override
    public void journal(LedgerEvent event) {
        JournalKeys k = keys;
        long seq = k == null ? JournalKeys.LOCAL : k.nextSeq();
        if (seq >= 0) {
            keyed(seq, event);
            return;
        }
        if (seq == JournalKeys.SUPPRESSED) {
            return;
        }
        if (seq == JournalKeys.OVERFLOW) {
            overflow.increment();
        }
        if (writing) { // the resumed leader: stamped with the fence of its term
            localWritten.increment();
            store.journal(event);
        } else {
            localSkipped.increment();
        }
    }

    private synchronized void keyed(long seq, LedgerEvent e) {
        if (e.kind() != LedgerEvent.Kind.HEARTBEAT) {
            keyedEvents++;
        }
        lastKeyedSeq = seq;
        if (running) {
            store.journalKeyed(e, keys.journalId(), seq);
            handedUpTo = seq;
        }
        buffer.addLast(new Keyed(seq, e));
        if (buffer.size() > capacity) {
            Keyed old = buffer.pollFirst();
            if (old.seq > handedUpTo) {
                noteDropped(old.seq);
            }
        }
    }

    private void noteDropped(long seq) {
        droppedTotal++;
        if (droppedSize == dropped.length) {
            droppedHead = (droppedHead + 1) % dropped.length;
            droppedSize--;
            droppedUntracked++;
        }
        dropped[(droppedHead + droppedSize) % dropped.length] = seq;
        droppedSize++;
    }

    @Override
    public synchronized void marked(UUID journalId, long writtenUpTo) {
        while (!buffer.isEmpty() && buffer.peekFirst().seq <= writtenUpTo) {
            buffer.pollFirst();
        }
        while (droppedSize > 0 && dropped[droppedHead] <= writtenUpTo) {
            droppedHead = (droppedHead + 1) % dropped.length;
            droppedSize--;
        }
    }

    @Override
    public synchronized void restored(long index) {
        buffer.clear();
        droppedSize = 0;
        droppedHead = 0;
        coverageFromIndex = Math.max(coverageFromIndex, index + 1);
    }

    // ------------------------------------------------------------------ leadership

    private void leadershipGained() {
        long term = node.term(); // the term this member became leader in: its writes are fenced with it
        gainedTerm = term;
        long ep = epoch.incrementAndGet();
        state = "resuming";
        exec.execute(() -> resume(ep, term));
    }

    private void leadershipLost() {
        epoch.incrementAndGet();
        synchronized (this) {
            running = false;
            writing = false;
            handedUpTo = -1;
        }
        state = "following";
    }

    private void retry(long ep, long term, String why) {
        if (ep != epoch.get()) {
            return;
        }
        state = "resuming: " + why;
        exec.schedule(() -> resume(ep, term), 1, TimeUnit.SECONDS);
    }

    /** What the resume reads from the replicated ledger, under its lock: the live leases and the entitlements. */
    private record LedgerPicture(List<LeaseView> leases, List<Entitlement> entitlements) {
    }

    /** Ends a resume early: retry in a second ({@code why} shown in the state), or stop (already logged). */
    private static final class ResumeEnds extends RuntimeException {
        final String retryBecause;

        ResumeEnds(String retryBecause) {
            super(retryBecause, null, false, false);
            this.retryBecause = retryBecause;
        }
    }

    /**
     * A new leader's resume, composed on the store's futures (no thread waits for Postgres): journal id, fence, the
     * journal's position, the buffered events after it, the leases reconcile, then writing behind. Each continuation
     * runs on this journal's own thread ({@link #exec}); a step that cannot go on retries the whole resume in a second.
     */
    private void resume(long ep, long term) {
        if (ep != epoch.get()) {
            return;
        }
        TriadNode n = node;
        UUID known = keys.journalId();
        Future<UUID> journalId = known != null ? Future.succeededFuture(known)
                : within(Future.fromCompletionStage(n.journalMark(UUID.randomUUID(), -1)), 10_000).transform(ar -> {
                    if (ar.failed()) {
                        LOG.debug("store: triad journal id not committed yet: {}", ar.cause().toString());
                    }
                    UUID id = keys.journalId();
                    if (id == null) {
                        return Future.failedFuture(new ResumeEnds("waiting for the journal id to commit"));
                    }
                    LOG.info("store: triad journal id is {}", id);
                    return Future.succeededFuture(id);
                });
        journalId.compose(id -> resumeWith(ep, term, n, id)).onFailure(e -> {
            if (e instanceof ResumeEnds r) {
                if (r.retryBecause != null) {
                    retry(ep, term, r.retryBecause);
                }
            } else {
                LOG.warn("store: the new leader's resume failed ({}); retrying", e.toString());
                retry(ep, term, "after a failure");
            }
        });
    }

    private Future<Void> resumeWith(long ep, long term, TriadNode n, UUID journalId) {
        // The fence first: from its commit on, a deposed leader's batch is refused (it waits for a batch in flight,
        // whose rows the reads below then see), and this member's writes carry its term.
        Future<Long> raised = within(store.raiseFence(journalId, term, n.self()), 60_000).recover(e -> {
            if (e instanceof FencedException f) {
                state = "fenced: the fence is at term " + f.storedTerm() + ", this member led term " + term;
                LOG.warn("store: this member became leader in term {} but the triad fence in Postgres is already at term "
                        + "{}: a newer leader resumed the write-behind; this member writes nothing", term,
                        f.storedTerm());
                return Future.failedFuture(new ResumeEnds(null));
            }
            LOG.warn("store: the new leader cannot raise the triad fence in Postgres ({}); the triad's events wait in "
                    + "this member's buffer (store.triad_buffer_events = {}); retrying", e.getMessage(), capacity);
            return Future.failedFuture(new ResumeEnds("waiting for Postgres"));
        });
        return raised.compose(stored -> {
            resumedTerm = term;
            return within(store.maxJournalSeq(journalId), 60_000).recover(e -> {
                LOG.warn("store: the new leader cannot read the journal's position from Postgres ({}); the triad's "
                        + "events wait in this member's buffer (store.triad_buffer_events = {}); retrying",
                        e.getMessage(), capacity);
                return Future.failedFuture(new ResumeEnds("waiting for Postgres"));
            });
        }).compose(maxPg -> {
            long from = Math.max(maxPg, keys.writtenUpTo());
            long[] handed = new long[1];
            LedgerPicture picture = ledger.locked(l -> {
                synchronized (this) {
                    if (ep != epoch.get()) {
                        return null;
                    }
                    for (Keyed k : buffer) {
                        if (k.seq > from) {
                            store.journalKeyed(k.event, journalId, k.seq);
                            handed[0]++;
                            handedUpTo = k.seq;
                        }
                    }
                    handedUpTo = Math.max(handedUpTo, from);
                    return new LedgerPicture(l.leases(), l.snapshotEntitlements());
                }
            });
            if (picture == null) {
                return Future.failedFuture(new ResumeEnds(null)); // leadership moved on meanwhile
            }
            store.recordEntitlements(picture.entitlements());
            return within(store.reconcileLeases(picture.leases(), System.currentTimeMillis()), 60_000).transform(ar -> {
                if (ar.failed()) {
                    if (ar.cause() instanceof FencedException f) {
                        state = "fenced: the fence is at term " + f.storedTerm() + ", this member led term " + term;
                        LOG.warn("store: the leases reconcile of term {} was refused by the triad fence (term {}): a "
                                + "newer leader resumed the write-behind; this member writes nothing", term,
                                f.storedTerm());
                        return Future.failedFuture(new ResumeEnds(null));
                    }
                    LOG.error("store: the new leader could not make the leases table match the replicated ledger ({}); "
                            + "it continues writing behind, the table is corrected at the next takeover",
                            ar.cause().getMessage());
                }
                startWriting(ep, term, journalId, maxPg, from, handed, picture.leases(),
                        ar.succeeded() ? ar.result() : -1);
                return Future.<Void>succeededFuture();
            });
        });
    }

    /** The last step of a resume: the events applied meanwhile, the gap report, then writing behind as the leader. */
    private void startWriting(long ep, long term, UUID journalId, long maxPg, long from, long[] handed,
                              List<LeaseView> live, int releasedRows) {
        ledger.locked(l -> {
            synchronized (this) {
                if (ep != epoch.get()) {
                    return null;
                }
                for (Keyed k : buffer) {
                    if (k.seq > handedUpTo) {
                        store.journalKeyed(k.event, journalId, k.seq);
                        handed[0]++;
                        handedUpTo = k.seq;
                    }
                }
                long gapEvents = 0;
                long gapFrom = Long.MAX_VALUE;
                long gapTo = -1;
                for (int i = 0; i < droppedSize; i++) {
                    long s = dropped[(droppedHead + i) % dropped.length];
                    if (s > from) {
                        gapEvents++;
                        gapFrom = Math.min(gapFrom, s);
                        gapTo = Math.max(gapTo, s);
                    }
                }
                long fromIndex = from < 0 ? 1 : JournalKeys.indexOf(from);
                long unknownCommands = coverageFromIndex > fromIndex ? coverageFromIndex - fromIndex : 0;
                JsonObject r = new JsonObject()
                        .put("at", Instant.now().toString())
                        .put("journal_id", journalId.toString())
                        .put("postgres_max_seq", maxPg)
                        .put("confirmed_seq", keys.writtenUpTo())
                        .put("resumed_after_seq", from)
                        .put("events_written_from_buffer", handed[0])
                        .put("leases_reconciled", live.size())
                        .put("lease_rows_released", releasedRows)
                        .put("gap", gapEvents > 0 || droppedUntracked > 0 || unknownCommands > 0)
                        .put("gap_events", gapEvents)
                        .put("gap_events_untracked", droppedUntracked)
                        .put("gap_from_seq", gapEvents > 0 ? gapFrom : null)
                        .put("gap_to_seq", gapEvents > 0 ? gapTo : null)
                        .put("gap_unknown_commands", unknownCommands)
                        .put("gap_unknown_from_index", unknownCommands > 0 ? fromIndex : null)
                        .put("gap_unknown_to_index", unknownCommands > 0 ? coverageFromIndex - 1 : null);
                r.put("term", term);
                lastResume = r;
                running = true;
                writing = true;
                state = "writing";
                if (r.getBoolean("gap")) {
                    LOG.error("store: GAP in the usage journal: the new leader resumed after seq {} (Postgres max {}, "
                            + "confirmed {}) but does not hold {} event(s) (seq {}..{}){}{}; they are missing from "
                            + "usage_journal. Resume: {}", from, maxPg, keys.writtenUpTo(), gapEvents,
                            gapEvents > 0 ? gapFrom : "-", gapEvents > 0 ? gapTo : "-",
                            droppedUntracked > 0 ? " and at least " + droppedUntracked + " more not tracked" : "",
                            unknownCommands > 0 ? "; the events of log commands " + fromIndex + ".." + (coverageFromIndex - 1)
                                    + " were never seen here (restored from a snapshot)" : "", r.encode());
                } else {
                    LOG.info("store: leader resumed the write-behind of journal {} after seq {} (Postgres max {}, "
                            + "confirmed {}): {} buffered event(s) handed to the store, {} live lease(s) reconciled, "
                            + "{} stale lease row(s) released, no gap", journalId, from, maxPg, keys.writtenUpTo(),
                            handed[0], live.size(), releasedRows);
                }
                return null;
            }
        });
    }

    /**
     * {@code f}, continued on this journal's thread ({@link #exec}), or a failure after {@code ms} (the store's own
     * write timeout ends its operations sooner; this only bounds a resume that would otherwise hang).
     */
    private <T> Future<T> within(Future<T> f, long ms) {
        Promise<T> p = Promise.promise();
        try {
            ScheduledFuture<?> timer = exec.schedule(() -> p.tryFail(new TimeoutException("no answer within " + ms
                    + " ms")), ms, TimeUnit.MILLISECONDS);
            f.onComplete(ar -> {
                timer.cancel(false);
                try {
                    exec.execute(() -> {
                        if (ar.succeeded()) {
                            p.tryComplete(ar.result());
                        } else {
                            p.tryFail(ar.cause());
                        }
                    });
                } catch (RejectedExecutionException stopped) {
                    p.tryFail(new ResumeEnds(null)); // the journal is stopping
                }
            });
        } catch (RejectedExecutionException stopped) {
            p.tryFail(new ResumeEnds(null));
        }
        return p.future();
    }

    /** Leader: once what was handed to the store is written, commit "journal written up to" for the others. */
    private void confirm() {
        try {
            TriadNode n = node;
            JournalKeys k = keys;
            if (n == null || k == null || !n.isLeader() || flushInFlight) {
                return;
            }
            long target;
            synchronized (this) {
                if (!running) {
                    return;
                }
                target = handedUpTo;
            }
            UUID id = k.journalId();
            if (id == null || target <= k.writtenUpTo()) {
                return;
            }
            long ep = epoch.get();
            long fencedBefore = store.fencedEvents();
            flushInFlight = true;
            store.flush().onComplete(ar -> {
                flushInFlight = false;
                // events the fence refused are not written: never confirm past them (a newer leader writes them)
                if (ar.succeeded() && ep == epoch.get() && store.fencedEvents() == fencedBefore) {
                    confirmsProposed.increment();
                    n.journalMark(id, target);
                }
            });
        } catch (RuntimeException e) {
            flushInFlight = false;
            LOG.warn("store: triad journal confirmation failed", e);
        }
    }

    // ------------------------------------------------------------------ the rest of the store

    @Override
    public void recordEntitlements(Collection<Entitlement> current) {
        if (writing) {
            store.recordEntitlements(current);
        } else {
            entitlementsSkipped.increment(); // a new leader records the replicated ledger's entitlements
        }
    }

    @Override
    public Future<List<LeaseView>> loadActiveLeases() {
        return store.loadActiveLeases();
    }

    @Override
    public Future<Void> flush() {
        return store.flush();
    }

    @Override
    public Future<Long> maxJournalSeq(UUID keyId) {
        return store.maxJournalSeq(keyId);
    }

    @Override
    public Future<Integer> reconcileLeases(List<LeaseView> live, long nowMs) {
        return store.reconcileLeases(live, nowMs);
    }

    @Override
    public Future<Long> raiseFence(UUID journalId, long term, String member) {
        return store.raiseFence(journalId, term, member);
    }

    @Override
    public long fencedEvents() {
        return store.fencedEvents();
    }

    @Override
    public Future<Void> stop() {
        epoch.incrementAndGet();
        exec.shutdownNow();
        return store.stop();
    }

    /** The triad journal's figures (also inside {@link #status()} as {@code triad}). */
    public synchronized JsonObject triadStatus() {
        JournalKeys k = keys;
        UUID id = k == null ? null : k.journalId();
        JsonObject o = new JsonObject()
                .put("state", state)
                .put("leader_term", gainedTerm == 0 ? null : gainedTerm)
                .put("resumed_term", resumedTerm == 0 ? null : resumedTerm)
                .put("journal_id", id == null ? null : id.toString())
                .put("confirmed_seq", k == null ? -1 : k.writtenUpTo())
                .put("handed_up_to_seq", running ? handedUpTo : null)
                .put("buffer_events", buffer.size())
                .put("buffer_capacity", capacity)
                .put("buffer_bytes_estimate", (long) buffer.size() * BYTES_PER_EVENT)
                .put("buffer_oldest_seq", buffer.isEmpty() ? null : buffer.peekFirst().seq)
                .put("buffer_dropped_unconfirmed", droppedTotal)
                .put("keyed_events", keyedEvents)
                .put("last_keyed_seq", lastKeyedSeq)
                .put("coverage_from_index", coverageFromIndex)
                .put("local_events_written", localWritten.sum())
                .put("local_events_not_written", localSkipped.sum())
                .put("key_overflow_events", overflow.sum())
                .put("confirmations_proposed", confirmsProposed.sum())
                .put("confirm_interval_ms", confirmIntervalMs);
        if (lastResume != null) {
            o.put("last_resume", lastResume);
        }
        return o;
    }

    @Override
    public JsonObject status() {
        return store.status().put("triad", triadStatus());
    }

    /** Keys without a node (the memory measurement). */
    void keysForTest(JournalKeys k) {
        this.keys = k;
    }

    /** Buffered events (tests). */
    synchronized int buffered() {
        return buffer.size();
    }

    /** Non-heartbeat keyed events this member applied since it started, and the last key (tests, status). */
    public synchronized long keyedEvents() {
        return keyedEvents;
    }

    public synchronized long lastKeyedSeq() {
        return lastKeyedSeq;
    }
}
