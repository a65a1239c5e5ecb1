package dev.turnstile.appliance.store;

import dev.turnstile.appliance.seat.LeaseView;
import dev.turnstile.appliance.seat.LedgerEvent;
import dev.turnstile.appliance.seat.LedgerListener;
import dev.turnstile.protocol.ErrorCode;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * The ledger's listener fan-out for the store: everything goes to {@code primary} (the sessions),
 * and every journal event also goes to the store that {@code store} supplies at that moment (so the
 * appliance can build its ledger before the store has started). Adds one volatile read and one
 * lock-free enqueue per event.
 */
public final class JournalingListener implements LedgerListener {
    private final LedgerListener primary;
    private final Supplier<PersistenceService> store;

    private JournalingListener(LedgerListener primary, Supplier<PersistenceService> store) {
        this.primary = Objects.requireNonNull(primary, "primary");
        this.store = Objects.requireNonNull(store, "store");
    }

    public static LedgerListener of(LedgerListener primary, Supplier<PersistenceService> store) {
        return new JournalingListener(primary, store);
    }

    @Override
    public void queuedGranted(long sessionId, int requestId, LeaseView lease) {
        primary.queuedGranted(sessionId, requestId, lease);
    }

    @Override
    public void queuedDenied(long sessionId, int requestId, ErrorCode code, String message) {
        primary.queuedDenied(sessionId, requestId, code, message);
    }

    @Override
    public void leaseEnded(long sessionId, LeaseView lease, ErrorCode reason) {
        primary.leaseEnded(sessionId, lease, reason);
    }

    @Override
    public void journal(LedgerEvent event) {
        primary.journal(event);
        store.get().journal(event);
    }
}
