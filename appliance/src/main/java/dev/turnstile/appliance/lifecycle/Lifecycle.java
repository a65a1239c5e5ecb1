package dev.turnstile.appliance.lifecycle;

import io.vertx.core.Future;
import java.util.function.Supplier;

/**
 * The one shape in which every component of the appliance starts and stops, in the manner of Eclipse Hono's
 * {@code Lifecycle}: {@link #start()} allocates what the component needs and completes once it serves (or fails
 * saying why: a missing dependency, a port in use); {@link #stop()} releases it and completes once it is gone.
 * Neither blocks the calling thread: whatever blocks (a JGroups connect) runs on a worker inside the future.
 *
 * <p>The composition root adds its components to {@link Components} in dependency order, naming each one's
 * dependencies; {@code Components} checks them before a start and stops in reverse. A verticle stays a verticle
 * inside its component ({@link VerticleLifecycle} deploys it on start and undeploys it on stop).
 */
public interface Lifecycle {

    /** The component's name in log lines and failures ("store", "client listener", "http"). */
    default String name() {
        return getClass().getSimpleName();
    }

    /**
     * Starts this component. Called once, after every component it depends on has started.
     *
     * @return completes when the component serves; fails with the reason it cannot
     */
    Future<Void> start();

    /**
     * Stops this component and releases what {@link #start()} allocated. Called once, only after a successful
     * start, before the components it depends on stop.
     *
     * @return completes when the component has stopped (a failure is logged by the caller, not retried)
     */
    Future<Void> stop();

    /** A component made of two functions: for a step of the composition root (a timer, a recovery pass). */
    static Lifecycle of(String name, Supplier<Future<Void>> start, Supplier<Future<Void>> stop) {
        return new Lifecycle() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public Future<Void> start() {
                return start.get();
            }

            @Override
            public Future<Void> stop() {
                return stop.get();
            }
        };
    }

    /** A step with nothing to undo at stop. */
    static Lifecycle onStart(String name, Supplier<Future<Void>> start) {
        return of(name, start, Future::succeededFuture);
    }

    /**
     * Fails (the way a {@link #start()} should) when {@code dependency} is null: Hono's "dependencies are
     * checked before start", with a message that names the component and the missing piece.
     */
    static Future<Void> require(String component, String what, Object dependency) {
        return dependency != null ? Future.succeededFuture()
                : Future.failedFuture(new IllegalStateException(component + " cannot start: " + what + " is not set"));
    }
}
