package dev.turnstile.appliance.authority;

import dev.turnstile.appliance.seat.CheckoutOutcome;
import java.util.Objects;

/**
 * A checkout decided: the ledger's outcome, and the term and log index of the decision (both 0 on a
 * single appliance; GRANTED carries them, PROTOCOL.md 6.4).
 */
public record CheckoutResult(CheckoutOutcome outcome, long term, long logIndex) {
    public CheckoutResult {
        Objects.requireNonNull(outcome, "outcome");
    }

    public static CheckoutResult local(CheckoutOutcome outcome) {
        return new CheckoutResult(outcome, 0, 0);
    }
}
