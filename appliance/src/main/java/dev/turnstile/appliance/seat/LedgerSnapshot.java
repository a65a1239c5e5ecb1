package dev.turnstile.appliance.seat;

import java.util.List;

/**
 * A consistent picture of the ledger taken in one command (for {@link ConcurrentLedger}: under one
 * lock hold), so that pool use and leases agree with each other. Costs O(pools + leases).
 */
public record LedgerSnapshot(List<PoolView> pools, List<LeaseView> leases, int waiters, long nextDeadlineMs) {
    public LedgerSnapshot {
        pools = List.copyOf(pools);
        leases = List.copyOf(leases);
    }
}
