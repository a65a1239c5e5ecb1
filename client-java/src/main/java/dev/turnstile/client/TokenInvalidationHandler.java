package dev.turnstile.client;

import dev.turnstile.protocol.Message.LeaseStatus;

/**
 * Decides, for one failed lease check, whether the stored token of the lease must be deleted.
 *
 * <p>The client calls it for every lease the server reports failed: a HEARTBEAT_RESULT entry with
 * a non-zero code, a NOTICE LEASE_REVOKED (a lease that expired, was force-released, whose
 * entitlement ended, ...), and a RECLAIM refused after a reconnect or a restart; and for every
 * lease the client expired itself ({@link LeaseLossReason#EXPIRED_LOCALLY}: no server confirmed
 * it for longer than its lease timeout), through {@link #shouldInvalidate(LeaseToken, LeaseLossReason)},
 * whose default deletes that token. The argument is
 * the stored token (the heartbeat's argument); the result is the server's per-lease status: its
 * {@link LeaseStatus#code() code} (use {@link LeaseStatus#errorCode()} for the named code,
 * {@code null} when this SDK does not know the number). A revocation or a refused reclaim is
 * passed as a status with that code and {@code remainingMs} 0. The three paths meet on purpose:
 * when a lease expires, the appliance pushes LEASE_REVOKED with {@code licenseCheckoutExpired} and
 * may answer a heartbeat already in flight with the same code; whichever arrives first, the
 * decision is the same.
 *
 * <p>Not consulted: successful heartbeats (the token is updated), checkins and GOODBYE (the
 * application ended the lease: the token is removed), leases without a stored token, and nothing
 * at all when the client was built with {@code tokenAutomaticInvalidationDisabled(true)} (tokens
 * are kept and the application manages them through {@link TokenManager#removeSafelyByLeaseId}).
 *
 * <p><b>Thread-safety:</b> called from the client's internal thread, one call at a time. It must
 * return quickly and must not call back into the client and block on it. An exception it throws
 * is logged and counts as "keep the token".
 *
 * @see DefaultTokenInvalidationHandler
 */
@FunctionalInterface
public interface TokenInvalidationHandler {

    /**
     * @param token  the stored token of the lease the server reported failed
     * @param result the server's status for that lease (never {@code ok})
     * @return true to delete the token, false to keep it
     */
    boolean shouldInvalidate(LeaseToken token, LeaseStatus result);

    /**
     * The form the client calls, for every lost lease, with the reason named. The default: a
     * server's code is passed on to {@link #shouldInvalidate(LeaseToken, LeaseStatus)} (as a
     * status with that code and {@code remainingMs} 0); {@link LeaseLossReason#EXPIRED_LOCALLY}
     * deletes the token (the lease's last confirmation is older than its lease timeout, so no
     * server holds it for this client any more). Override it to decide about the local expiry too.
     *
     * @param token  the stored token of the lost lease
     * @param reason why it was lost
     * @return true to delete the token, false to keep it
     */
    default boolean shouldInvalidate(LeaseToken token, LeaseLossReason reason) {
        if (reason.isLocal()) {
            return true;
        }
        return shouldInvalidate(token, new LeaseStatus(token.leaseId(), reason.code(), 0));
    }
}
