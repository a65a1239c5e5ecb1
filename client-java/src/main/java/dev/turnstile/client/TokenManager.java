package dev.turnstile.client;

import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * Stores lease tokens, so that a client can reclaim its leases after a failover or a restart.
 * The client stores a token when a lease is granted, updates it when a server confirms the lease
 * (heartbeat, reclaim), removes it when the application checks the lease in, and asks its
 * {@link TokenInvalidationHandler} about tokens of leases the server reports failed (heartbeat
 * result, revocation, refused reclaim).
 *
 * <p><b>Thread-safety:</b> implementations must be thread-safe. The client calls them from its
 * internal thread, one call at a time; the application may call them from any thread at the same
 * time. Implementations must not call back into the {@link TurnstileClient} and block on it.
 */
public interface TokenManager {

    /** Stores {@code token}, replacing any token with the same lease id. */
    void store(LeaseToken token);

    /**
     * Stores several tokens at once (a whole heartbeat's confirmations). The default stores them
     * one by one; a persistent implementation should write once.
     */
    default void storeAll(Collection<LeaseToken> tokens) {
        for (LeaseToken t : tokens) {
            store(t);
        }
    }

    /** The token of {@code leaseId}, if one is stored. */
    Optional<LeaseToken> get(UUID leaseId);

    /** Every stored token, oldest checkout first. */
    List<LeaseToken> all();

    /**
     * Removes the token of {@code leaseId}. Never throws: a lease that is already gone (removed
     * before, never stored, or {@code null}) is not an error, and a failure to persist the removal
     * is logged rather than thrown.
     *
     * @return true when a token was removed
     */
    boolean removeSafelyByLeaseId(UUID leaseId);
}
