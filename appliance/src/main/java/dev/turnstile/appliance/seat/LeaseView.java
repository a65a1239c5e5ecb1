package dev.turnstile.appliance.seat;

import java.util.UUID;

/**
 * An immutable snapshot of a live lease.
 *
 * @param deadlineMs HELD: expiry (last heartbeat + lease timeout); ORPHANED: end of the reclaim grace
 */
public record LeaseView(UUID leaseId, String entitlementId, String productId, long sessionId, String clientId,
                        String hwId, String remoteAddress, long quantity, long checkedOutAtMs, long lastHeartbeatMs,
                        long deadlineMs, LeaseState state) {
}
