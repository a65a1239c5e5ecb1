package dev.turnstile.appliance.lifecycle;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Whether the appliance serves: {@link #ready()} once every component has started, until draining begins;
 * {@link #draining()} from the start of a shutdown on (new connections and checkouts are refused). Read by the
 * client listener, the sessions, the health check and the {@code turnstile_ready} meter; written by the
 * composition root only. Thread-safe.
 */
public final class ServingState {
    private volatile boolean ready;
    private final AtomicBoolean draining = new AtomicBoolean();

    public boolean ready() {
        return ready;
    }

    public boolean draining() {
        return draining.get();
    }

    /** Every component started. */
    public void markReady() {
        ready = !draining.get();
    }

    /** Begins draining; true only for the first call (a second shutdown has nothing to do). */
    public boolean beginDraining() {
        ready = false;
        return draining.compareAndSet(false, true);
    }
}
