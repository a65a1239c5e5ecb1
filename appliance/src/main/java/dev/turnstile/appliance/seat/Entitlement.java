package dev.turnstile.appliance.seat;

import dev.turnstile.protocol.Enforcement;
import java.time.Instant;
import java.util.Objects;

/**
 * One entitlement: a pool of {@code maxSeats} seats of one product for one tenant, active in the
 * window {@code [startsAt, endsAt)}.
 *
 * @param startsAt first instant the pool may grant, {@code null} = open
 * @param endsAt   first instant the pool no longer grants (its leases end with entitlementEnded), {@code null} = open
 */
public record Entitlement(String entitlementId, String tenantId, String productId, Enforcement enforcement,
                          int maxSeats, Instant startsAt, Instant endsAt) {
    public Entitlement {
        Objects.requireNonNull(entitlementId, "entitlementId");
        Objects.requireNonNull(tenantId, "tenantId");
        Objects.requireNonNull(productId, "productId");
        Objects.requireNonNull(enforcement, "enforcement");
        if (maxSeats < 0) {
            throw new IllegalArgumentException("maxSeats must be >= 0: " + maxSeats);
        }
    }

    /** True when {@code nowMs} lies in {@code [startsAt, endsAt)}. */
    public boolean activeAt(long nowMs) {
        return nowMs >= startsAtMs() && nowMs < endsAtMs();
    }

    /** {@code startsAt} in Unix ms; {@link Long#MIN_VALUE} when open (saturated for far dates). */
    public long startsAtMs() {
        return startsAt == null ? Long.MIN_VALUE : millis(startsAt);
    }

    /** {@code endsAt} in Unix ms; {@link Long#MAX_VALUE} when open (saturated for far dates). */
    public long endsAtMs() {
        return endsAt == null ? Long.MAX_VALUE : millis(endsAt);
    }

    private static long millis(Instant i) {
        try {
            return i.toEpochMilli();
        } catch (ArithmeticException e) {
            return i.getEpochSecond() < 0 ? Long.MIN_VALUE : Long.MAX_VALUE;
        }
    }
}
