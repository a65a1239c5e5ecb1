package dev.turnstile.client.support;

import dev.turnstile.testsupport.Wait;
import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Bounded polling ({@link Wait}, Awaitility): waits for a condition for at most a generous time, then fails saying what was awaited. */
public final class Await {
    public static final Duration DEFAULT = Duration.ofSeconds(15);

    private Await() {
    }

    public static void until(String what, BooleanSupplier condition) {
        until(what, DEFAULT, condition);
    }

    public static void until(String what, Duration max, BooleanSupplier condition) {
        Wait.until(what, max, condition);
    }
}
