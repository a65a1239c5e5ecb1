package dev.turnstile.appliance.session;

import dev.turnstile.appliance.config.ClientPolicy;
import dev.turnstile.appliance.seat.ConcurrentLedger;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Message;

/** What a {@link Session} needs from the appliance. Implemented by the appliance's composition root. */
public interface SessionServices {
    ConcurrentLedger ledger();

    SessionRegistry registry();

    ClientPolicy clientPolicy();

    long nowMs();

    long helloTimeoutMs();

    long slowConsumerTimeoutMs();

    long leaseTimeoutMs();

    /** The WELCOME this server sends now (server time, license validity, peers). */
    Message.Welcome welcome();

    boolean draining();

    /** Records an event decided outside the ledger (a refusal before it) where the ledger's own go. */
    default void journal(dev.turnstile.appliance.seat.LedgerEvent event) {
        registry().journal(event);
    }

    /**
     * A reason every checkout is refused right now (e.g. licenseExpired, notMaster, noQuorum), or
     * {@code null} when checkouts go to the ledger.
     */
    default ErrorCode checkoutRefusal() {
        return null;
    }

    default String checkoutRefusalMessage() {
        return "";
    }

    /** The leader's host:port for a notMaster refusal, or empty. */
    default String leaderHint() {
        return "";
    }

    /** Raft term stamped on grants (0 on a single server). */
    default long term() {
        return 0;
    }

    /** Raft log index stamped on grants (0 on a single server). */
    default long logIndex() {
        return 0;
    }

    // triad: the triad member behind this server, or null on a single server (then nothing changes). When set,
    // checkouts, checkins, goodbyes and session losses go through the Raft log and are answered after commit.
    default dev.turnstile.appliance.triad.TriadNode triad() {
        return null;
    }
}
