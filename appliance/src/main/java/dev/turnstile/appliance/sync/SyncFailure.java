package dev.turnstile.appliance.sync;

import java.util.Locale;

/** Why one exchange with the cloud (or the handling of its answer) failed, and what the sync does about it. */
public final class SyncFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public enum Kind {
        /** Connection refused, reset, DNS, TLS handshake: retried; counts for the breaker. */
        NETWORK(true, true),
        /** No answer within the call timeout: retried; counts for the breaker. */
        TIMEOUT(true, true),
        /** 5xx: retried; counts for the breaker. */
        SERVER_ERROR(true, true),
        /** 200 with a body that is not the sync answer (not JSON, fields missing): retried; counts for the breaker. */
        MALFORMED(true, true),
        /** 401 or 403: not retried (the same token gets the same answer); alert. */
        AUTH(false, false),
        /** Another 4xx: not retried. */
        CLIENT_ERROR(false, false),
        /** A bad signature, invalid change data, a batch that does not match its license: the batch is refused whole; alert. */
        INVALID(false, false),
        /** The breaker is open: the call was not made. */
        BREAKER_OPEN(false, false),
        /** The local state could not be saved: the token is not committed, the batch comes again. */
        STORE(false, false);

        private final boolean retried;
        private final boolean breakerFailure;

        Kind(boolean retried, boolean breakerFailure) {
            this.retried = retried;
            this.breakerFailure = breakerFailure;
        }

        public boolean retried() {
            return retried;
        }

        /** True when the failure says the cloud (or the way to it) is unhealthy. */
        public boolean breakerFailure() {
            return breakerFailure;
        }

        public String wireName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private final Kind kind;
    private final String entitlementId;

    public SyncFailure(Kind kind, String message) {
        this(kind, message, null, null);
    }

    public SyncFailure(Kind kind, String message, String entitlementId, Throwable cause) {
        super(dev.turnstile.appliance.log.Redaction.redact(message), cause, false, false);
        this.kind = kind;
        this.entitlementId = entitlementId;
    }

    public Kind kind() {
        return kind;
    }

    /** The entitlement an INVALID batch was refused for, when one is to blame. */
    public String entitlementId() {
        return entitlementId;
    }
}
