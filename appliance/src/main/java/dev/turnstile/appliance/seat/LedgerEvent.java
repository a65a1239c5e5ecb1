package dev.turnstile.appliance.seat;

import dev.turnstile.protocol.ErrorCode;
import java.util.UUID;

/**
 * One change of the ledger, for write-behind persistence and usage reporting.
 *
 * @param leaseId       {@code null} for DENIAL, QUEUE, QUEUE_TIMEOUT and ENTITLEMENT_CHANGED
 * @param reason        OK unless a refusal or an end the client did not ask for
 * @param poolUsed      the pool's used seats after the change
 * @param poolHighWater the pool's high-water mark after the change
 * @param secretHash    CHECKOUT and RECLAIM: the hash of the lease's reclaim secret ({@code null}: none), for the
 *                      store's {@code leases} table only; never written to the usage journal, never shown
 */
public record LedgerEvent(Kind kind, long atMs, UUID leaseId, String entitlementId, String productId, long sessionId,
                          String clientId, String hwId, long quantity, ErrorCode reason, long poolUsed,
                          long poolHighWater, SecretHash secretHash) {

    /** An event without a secret hash. */
    public LedgerEvent(Kind kind, long atMs, UUID leaseId, String entitlementId, String productId, long sessionId,
                       String clientId, String hwId, long quantity, ErrorCode reason, long poolUsed,
                       long poolHighWater) {
        this(kind, atMs, leaseId, entitlementId, productId, sessionId, clientId, hwId, quantity, reason, poolUsed,
                poolHighWater, null);
    }

    public enum Kind {
        CHECKOUT, RECLAIM, HEARTBEAT, CHECKIN, EXPIRY, RELEASE, DENIAL, QUEUE, QUEUE_TIMEOUT, ENTITLEMENT_CHANGED
    }
}
