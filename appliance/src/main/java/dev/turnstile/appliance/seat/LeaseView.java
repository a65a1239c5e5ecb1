package dev.turnstile.appliance.seat;

import java.util.UUID;

/**
 * An immutable snapshot of a live lease.
 *
 * @param deadlineMs HELD: expiry (last heartbeat + lease timeout); ORPHANED: end of the reclaim grace
 * @param secretHash the hash of the lease's reclaim secret (protocol 1.1), {@code null} for a lease granted on a
 *                   1.0 connection. For the store, snapshots and the granting session only: never shown (its
 *                   {@code toString} is {@code ***}; the admin API lists fields by name and leaves it out)
 */
public record LeaseView(UUID leaseId, String entitlementId, String productId, long sessionId, String clientId,
                        String hwId, String remoteAddress, long quantity, long checkedOutAtMs, long lastHeartbeatMs,
                        long deadlineMs, LeaseState state, SecretHash secretHash) {

    /** A lease without a reclaim secret (granted on a protocol 1.0 connection). */
    public LeaseView(UUID leaseId, String entitlementId, String productId, long sessionId, String clientId,
                     String hwId, String remoteAddress, long quantity, long checkedOutAtMs, long lastHeartbeatMs,
                     long deadlineMs, LeaseState state) {
        this(leaseId, entitlementId, productId, sessionId, clientId, hwId, remoteAddress, quantity, checkedOutAtMs,
                lastHeartbeatMs, deadlineMs, state, null);
    }
}
