package dev.turnstile.appliance.seat;

import dev.turnstile.protocol.ErrorCode;
import java.util.Objects;

/** The ledger's answer to a checkout: GRANTED, QUEUED or DENIED. */
public sealed interface CheckoutOutcome {

    /** A seat was granted (or an orphaned lease reclaimed, same id). */
    record Granted(LeaseView lease, boolean reclaimed) implements CheckoutOutcome {
        public Granted {
            Objects.requireNonNull(lease, "lease");
        }
    }

    /**
     * The checkout waits in the pool's FIFO queue; the answer comes later through
     * {@link LedgerListener#queuedGranted} or {@link LedgerListener#queuedDenied}.
     *
     * @param position      1 = next
     * @param waitTimeoutMs the effective wait timeout
     */
    record Queued(int position, long waitTimeoutMs) implements CheckoutOutcome {
    }

    /** A business refusal; the connection survives. */
    record Denied(ErrorCode code, String message) implements CheckoutOutcome {
        public Denied {
            Objects.requireNonNull(code, "code");
            Objects.requireNonNull(message, "message");
        }
    }
}
