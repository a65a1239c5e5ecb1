package dev.turnstile.client;

import dev.turnstile.protocol.Enforcement;
import java.time.Instant;
import java.util.Objects;
import java.util.UUID;

/**
 * What a {@link TokenManager} stores for one lease: enough to RECLAIM the lease on another
 * server after a failover, or on the same server after the program restarted (PROTOCOL.md
 * section 8: a RECLAIM names the lease id with the same hardware id, product, license key,
 * quantity and enforcement). Immutable and therefore thread-safe. Holds no secret: the auth
 * token is never part of it.
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
 */
public record LeaseToken(UUID leaseId, String product, String licenseKey, String entitlementId, long quantity,
                         Enforcement enforcement, String server, String hwId, Instant checkedOutAt,
                         Instant lastConfirmedAt) {
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
    }

    /** A token for a lease just granted by {@code server}. */
    public static LeaseToken of(Lease lease, String server, String hwId, Instant now) {
        return new LeaseToken(lease.id(), lease.product(), lease.licenseKey(), lease.entitlementId(),
                lease.quantity(), lease.enforcement(), server, hwId, now, now);
    }

    /** This token, confirmed by a server at {@code when}. */
    public LeaseToken confirmedAt(Instant when) {
        return new LeaseToken(leaseId, product, licenseKey, entitlementId, quantity, enforcement, server, hwId,
                checkedOutAt, when);
    }

    /** This token, now held by {@code newServer} (after a failover), confirmed at {@code when}. */
    public LeaseToken movedTo(String newServer, Instant when) {
        return new LeaseToken(leaseId, product, licenseKey, entitlementId, quantity, enforcement, newServer, hwId,
                checkedOutAt, when);
    }
}
