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
 * @param presentedSecret the hash of the reclaim secret a RECLAIM presented; {@code null} when none was (a
 *                        protocol 1.0 session, or all zero)
 * @param newSecret      the hash of the fresh secret the session will send in GRANTED (protocol 1.1); the lease
 *                       gets it when this command grants a new lease, or reclaims one that had none; {@code null}
 *                       for a 1.0 session
 */
public record CheckoutCommand(ClientRef client, int requestId, String product, String licenseKey, long quantity,
                              int enforcement, boolean waitForSeat, long waitTimeoutMs, UUID reclaimLeaseId,
                              UUID newLeaseId, long nowMs, SecretHash presentedSecret, SecretHash newSecret) {
    public CheckoutCommand {
        Objects.requireNonNull(client, "client");
        Objects.requireNonNull(product, "product");
        Objects.requireNonNull(licenseKey, "licenseKey");
        Objects.requireNonNull(newLeaseId, "newLeaseId");
    }

    /** A protocol 1.0 checkout: no secret presented, none to hand out. */
    public CheckoutCommand(ClientRef client, int requestId, String product, String licenseKey, long quantity,
                           int enforcement, boolean waitForSeat, long waitTimeoutMs, UUID reclaimLeaseId,
                           UUID newLeaseId, long nowMs) {
        this(client, requestId, product, licenseKey, quantity, enforcement, waitForSeat, waitTimeoutMs, reclaimLeaseId,
                newLeaseId, nowMs, null, null);
    }

    /** The same command at another time (the triad applies a command at the log's time). */
    public CheckoutCommand at(long atMs) {
        return new CheckoutCommand(client, requestId, product, licenseKey, quantity, enforcement, waitForSeat,
                waitTimeoutMs, reclaimLeaseId, newLeaseId, atMs, presentedSecret, newSecret);
    }
}
