package dev.turnstile.testsupport;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionFactory;
import org.awaitility.core.ConditionTimeoutException;
import org.awaitility.core.ThrowingRunnable;

/**
 * Bounded waiting for an effect, through Awaitility: the condition is polled (every 20 ms, first at once, on the
 * calling thread) until it holds or the bound passes; then the test fails naming what it waited for. Never a bare
 * sleep for an effect (DESIGN.md). A wait that lets time pass to prove that nothing happens is not this: it sleeps,
 * and says why.
 */
public final class Wait {
    /** The bound when none is given: long enough for a loaded 2-core machine, short enough to fail a test. */
    public static final Duration DEFAULT = Duration.ofSeconds(30);
    private static final Duration POLL = Duration.ofMillis(20);

    private Wait() {
    }

    /** An Awaitility condition named {@code what}, bounded by {@code max}, polling on the calling thread. */
    public static ConditionFactory await(String what, Duration max) {
        return Awaitility.await(what).atMost(max).pollDelay(Duration.ZERO).pollInterval(POLL).pollInSameThread();
    }

    /** Waits (at most {@link #DEFAULT}) until {@code condition} holds; an exception from it fails at once. */
    public static void until(String what, BooleanSupplier condition) {
        until(what, DEFAULT, condition);
    }

    /** Waits at most {@code max} until {@code condition} holds; returns the milliseconds it took. */
    public static long until(String what, Duration max, BooleanSupplier condition) {
        long t0 = System.nanoTime();
        try {
            await(what, max).until(condition::getAsBoolean);
        } catch (ConditionTimeoutException e) {
            throw new AssertionError(what + ": not within " + max.toMillis() + " ms", e);
        }
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    }

    /** As {@link #until(String, Duration, BooleanSupplier)}, with {@code max} in milliseconds. */
    public static long until(String what, long maxMs, BooleanSupplier condition) {
        return until(what, Duration.ofMillis(maxMs), condition);
    }

    /**
     * Waits at most {@code max} until {@code condition} holds, counting an exception it throws as "not yet" (a server
     * still starting, a connection refused); the last one is the cause of the failure.
     */
    public static long untilNoException(String what, Duration max, Callable<Boolean> condition) {
        long t0 = System.nanoTime();
        try {
            await(what, max).ignoreExceptions().until(condition);
        } catch (ConditionTimeoutException e) {
            throw new AssertionError(what + ": not within " + max.toMillis() + " ms", e);
        }
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    }

    /** Waits at most {@code max} until {@code supplier} gives a value that {@code ok} accepts; returns that value. */
    public static <T> T forValue(String what, Duration max, Callable<T> supplier, Predicate<? super T> ok) {
        try {
            return await(what, max).until(supplier, ok::test);
        } catch (ConditionTimeoutException e) {
            throw new AssertionError(what + ": not within " + max.toMillis() + " ms", e);
        }
    }

    /**
     * Tries {@code attempt} until it returns without throwing {@code retryOn} (a refusal while a leader is elected, a
     * server not there yet), at most {@code max}; returns what it returned. Any other exception fails at once.
     */
    public static <T> T firstSuccess(String what, Duration max, Class<? extends Throwable> retryOn, Callable<T> attempt) {
        try {
            return await(what, max).ignoreException(retryOn).until(attempt, v -> true);
        } catch (ConditionTimeoutException e) {
            throw new AssertionError(what + ": not within " + max.toMillis() + " ms", e);
        }
    }

    /** Waits at most {@code max} until {@code assertion} passes; the last failure is reported. */
    public static void untilAsserted(String what, Duration max, ThrowingRunnable assertion) {
        try {
            await(what, max).untilAsserted(assertion);
        } catch (ConditionTimeoutException e) {
            throw new AssertionError(what + ": not within " + max.toMillis() + " ms", e);
        }
    }
}
