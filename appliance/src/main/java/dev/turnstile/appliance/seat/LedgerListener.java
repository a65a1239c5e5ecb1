package dev.turnstile.appliance.seat;

import dev.turnstile.protocol.ErrorCode;

/**
 * Decisions and events coming out of the ledger. Called synchronously inside the command that
 * caused them (and, for {@link ConcurrentLedger}, while its lock is held): implementations only
 * enqueue, never block, never call back into the ledger.
 */
public interface LedgerListener {

    /** A waiter got its seat. */
    void queuedGranted(long sessionId, int requestId, LeaseView lease);

    /** A waiter was refused: queueTimeout, entitlementDeleted, entitlementEnded... */
    void queuedDenied(long sessionId, int requestId, ErrorCode code, String message);

    /**
     * A lease ended without the client asking: licenseCheckoutExpired (expiry), forcedRelease,
     * entitlementDeleted, entitlementEnded, sessionLost / serverRestart (grace over).
     */
    void leaseEnded(long sessionId, LeaseView lease, ErrorCode reason);

    /** Every change, for write-behind persistence. */
    void journal(LedgerEvent event);

    /** A listener that ignores everything. */
    LedgerListener NONE = new LedgerListener() {
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
        }
    };
}
