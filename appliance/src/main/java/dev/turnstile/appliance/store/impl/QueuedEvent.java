package dev.turnstile.appliance.store.impl;

import dev.turnstile.appliance.seat.LedgerEvent;
import java.util.UUID;

/**
 * One ledger event on its way to Postgres. {@link #runId} and {@link #seq} form its event key (the
 * journal's unique key): assigned by the single writer (on its own context) when it takes the event off the queue,
 * so the key order is exactly the queue order, and kept through retries and the spill file, so a
 * replayed batch never writes a row twice.
 */
final class QueuedEvent {
    final LedgerEvent event;
    /** Wall-clock time the sink received it, for the lag figure. */
    final long enqueuedAtMs;
    UUID runId;
    long seq = -1;
    /**
     * The run that queued it when its key is not its run's (a triad's journal id: keyed before it was queued), for
     * the spill's accounting of this run's events; null when {@link #runId} is the run that queued it.
     */
    UUID queuedBy;
    /**
     * triad: the journal id whose fence ({@code triad_fence}) guards this event, and the Raft term its writer resumed
     * in (see {@link dev.turnstile.appliance.store.PersistenceService#raiseFence}); null / 0 outside a triad.
     */
    UUID fence;
    long term;
    /** Already counted as fenced (dropped, or written to the journal only), so a retry does not count it again. */
    boolean fencedCounted;

    QueuedEvent(LedgerEvent event, long enqueuedAtMs) {
        this.event = event;
        this.enqueuedAtMs = enqueuedAtMs;
    }

    QueuedEvent(LedgerEvent event, long enqueuedAtMs, UUID runId, long seq) {
        this(event, enqueuedAtMs);
        this.runId = runId;
        this.seq = seq;
    }

    /** The run that queued this event. */
    UUID owner() {
        return queuedBy != null ? queuedBy : runId;
    }

    @Override
    public String toString() {
        return event.kind() + " " + runId + "/" + seq + " lease=" + event.leaseId() + " entitlement="
                + event.entitlementId() + " at=" + event.atMs();
    }
}
