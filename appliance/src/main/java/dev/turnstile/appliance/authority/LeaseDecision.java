package dev.turnstile.appliance.authority;

import dev.turnstile.protocol.ErrorCode;
import java.util.Objects;

/**
 * A decision about one lease (checkin, force-release): {@code ok}, or why not ({@code leaseIdNotFound},
 * {@code reclaimSecretMismatch}, ...), with the term it was decided in (0 on a single appliance).
 */
public record LeaseDecision(ErrorCode code, long term) {
    public LeaseDecision {
        Objects.requireNonNull(code, "code");
    }

    public boolean ok() {
        return code == ErrorCode.OK;
    }
}
