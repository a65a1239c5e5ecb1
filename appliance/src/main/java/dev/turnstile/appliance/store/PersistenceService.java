package dev.turnstile.appliance.store;

import dev.turnstile.appliance.seat.Entitlement;
import dev.turnstile.appliance.seat.LeaseView;
import dev.turnstile.appliance.seat.LedgerEvent;
import dev.turnstile.appliance.seat.LedgerListener;
import dev.turnstile.appliance.seat.LeaseState;
import dev.turnstile.appliance.store.impl.MemoryOnlyPersistence;
import dev.turnstile.appliance.store.impl.PgPersistenceService;
import dev.turnstile.protocol.ErrorCode;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.Collection;
import java.util.List;

/**
 * Makes what the seat ledger decides durable, behind it: every {@link LedgerEvent} goes on a
 * bounded in-memory queue and the store's writer (a verticle on its own worker context, composed on the
 * pg client's futures) writes it to PostgreSQL in batches (see the package
 * documentation for the pipeline, its guarantees and the Postgres-down policy).
 *
 * <p>Lifecycle: {@link #start} (connects, applies migrations, replays what an earlier run spilled)
 * before the TCP server listens; {@link #loadActiveLeases()} once, for restart recovery;
 * {@link #journal} from the ledger listener for as long as the appliance runs; {@link #stop()}
 * after the sessions have drained, which writes everything still held.
 *
 * <p>Thread-safety: every method may be called from any thread. {@link #journal} is cheap and
 * never blocks (a lock-free enqueue), so it may be called inside ledger commands on event loops.
 */
public interface PersistenceService {

    /**
     * Starts the PostgreSQL-backed store described by {@code storeConfig} (the YAML's {@code store:}
     * section). Fails with a {@link dev.turnstile.appliance.config.ConfigException} naming the key
     * for an invalid value, and with {@link MigrationException} naming the file and Postgres's
     * message when a migration fails: both must stop the appliance. A database that cannot be
     * reached, refuses the credentials or whose URL does not parse does <em>not</em> fail the start:
     * seat service goes on, events are held and spilled, and the log and {@link #status()} say why.
     */
    static Future<PersistenceService> start(Vertx vertx, JsonObject storeConfig) {
        StoreConfig config;
        try {
            config = StoreConfig.from(storeConfig == null ? new JsonObject() : storeConfig, System.getenv());
        } catch (RuntimeException e) {
            return Future.failedFuture(e);
        }
        return start(vertx, config);
    }

    /** As {@link #start(Vertx, JsonObject)}, from an already bound configuration. */
    static Future<PersistenceService> start(Vertx vertx, StoreConfig config) {
        return PgPersistenceService.start(vertx, config).map(s -> (PersistenceService) s);
    }

    /** The store of an appliance without a {@code store:} section: keeps nothing, and its status says so. */
    static PersistenceService memoryOnly() {
        return MemoryOnlyPersistence.INSTANCE;
    }

    /** True when the YAML tree has a {@code store:} section, i.e. the appliance should persist. */
    static boolean configuredIn(JsonObject root) {
        return root != null && root.getValue("store") instanceof JsonObject;
    }

    /** False for {@link #memoryOnly()}. */
    boolean persistent();

    /**
     * Takes one ledger event (the {@link LedgerListener#journal} contract): enqueues it and returns.
     * Never blocks, never throws, never calls back into the ledger.
     */
    void journal(LedgerEvent event);

    /**
     * store (triad): takes one ledger event that already has its event key ({@code keyId}, {@code seq}), the
     * triad's deterministic key ({@link dev.turnstile.appliance.triad.JournalKeys}); otherwise as {@link #journal}.
     * Written {@code ON CONFLICT DO NOTHING}, so the same key written by two leaders is one row.
     */
    default void journalKeyed(LedgerEvent event, java.util.UUID keyId, long seq) {
        journal(event);
    }

    /**
     * store (triad): the highest {@code seq} in {@code usage_journal} under {@code keyId} (-1: none), read once
     * everything journaled before this call is written. Fails when the database cannot be reached.
     */
    default Future<Long> maxJournalSeq(java.util.UUID keyId) {
        return Future.succeededFuture(-1L);
    }

    /**
     * store (triad): makes the {@code leases} table match {@code live} (the replicated ledger's HELD and ORPHANED
     * leases), once everything journaled before this call is written: every live lease is upserted (active), every
     * other active row is released with reason {@code reconciled}. Returns how many rows were released.
     */
    default Future<Integer> reconcileLeases(List<LeaseView> live, long nowMs) {
        return Future.succeededFuture(0);
    }

    /**
     * store (triad): raises the fence of the triad journal {@code journalId} in Postgres ({@code triad_fence}) to
     * {@code term}, never lowering it, once everything journaled before this call is written; from then on every
     * write of this store (journal batches, lease and entitlement writes, {@link #reconcileLeases}) runs, in its own
     * transaction, a check that refuses it when a newer term has raised the fence. A member calls it when it becomes
     * leader, with the Raft term it became leader in, before it writes anything. Returns the stored term; fails with
     * {@link FencedException} when the stored term is already higher (this member is not the newest leader), and
     * when the database cannot be reached.
     */
    default Future<Long> raiseFence(java.util.UUID journalId, long term, String member) {
        return Future.succeededFuture(term);
    }

    /** store (triad): events this store dropped because the fence refused them (see {@link #raiseFence}). */
    default long fencedEvents() {
        return 0;
    }

    /**
     * Records the configured entitlements (the {@code entitlements} table); written with the next
     * batch. Entitlements missing from {@code current} are marked removed.
     */
    void recordEntitlements(Collection<Entitlement> current);

    /**
     * The leases that were active when the appliance last stopped (or crashed), after everything an
     * earlier run spilled to disk has been written. State {@link LeaseState#ORPHANED}; feed each to
     * {@code ledger.restoreLease(lease, SeatLedger.GRACE_NOT_STARTED)} and start the grace once the listener
     * accepts ({@link RestartRecovery}). Fails when the database cannot be reached.
     */
    Future<List<LeaseView>> loadActiveLeases();

    /**
     * Completes when every event journaled before this call is written (or parked, see the package
     * documentation). Does not time out by itself: while Postgres is down it waits for it.
     */
    Future<Void> flush();

    /**
     * Figures for the status page and {@code /metrics}: {@code mode}, {@code connected},
     * {@code queue_depth}, {@code lag_events}, {@code lag_ms}, {@code spilled_bytes}, {@code last_error}, ...
     * Cheap; safe on an event loop.
     */
    JsonObject status();

    /** Writes everything still held (spilling to disk what Postgres does not take in time) and closes. */
    Future<Void> stop();

    /** A {@link LedgerListener} that only journals, for a listener fan-out. */
    default LedgerListener asLedgerListener() {
        PersistenceService self = this;
        return new LedgerListener() {
            @Override
            public void queuedGranted(long sessionId, int requestId, LeaseView lease) {
            }

            @Override
            public void queuedDenied(long sessionId, int requestId, ErrorCode code, String message) {
            }

            @Override
            public void leaseEnded(long sessionId, LeaseView lease, ErrorCode reason) {
            }

            @Override
            public void journal(LedgerEvent event) {
                self.journal(event);
            }
        };
    }
}
