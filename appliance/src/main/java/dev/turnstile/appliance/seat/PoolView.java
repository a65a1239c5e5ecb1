package dev.turnstile.appliance.seat;

import dev.turnstile.protocol.Enforcement;
import java.time.Instant;

/** An immutable snapshot of one pool (entitlement) and its use. */
public record PoolView(String entitlementId, String tenantId, String productId, Enforcement enforcement, int maxSeats,
                       long used, int waiting, long highWater, Instant startsAt, Instant endsAt) {
}
