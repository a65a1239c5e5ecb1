package dev.turnstile.client;

import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Message.LeaseStatus;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Set;

/**
 * The default {@link TokenInvalidationHandler}: deletes a token exactly when the server says the
 * lease can never be used again by this client, that is for the codes
 * {@code leaseIdNotFound}, {@code licenseCheckoutExpired}, {@code licenseKeyVsLeaseIdMismatch},
 * {@code licenseConsumptionQtyEnforcementTypeMismatch}, {@code clientHwIdMismatch},
 * {@code clientVersionNotAllowed}, {@code clientVersionMissing} and (protocol 1.1)
 * {@code reclaimSecretMismatch} (PROTOCOL.md section 8), and
 * when the client expired the lease itself ({@link LeaseLossReason#EXPIRED_LOCALLY}). Every
 * other code (no seats, server busy, not master, codes this SDK does not know, ...) keeps the
 * token: the lease may still be reclaimable.
 *
 * <p>Stateless and thread-safe; use {@link #INSTANCE}. To extend it, delegate:
 * <pre>{@code
 * TokenInvalidationHandler h = (token, result) ->
 *         DefaultTokenInvalidationHandler.INSTANCE.shouldInvalidate(token, result)
 *         || result.errorCode() == ErrorCode.UNKNOWN_PRODUCT;
 * }</pre>
 */
public final class DefaultTokenInvalidationHandler implements TokenInvalidationHandler {

    /** The shared instance. */
    public static final DefaultTokenInvalidationHandler INSTANCE = new DefaultTokenInvalidationHandler();

    /** The codes that delete a token: the seven of protocol 1.0, and {@code reclaimSecretMismatch} (1.1). */
    public static final Set<ErrorCode> INVALIDATING_CODES = Collections.unmodifiableSet(EnumSet.of(
            ErrorCode.LEASE_ID_NOT_FOUND,
            ErrorCode.LICENSE_CHECKOUT_EXPIRED,
            ErrorCode.LICENSE_KEY_VS_LEASE_ID_MISMATCH,
            ErrorCode.LICENSE_CONSUMPTION_QTY_ENFORCEMENT_TYPE_MISMATCH,
            ErrorCode.CLIENT_HW_ID_MISMATCH,
            ErrorCode.CLIENT_VERSION_NOT_ALLOWED,
            ErrorCode.CLIENT_VERSION_MISSING,
            ErrorCode.RECLAIM_SECRET_MISMATCH));

    private DefaultTokenInvalidationHandler() {
    }

    /** True when {@code code} deletes a token ({@code null}, an unknown code, does not). */
    public static boolean invalidates(ErrorCode code) {
        return code != null && INVALIDATING_CODES.contains(code);
    }

    /** True when a lease lost for {@code reason} loses its token: one of the codes above, or {@code expiredLocally}. */
    public static boolean invalidates(LeaseLossReason reason) {
        return reason.isLocal() || invalidates(reason.errorCode());
    }

    @Override
    public boolean shouldInvalidate(LeaseToken token, LeaseLossReason reason) {
        return invalidates(reason);
    }

    @Override
    public boolean shouldInvalidate(LeaseToken token, LeaseStatus result) {
        return invalidates(result.errorCode());
    }

    @Override
    public String toString() {
        return "DefaultTokenInvalidationHandler" + INVALIDATING_CODES + "+" + LeaseLossReason.EXPIRED_LOCALLY_NAME;
    }
}
