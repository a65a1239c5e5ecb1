package dev.turnstile.client;

import dev.turnstile.protocol.Enforcement;
import java.util.Objects;
import java.util.UUID;

/**
 * A lease the appliance granted: some seats of one product, held while the client heartbeats.
 * Immutable and therefore thread-safe. Two leases are the same lease when their {@link #id()}s
 * are equal; {@code equals} compares every field.
 *
 * @param id            the lease id the server chose (kept across a reclaim after failover)
 * @param product       the product the seats belong to
 * @param entitlementId the entitlement (pool) the server took the seats from
 * @param quantity      seats (SEATS enforcement) or 1 (CHECKOUTS enforcement)
 * @param enforcement   the quantity-enforcement type the checkout asked for
 * @param licenseKey    the license key the checkout named ({@code ""} = any entitlement of the product)
 */
public record Lease(UUID id, String product, String entitlementId, long quantity, Enforcement enforcement,
                    String licenseKey) {
    public Lease {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(product, "product");
        Objects.requireNonNull(entitlementId, "entitlementId");
        Objects.requireNonNull(enforcement, "enforcement");
        Objects.requireNonNull(licenseKey, "licenseKey");
    }

    /** The lease a stored token describes. */
    public static Lease of(LeaseToken token) {
        return new Lease(token.leaseId(), token.product(), token.entitlementId(), token.quantity(),
                token.enforcement(), token.licenseKey());
    }
}
