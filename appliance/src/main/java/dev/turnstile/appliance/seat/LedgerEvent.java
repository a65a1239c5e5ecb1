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
 */
public record LedgerEvent(Kind kind, long atMs, UUID leaseId, String entitlementId, String productId, long sessionId,
                          String clientId, String hwId, long quantity, ErrorCode reason, long poolUsed,
                          long poolHighWater) {

    public enum Kind {
        CHECKOUT, RECLAIM, HEARTBEAT, CHECKIN, EXPIRY, RELEASE, DENIAL, QUEUE, QUEUE_TIMEOUT, ENTITLEMENT_CHANGED
    }
}
