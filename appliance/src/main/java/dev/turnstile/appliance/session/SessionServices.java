package dev.turnstile.appliance.session;

import dev.turnstile.appliance.authority.SeatAuthority;
import dev.turnstile.appliance.config.ClientPolicy;
import dev.turnstile.appliance.seat.ConcurrentLedger;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Message;

/** What a {@link Session} needs from the appliance. Implemented by the appliance's composition root. */
public interface SessionServices {
    /** Decides every checkout, heartbeat, checkin, goodbye and session loss. */
    SeatAuthority authority();

    /** The ledger, read only (what a session holds, for eviction and its close log line). */
    ConcurrentLedger ledger();

    SessionRegistry registry();

    ClientPolicy clientPolicy();

    long nowMs();

    long helloTimeoutMs();

    long slowConsumerTimeoutMs();

    long leaseTimeoutMs();

    /** How many requests one connection may have in flight; at the limit the server stops reading it. */
    default int maxInFlight() {
        return dev.turnstile.appliance.config.ServerConfig.DEFAULT_MAX_IN_FLIGHT;
    }

    /** The WELCOME this server sends now (server time, license validity, peers). */
    Message.Welcome welcome();

    boolean draining();

    /** Records an event decided outside the ledger (a refusal before it) where the ledger's own go. */
    default void journal(dev.turnstile.appliance.seat.LedgerEvent event) {
        registry().journal(event);
    }

    /**
     * A reason every checkout is refused right now whatever the seat authority would say (licenseExpired), or
     * {@code null} when checkouts go to the seat authority.
     */
    default ErrorCode checkoutRefusal() {
        return null;
    }

    default String checkoutRefusalMessage() {
        return "";
    }
}
