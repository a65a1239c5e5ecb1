package dev.turnstile.appliance.seat;

/** The states of a live lease. Ended leases are not kept, only a tombstone of their id. */
public enum LeaseState {
    /** Held by a live session; heartbeats renew it. */
    HELD,
    /** Its session was lost; it waits for a RECLAIM until its grace deadline. */
    ORPHANED
}
