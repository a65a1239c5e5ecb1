package dev.turnstile.client;

import dev.turnstile.protocol.Enforcement;
import dev.turnstile.protocol.Limits;
import dev.turnstile.protocol.Secrets;
import java.util.Arrays;
import java.time.Instant;
import java.util.Objects;
import java.util.UUID;

/**
 * What a {@link TokenManager} stores for one lease: enough to RECLAIM the lease on another
 * server after a failover, or on the same server after the program restarted (PROTOCOL.md
 * section 10.6: a RECLAIM names the lease id with the same hardware id, product, license key,
 * quantity and enforcement, and in protocol 1.1 presents the lease's reclaim secret). Immutable
 * and therefore thread-safe. The auth token is never part of it.
 *
 * <p>The reclaim secret (protocol 1.1: 32 bytes a 1.1 server hands the holder in GRANTED) proves
 * that this client owns the lease: keep the token store readable by the program's user only.
 * The secret never appears in {@link #toString()} (shown as {@code ***}), in a log line or in an
 * exception text; {@link #reclaimSecret()} returns a copy. A token without one (granted by a 1.0
 * server, or stored by an older SDK) reclaims as in protocol 1.0.
 *
 * @param leaseId         the lease id
 * @param product         the product of the lease
 * @param licenseKey      the license key the checkout named ({@code ""} = any)
 * @param entitlementId   the entitlement the server granted from
 * @param quantity        seats of the lease
 * @param enforcement     the enforcement type of the checkout
 * @param server          {@code host:port} of the server that holds the lease
 * @param hwId            the hardware id of the client that checked it out
 * @param checkedOutAt    when the lease was first granted
 * @param lastConfirmedAt when a server last confirmed it (grant, reclaim or successful heartbeat)
 * @param reclaimSecret   the lease's reclaim secret ({@value dev.turnstile.protocol.Limits#RECLAIM_SECRET}
 *                        bytes), or {@code null} when it has none
 */
public record LeaseToken(UUID leaseId, String product, String licenseKey, String entitlementId, long quantity,
                         Enforcement enforcement, String server, String hwId, Instant checkedOutAt,
                         Instant lastConfirmedAt, byte[] reclaimSecret) {
    public LeaseToken {
        Objects.requireNonNull(leaseId, "leaseId");
        Objects.requireNonNull(product, "product");
        Objects.requireNonNull(licenseKey, "licenseKey");
        Objects.requireNonNull(entitlementId, "entitlementId");
        Objects.requireNonNull(enforcement, "enforcement");
        Objects.requireNonNull(server, "server");
        Objects.requireNonNull(hwId, "hwId");
        Objects.requireNonNull(checkedOutAt, "checkedOutAt");
        Objects.requireNonNull(lastConfirmedAt, "lastConfirmedAt");
        if (quantity < 1) {
            throw new IllegalArgumentException("quantity must be at least 1, was " + quantity);
        }
        reclaimSecret = checkedSecret(reclaimSecret);
    }

    /** A token without a reclaim secret (protocol 1.0). */
    public LeaseToken(UUID leaseId, String product, String licenseKey, String entitlementId, long quantity,
                      Enforcement enforcement, String server, String hwId, Instant checkedOutAt,
                      Instant lastConfirmedAt) {
        this(leaseId, product, licenseKey, entitlementId, quantity, enforcement, server, hwId, checkedOutAt,
                lastConfirmedAt, null);
    }

    /** null and all-zero (none) give null; otherwise exactly 32 bytes, copied. The message never shows the bytes. */
    private static byte[] checkedSecret(byte[] s) {
        if (s == null) {
            return null;
        }
        if (s.length != Limits.RECLAIM_SECRET) {
            throw new IllegalArgumentException("a reclaim secret has " + Limits.RECLAIM_SECRET + " bytes, not "
                    + s.length);
        }
        return Secrets.isZero(s) ? null : s.clone();
    }

    /** A token for a lease just granted by {@code server} (protocol 1.0: no secret). */
    public static LeaseToken of(Lease lease, String server, String hwId, Instant now) {
        return of(lease, server, hwId, now, null);
    }

    /** A token for a lease just granted by {@code server} with its reclaim secret ({@code null} = none). */
    public static LeaseToken of(Lease lease, String server, String hwId, Instant now, byte[] reclaimSecret) {
        return new LeaseToken(lease.id(), lease.product(), lease.licenseKey(), lease.entitlementId(),
                lease.quantity(), lease.enforcement(), server, hwId, now, now, reclaimSecret);
    }

    /** A copy of the reclaim secret, or {@code null} when the token has none. */
    @Override
    public byte[] reclaimSecret() {
        return reclaimSecret == null ? null : reclaimSecret.clone();
    }

    /** True when the token carries a reclaim secret (the lease was granted or reclaimed over protocol 1.1). */
    public boolean hasReclaimSecret() {
        return reclaimSecret != null;
    }

    /** This token, confirmed by a server at {@code when}. */
    public LeaseToken confirmedAt(Instant when) {
        return new LeaseToken(leaseId, product, licenseKey, entitlementId, quantity, enforcement, server, hwId,
                checkedOutAt, when, reclaimSecret);
    }

    /** This token, now held by {@code newServer} (after a failover), confirmed at {@code when}. */
    public LeaseToken movedTo(String newServer, Instant when) {
        return new LeaseToken(leaseId, product, licenseKey, entitlementId, quantity, enforcement, newServer, hwId,
                checkedOutAt, when, reclaimSecret);
    }

    /** This token with the reclaim secret {@code secret} ({@code null} = none). */
    public LeaseToken withReclaimSecret(byte[] secret) {
        return new LeaseToken(leaseId, product, licenseKey, entitlementId, quantity, enforcement, server, hwId,
                checkedOutAt, lastConfirmedAt, secret);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LeaseToken t && t.leaseId.equals(leaseId) && t.product.equals(product)
                && t.licenseKey.equals(licenseKey) && t.entitlementId.equals(entitlementId) && t.quantity == quantity
                && t.enforcement == enforcement && t.server.equals(server) && t.hwId.equals(hwId)
                && t.checkedOutAt.equals(checkedOutAt) && t.lastConfirmedAt.equals(lastConfirmedAt)
                && Arrays.equals(t.reclaimSecret, reclaimSecret);
    }

    @Override
    public int hashCode() {
        return Objects.hash(leaseId, product, licenseKey, entitlementId, quantity, enforcement, server, hwId,
                checkedOutAt, lastConfirmedAt, Arrays.hashCode(reclaimSecret));
    }

    /** Every field but the secret, which shows as {@code ***} (or {@code none}). */
    @Override
    public String toString() {
        return "LeaseToken[leaseId=" + leaseId + ", product=" + product + ", licenseKey=" + licenseKey
                + ", entitlementId=" + entitlementId + ", quantity=" + quantity + ", enforcement="
                + enforcement.configName() + ", server=" + server + ", hwId=" + hwId + ", checkedOutAt="
                + checkedOutAt + ", lastConfirmedAt=" + lastConfirmedAt + ", reclaimSecret="
                + (reclaimSecret == null ? "none" : "***") + "]";
    }
}
