package dev.turnstile.client;

import dev.turnstile.protocol.ErrorCode;

/**
 * Why the application lost a lease: either a server's code (PROTOCOL.md section 8: a failed
 * heartbeat, a NOTICE LEASE_REVOKED, a refused reclaim), or a decision the client made on its
 * own, without a server saying anything. The only local reason is {@link #EXPIRED_LOCALLY}.
 *
 * <p>The names are stable and the same in every Turnstile SDK: a server reason is named by its
 * wire name ({@code licenseCheckoutExpired}, {@code leaseIdNotFound}, ...), the local expiry is
 * {@code expiredLocally} (the C library's {@code TS_REASON_EXPIRED_LOCALLY}).
 *
 * <p>Immutable and therefore thread-safe; compare with {@code equals} (or {@code ==} against
 * {@link #EXPIRED_LOCALLY}).
 */
public final class LeaseLossReason {

    /** Stable name of the local expiry, the same in the C library. */
    public static final String EXPIRED_LOCALLY_NAME = "expiredLocally";

    /**
     * The client expired the lease itself: no server confirmed it (no GRANTED, no HEARTBEAT_RESULT
     * that renewed it) for longer than its lease timeout, so no server can still count it as
     * held. Typically every server is unreachable. {@link #errorCode()} is {@code null},
     * {@link #code()} is -1.
     */
    public static final LeaseLossReason EXPIRED_LOCALLY = new LeaseLossReason(-1, EXPIRED_LOCALLY_NAME);

    private final int code;
    private final String name;

    private LeaseLossReason(int code, String name) {
        this.code = code;
        this.name = name;
    }

    /** The reason for a server's code {@code rawCode} (kept even when this SDK does not know the number). */
    public static LeaseLossReason server(int rawCode) {
        if (rawCode < 0) {
            throw new IllegalArgumentException("a server code is 0..65535, was " + rawCode);
        }
        ErrorCode c = ErrorCode.ofCode(rawCode);
        return new LeaseLossReason(rawCode, c == null ? "code " + rawCode : c.wireName());
    }

    /** The reason for a server's code {@code code}. */
    public static LeaseLossReason server(ErrorCode code) {
        return server(code.code());
    }

    /** True when the client decided on its own ({@link #EXPIRED_LOCALLY}); false for a server's code. */
    public boolean isLocal() {
        return code < 0;
    }

    /** The server's code, or {@code null} for a local reason or a number this SDK does not know. */
    public ErrorCode errorCode() {
        return code < 0 ? null : ErrorCode.ofCode(code);
    }

    /** The server's code as a number, -1 for a local reason. */
    public int code() {
        return code;
    }

    /** The stable name: the wire name of a server code ({@code "code N"} for an unknown one), or {@code expiredLocally}. */
    public String name() {
        return name;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LeaseLossReason r && r.code == code;
    }

    @Override
    public int hashCode() {
        return Integer.hashCode(code);
    }

    @Override
    public String toString() {
        return name;
    }
}
