package dev.turnstile.client.impl;

import java.time.Duration;
import java.util.function.DoubleSupplier;

/**
 * Exponential backoff with jitter between rounds of connection attempts: round {@code n}
 * (1-based) waits {@code min(max, initial * 2^(n-1))} times a factor drawn uniformly from
 * {@code [1 - jitter, 1 + jitter]}, never more than {@code max * (1 + jitter)}. Immutable; the
 * random source decides its own thread-safety.
 */
public final class Backoff {
    private final long initialMs;
    private final long maxMs;
    private final double jitter;
    private final DoubleSupplier random;

    /** @param random yields values in [0, 1) */
    public Backoff(Duration initial, Duration max, double jitter, DoubleSupplier random) {
        this.initialMs = Math.max(1, initial.toMillis());
        this.maxMs = Math.max(initialMs, max.toMillis());
        this.jitter = jitter;
        this.random = random;
    }

    /** The delay before round {@code failedRounds + 1}, after {@code failedRounds >= 1} failed rounds. */
    public long delayMs(int failedRounds) {
        int shift = Math.max(0, Math.min(failedRounds - 1, 30));
        long nominal = Math.min(maxMs, initialMs << shift); // initialMs < 2^31, shift <= 30: no overflow
        double factor = 1 + jitter * (2 * random.getAsDouble() - 1);
        return Math.max(1, Math.round(nominal * factor));
    }
}
