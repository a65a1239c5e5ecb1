package dev.turnstile.appliance.triad;

import dev.turnstile.protocol.ErrorCode;

/** A triad member cannot take this command: {@code notMaster} (with the leader's client address if known) or {@code noQuorum}. */
public final class TriadRefusal extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final transient ErrorCode code;
    private final String leader;

    public TriadRefusal(ErrorCode code, String leader, String message) {
        super(message, null, false, false);
        this.code = code;
        this.leader = leader == null ? "" : leader;
    }

    public ErrorCode code() {
        return code;
    }

    /** The leader's client host:port, or "" when unknown. */
    public String leader() {
        return leader;
    }

    /** The refusal behind {@code t} (unwrapping completion exceptions), or null if it is not one. */
    public static TriadRefusal of(Throwable t) {
        while (t != null) {
            if (t instanceof TriadRefusal r) {
                return r;
            }
            t = t.getCause();
        }
        return null;
    }
}
