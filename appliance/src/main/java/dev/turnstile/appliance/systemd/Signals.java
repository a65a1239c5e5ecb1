package dev.turnstile.appliance.systemd;

import java.util.function.Consumer;

/**
 * The one place that touches {@code sun.misc.Signal} (module jdk.unsupported, present in every
 * JDK 17+ and kept for exactly this use): the JDK has no public API to handle SIGHUP or to turn
 * SIGTERM into a chosen exit status. Handlers run on a fresh thread, never on an event loop.
 */
final class Signals {

    private Signals() {
    }

    /**
     * Replaces the JVM's handling of {@code SIG<name>} (e.g. "HUP") with {@code action}, which
     * gets the signal's name.
     *
     * @return false when the JVM refuses (a signal it uses itself, or {@code -Xrs})
     */
    static boolean handle(String name, Consumer<String> action) {
        try {
            sun.misc.Signal.handle(new sun.misc.Signal(name), s -> action.accept(s.getName()));
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
