package dev.turnstile.appliance.seat;

/**
 * Tunables of the {@link SeatLedger}. All durations in milliseconds.
 *
 * @param leaseTimeoutMs      a heartbeat renews a lease until now + this
 * @param reclaimGraceMs      how long the leases of a lost session stay ORPHANED for a RECLAIM (0 = released at once)
 * @param maxLeasesPerSession live leases one session may hold (tooManyLeases beyond)
 * @param maxQueuePerPool     waiters one pool may queue (queueFull beyond)
 * @param defaultWaitMs       wait timeout of a checkout that gives 0
 * @param maxWaitMs           cap of any wait timeout
 * @param expiredTombstoneMs  how long an expired lease id stays known (licenseCheckoutExpired)
 * @param maxTombstones       how many expired lease ids are kept at most (oldest dropped first)
 * @param legacyReclaim       what a reclaim or orphan checkin without a reclaim secret may do (PROTOCOL.md 10.6)
 */
public record LedgerSettings(long leaseTimeoutMs, long reclaimGraceMs, int maxLeasesPerSession, int maxQueuePerPool,
                             long defaultWaitMs, long maxWaitMs, long expiredTombstoneMs, int maxTombstones,
                             LegacyReclaim legacyReclaim) {

    public static final long DEFAULT_LEASE_TIMEOUT_MS = 30_000;
    public static final long DEFAULT_RECLAIM_GRACE_MS = 60_000;
    public static final int DEFAULT_MAX_LEASES_PER_SESSION = 256;
    public static final int DEFAULT_MAX_QUEUE_PER_POOL = 1_000;
    public static final long DEFAULT_WAIT_MS = 30_000;
    public static final long DEFAULT_MAX_WAIT_MS = 600_000;
    public static final long DEFAULT_EXPIRED_TOMBSTONE_MS = 3_600_000;
    public static final int DEFAULT_MAX_TOMBSTONES = 100_000;
    public static final LegacyReclaim DEFAULT_LEGACY_RECLAIM = LegacyReclaim.REFUSE;

    public LedgerSettings {
        require(leaseTimeoutMs > 0, "leaseTimeoutMs must be > 0");
        require(reclaimGraceMs >= 0, "reclaimGraceMs must be >= 0");
        require(maxLeasesPerSession > 0, "maxLeasesPerSession must be > 0");
        require(maxQueuePerPool >= 0, "maxQueuePerPool must be >= 0");
        require(defaultWaitMs > 0, "defaultWaitMs must be > 0");
        require(maxWaitMs >= defaultWaitMs, "maxWaitMs must be >= defaultWaitMs");
        require(expiredTombstoneMs >= 0, "expiredTombstoneMs must be >= 0");
        require(maxTombstones >= 0, "maxTombstones must be >= 0");
        require(legacyReclaim != null, "legacyReclaim must be set");
    }

    /** With the default (safe) {@link LegacyReclaim#REFUSE}. */
    public LedgerSettings(long leaseTimeoutMs, long reclaimGraceMs, int maxLeasesPerSession, int maxQueuePerPool,
                          long defaultWaitMs, long maxWaitMs, long expiredTombstoneMs, int maxTombstones) {
        this(leaseTimeoutMs, reclaimGraceMs, maxLeasesPerSession, maxQueuePerPool, defaultWaitMs, maxWaitMs,
                expiredTombstoneMs, maxTombstones, DEFAULT_LEGACY_RECLAIM);
    }

    public static LedgerSettings defaults() {
        return new LedgerSettings(DEFAULT_LEASE_TIMEOUT_MS, DEFAULT_RECLAIM_GRACE_MS, DEFAULT_MAX_LEASES_PER_SESSION,
                DEFAULT_MAX_QUEUE_PER_POOL, DEFAULT_WAIT_MS, DEFAULT_MAX_WAIT_MS, DEFAULT_EXPIRED_TOMBSTONE_MS,
                DEFAULT_MAX_TOMBSTONES);
    }

    public LedgerSettings withLeaseTimeoutMs(long v) {
        return new LedgerSettings(v, reclaimGraceMs, maxLeasesPerSession, maxQueuePerPool, defaultWaitMs, maxWaitMs,
                expiredTombstoneMs, maxTombstones, legacyReclaim);
    }

    public LedgerSettings withReclaimGraceMs(long v) {
        return new LedgerSettings(leaseTimeoutMs, v, maxLeasesPerSession, maxQueuePerPool, defaultWaitMs, maxWaitMs,
                expiredTombstoneMs, maxTombstones, legacyReclaim);
    }

    public LedgerSettings withLegacyReclaim(LegacyReclaim v) {
        return new LedgerSettings(leaseTimeoutMs, reclaimGraceMs, maxLeasesPerSession, maxQueuePerPool, defaultWaitMs,
                maxWaitMs, expiredTombstoneMs, maxTombstones, v);
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}
