package dev.turnstile.appliance.seat;

import java.util.Objects;
import java.util.UUID;

/**
 * A CHECKOUT as the ledger sees it.
 *
 * @param licenseKey     an entitlement id of the product, {@code ""} = any
 * @param enforcement    the raw wire byte (1 seats, 2 checkouts); unknown bytes are refused
 * @param waitTimeoutMs  0 = the settings' default; capped at {@link LedgerSettings#maxWaitMs()}
 * @param reclaimLeaseId {@code null} unless RECLAIM
 * @param newLeaseId     the id a fresh grant gets, chosen by the caller so the ledger stays deterministic
 * @param nowMs          the time of the command
 */
public record CheckoutCommand(ClientRef client, int requestId, String product, String licenseKey, long quantity,
                              int enforcement, boolean waitForSeat, long waitTimeoutMs, UUID reclaimLeaseId,
                              UUID newLeaseId, long nowMs) {
    public CheckoutCommand {
        Objects.requireNonNull(client, "client");
        Objects.requireNonNull(product, "product");
        Objects.requireNonNull(licenseKey, "licenseKey");
        Objects.requireNonNull(newLeaseId, "newLeaseId");
    }
}
