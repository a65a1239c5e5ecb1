package dev.turnstile.appliance.triad;

import dev.turnstile.appliance.authority.AuthorityRefusal;
import dev.turnstile.protocol.ErrorCode;

/** A triad member cannot take this command: {@code notMaster} (with the leader's client address if known) or {@code noQuorum}. */
public final class TriadRefusal extends AuthorityRefusal {
    private static final long serialVersionUID = 1L;

    public TriadRefusal(ErrorCode code, String leader, String message) {
        super(code, leader, message);
    }

    /** The refusal behind {@code t} (unwrapping completion exceptions), or null if it is not one. */
    public static TriadRefusal of(Throwable t) {
        while (t != null) {
            if (t instanceof TriadRefusal r) {
                return r;
            }
            t = t.getCause() == t ? null : t.getCause();
        }
        return null;
    }
}
