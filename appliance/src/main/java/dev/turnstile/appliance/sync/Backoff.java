package dev.turnstile.appliance.sync;

import java.util.random.RandomGenerator;

/**
 * Exponential backoff with jitter between the attempts of one sync: the ceiling doubles from
 * {@code sync.retry.initial_delay_seconds} up to {@code max_delay_seconds}, and the delay is drawn
 * uniformly from the upper half of it ("equal jitter"), so many appliances that lost the cloud at
 * the same moment do not come back in lockstep, yet every wait is at least half the ceiling.
 */
public final class Backoff {
    private final long initialMs;
    private final long maxMs;
    private final RandomGenerator random;

    public Backoff(long initialMs, long maxMs, RandomGenerator random) {
        this.initialMs = Math.max(0, initialMs);
        this.maxMs = Math.max(this.initialMs, maxMs);
        this.random = random;
    }

    /** The ceiling before attempt {@code attempt + 1}, after {@code attempt} (1-based) failed. */
    public long ceilingMs(int attempt) {
        int shift = Math.min(Math.max(attempt - 1, 0), 40);
        double c = initialMs * Math.pow(2, shift);
        return (long) Math.min(c, maxMs);
    }

    /** The delay before the next attempt, after attempt {@code attempt} (1-based) failed: in [ceiling/2, ceiling]. */
    public long delayMs(int attempt) {
        long c = ceilingMs(attempt);
        long half = c / 2;
        return half + (c - half == 0 ? 0 : random.nextLong(c - half + 1));
    }
}
