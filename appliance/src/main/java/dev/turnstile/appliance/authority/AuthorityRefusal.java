package dev.turnstile.appliance.authority;

import dev.turnstile.protocol.ErrorCode;

/**
 * The seat authority could not decide: {@code notMaster} (with the leader's client address when known),
 * {@code noQuorum}, or a decision that was not committed in time. Carries a wire error code, so a caller
 * can answer a client or an admin without knowing which authority refused.
 */
public class AuthorityRefusal extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final transient ErrorCode code;
    private final String leader;

    public AuthorityRefusal(ErrorCode code, String leader, String message) {
        super(message, null, false, false);
        this.code = code;
        this.leader = leader == null ? "" : leader;
    }

    public ErrorCode code() {
        return code;
    }

    /** The client address (host:port) of the authority that can decide, or "" when unknown. */
    public String leader() {
        return leader;
    }

    /** The refusal behind {@code t} (unwrapping completion exceptions), or null if it is not one. */
    public static AuthorityRefusal of(Throwable t) {
        while (t != null) {
            if (t instanceof AuthorityRefusal r) {
                return r;
            }
            t = t.getCause() == t ? null : t.getCause();
        }
        return null;
    }
}
