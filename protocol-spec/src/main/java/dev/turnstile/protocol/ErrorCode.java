package dev.turnstile.protocol;

import java.util.HashMap;
import java.util.Map;

/**
 * The numeric error codes of protocol v1 (PROTOCOL.md section 8) with their stable names.
 * The names are part of the contract: clients match on them, so they must never change.
 */
public enum ErrorCode {
    OK(0, "ok", false, Action.NONE),

    // 1..99: protocol violations and framing
    MALFORMED_FRAME(1, "malformedFrame", true, Action.GIVE_UP),
    FRAME_TOO_LARGE(2, "frameTooLarge", true, Action.GIVE_UP),
    UNKNOWN_MESSAGE_TYPE(3, "unknownMessageType", false, Action.GIVE_UP),
    FIELD_TOO_LONG(4, "fieldTooLong", true, Action.GIVE_UP),
    INVALID_UTF8(5, "invalidUtf8", true, Action.GIVE_UP),
    RESERVED_BITS_SET(6, "reservedBitsSet", true, Action.GIVE_UP),
    INVALID_QUANTITY(7, "invalidQuantity", false, Action.GIVE_UP),
    UNEXPECTED_MESSAGE(8, "unexpectedMessage", true, Action.GIVE_UP),
    HELLO_TIMEOUT(9, "helloTimeout", true, Action.RETRY),
    SLOW_CONSUMER(10, "slowConsumer", true, Action.RETRY),
    TOO_MANY_REQUESTS(11, "tooManyRequests", false, Action.RETRY),

    // 100..199: session and client identity
    AUTHENTICATION_FAILED(100, "authenticationFailed", true, Action.GIVE_UP),
    CLIENT_VERSION_MISSING(101, "clientVersionMissing", true, Action.DROP_TOKEN),
    CLIENT_VERSION_NOT_ALLOWED(102, "clientVersionNotAllowed", true, Action.DROP_TOKEN),
    CLIENT_HW_ID_MISMATCH(103, "clientHwIdMismatch", false, Action.DROP_TOKEN),
    /** Protocol 1.1: a RECLAIM or CHECKIN did not prove ownership of the lease with its secret. */
    RECLAIM_SECRET_MISMATCH(104, "reclaimSecretMismatch", false, Action.DROP_TOKEN),

    // 200..299: leases and seats (business refusals; the connection survives)
    NO_SEATS_AVAILABLE(200, "noSeatsAvailable", false, Action.RETRY),
    UNKNOWN_PRODUCT(201, "unknownProduct", false, Action.GIVE_UP),
    ENTITLEMENT_NOT_ACTIVE(202, "entitlementNotActive", false, Action.GIVE_UP),
    LICENSE_CONSUMPTION_QTY_ENFORCEMENT_TYPE_MISMATCH(203, "licenseConsumptionQtyEnforcementTypeMismatch", false, Action.DROP_TOKEN),
    LEASE_ID_NOT_FOUND(204, "leaseIdNotFound", false, Action.DROP_TOKEN),
    LICENSE_CHECKOUT_EXPIRED(205, "licenseCheckoutExpired", false, Action.DROP_TOKEN),
    LICENSE_KEY_VS_LEASE_ID_MISMATCH(206, "licenseKeyVsLeaseIdMismatch", false, Action.DROP_TOKEN),
    QUEUE_TIMEOUT(207, "queueTimeout", false, Action.RETRY),
    QUEUE_FULL(208, "queueFull", false, Action.RETRY),
    TOO_MANY_LEASES(209, "tooManyLeases", false, Action.GIVE_UP),
    UNKNOWN_LICENSE_KEY(210, "unknownLicenseKey", false, Action.GIVE_UP),
    LICENSE_EXPIRED(211, "licenseExpired", false, Action.RETRY),

    // 300..399: server state
    NOT_MASTER(300, "notMaster", false, Action.FAIL_OVER),
    DRAINING(301, "draining", false, Action.FAIL_OVER),
    NO_QUORUM(302, "noQuorum", false, Action.FAIL_OVER),
    SERVER_BUSY(303, "serverBusy", false, Action.RETRY),
    INTERNAL_ERROR(304, "internalError", false, Action.RETRY),

    // 400..499: reasons a lease ended without the client asking (NOTICE and journal)
    FORCED_RELEASE(400, "forcedRelease", false, Action.NONE),
    ENTITLEMENT_DELETED(401, "entitlementDeleted", false, Action.NONE),
    ENTITLEMENT_ENDED(402, "entitlementEnded", false, Action.NONE),
    SERVER_RESTART(403, "serverRestart", false, Action.NONE),
    SESSION_LOST(404, "sessionLost", false, Action.NONE),
    CHECKED_IN(405, "checkedIn", false, Action.NONE);

    /** What a client should do when it receives the code. */
    public enum Action {
        NONE, RETRY, FAIL_OVER, DROP_TOKEN, GIVE_UP
    }

    private static final Map<Integer, ErrorCode> BY_CODE = new HashMap<>();
    private static final Map<String, ErrorCode> BY_NAME = new HashMap<>();

    static {
        for (ErrorCode c : values()) {
            BY_CODE.put(c.code, c);
            BY_NAME.put(c.wireName, c);
        }
    }

    private final int code;
    private final String wireName;
    private final boolean closesConnection;
    private final Action action;

    ErrorCode(int code, String wireName, boolean closesConnection, Action action) {
        this.code = code;
        this.wireName = wireName;
        this.closesConnection = closesConnection;
        this.action = action;
    }

    public int code() {
        return code;
    }

    /** The stable name of PROTOCOL.md, e.g. {@code leaseIdNotFound}. */
    public String wireName() {
        return wireName;
    }

    /** True when the sender closes the connection right after the ERROR frame carrying this code. */
    public boolean closesConnection() {
        return closesConnection;
    }

    public Action action() {
        return action;
    }

    /** @return the code, or {@code null} for a number this version does not know. */
    public static ErrorCode ofCode(int code) {
        return BY_CODE.get(code);
    }

    /** @return the code, or {@code null} for a name this version does not know. */
    public static ErrorCode ofName(String wireName) {
        return BY_NAME.get(wireName);
    }

    @Override
    public String toString() {
        return wireName;
    }
}
