package dev.turnstile.appliance.seat;

import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * The seat ledger read only: what the status page, the admin API, the meters and the sync read. Changing a seat
 * goes through the seat authority ({@code dev.turnstile.appliance.authority.SeatAuthority}), never through here.
 * Implemented by {@link ConcurrentLedger}; every method is thread-safe.
 */
public interface LedgerView {

    /** Every pool with its figures now. */
    List<PoolView> pools();

    /** The lease, if it is held or orphaned now. */
    Optional<LeaseView> lease(UUID id);

    /** O(leases): for admin pages and shared copies, not for every request. */
    List<LeaseView> leases();

    /** Leases of one session (what a session holds, for its close log line and eviction). */
    List<LeaseView> leasesOf(long sessionId);

    /** Leases and queued checkouts of a session: what keeps it from being evicted as idle. */
    int holdingsOf(long sessionId);

    int leaseCount();

    int waiterCount();
}
