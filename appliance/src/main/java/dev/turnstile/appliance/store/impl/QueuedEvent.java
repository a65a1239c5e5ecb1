package dev.turnstile.appliance.store.impl;

import dev.turnstile.appliance.seat.LedgerEvent;
import java.util.UUID;

/**
 * One ledger event on its way to Postgres. {@link #runId} and {@link #seq} form its event key (the
 * journal's unique key): assigned by the single writer thread when it takes the event off the queue,
 * so the key order is exactly the queue order, and kept through retries and the spill file, so a
 * replayed batch never writes a row twice.
 */
final class QueuedEvent {
    final LedgerEvent event;
    /** Wall-clock time the sink received it, for the lag figure. */
    final long enqueuedAtMs;
    UUID runId;
    long seq = -1;

    QueuedEvent(LedgerEvent event, long enqueuedAtMs) {
        this.event = event;
        this.enqueuedAtMs = enqueuedAtMs;
    }

    QueuedEvent(LedgerEvent event, long enqueuedAtMs, UUID runId, long seq) {
        this(event, enqueuedAtMs);
        this.runId = runId;
        this.seq = seq;
    }

    @Override
    public String toString() {
        return event.kind() + " " + runId + "/" + seq + " lease=" + event.leaseId() + " entitlement="
                + event.entitlementId() + " at=" + event.atMs();
    }
}
