package dev.turnstile.appliance.lifecycle;

import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The appliance's components in dependency order: {@link #start()} starts them one after the other, checking
 * before each that what it depends on runs; {@link #stop()} stops the started ones in reverse order. A failed
 * start stops what had started and fails with the first cause, so a half-started appliance holds no port.
 *
 * <p>Not thread-safe: the composition root adds, starts and stops from one thread (or one context).
 */
public final class Components {
    private static final Logger LOG = LoggerFactory.getLogger(Components.class);

    private final Map<Lifecycle, List<Lifecycle>> order = new LinkedHashMap<>();
    private final List<Lifecycle> started = new ArrayList<>();
    private boolean starting;

    /**
     * Adds {@code component}, to start after every component added before it.
     *
     * @param dependsOn components that must run before it starts; each must have been added already (the order of
     *                  {@code add} calls is the start order, so a dependency added later is a wiring mistake)
     * @return {@code component}
     * @throws IllegalArgumentException when a dependency was not added before, or the component was added twice
     * @throws IllegalStateException    after {@link #start()}
     */
    public <T extends Lifecycle> T add(T component, Lifecycle... dependsOn) {
        if (starting) {
            throw new IllegalStateException("components are added before start");
        }
        if (order.containsKey(component)) {
            throw new IllegalArgumentException(component.name() + " is added twice");
        }
        for (Lifecycle d : dependsOn) {
            if (!order.containsKey(d)) {
                throw new IllegalArgumentException(component.name() + " depends on " + d.name()
                        + ", which is not added before it");
            }
        }
        order.put(component, List.of(dependsOn));
        return component;
    }

    /** The components in start order. */
    public List<Lifecycle> all() {
        return List.copyOf(order.keySet());
    }

    /** The components that started and have not stopped, in start order. */
    public List<Lifecycle> running() {
        return List.copyOf(started);
    }

    /**
     * Starts every component in order. Before each start its dependencies must be running; after a failure the
     * components already started are stopped in reverse and the returned future fails with the first cause.
     */
    public Future<Void> start() {
        if (starting) {
            return Future.failedFuture(new IllegalStateException("components are started once"));
        }
        starting = true;
        Future<Void> chain = Future.succeededFuture();
        for (Map.Entry<Lifecycle, List<Lifecycle>> e : order.entrySet()) {
            chain = chain.compose(v -> startOne(e.getKey(), e.getValue()));
        }
        return chain.recover(cause -> stop().transform(ar -> Future.failedFuture(cause)));
    }

    private Future<Void> startOne(Lifecycle c, List<Lifecycle> dependsOn) {
        Set<Lifecycle> running = Set.copyOf(started);
        for (Lifecycle d : dependsOn) {
            if (!running.contains(d)) {
                return Future.failedFuture(new IllegalStateException(c.name() + " cannot start: it needs "
                        + d.name() + ", which is not running"));
            }
        }
        Future<Void> f;
        try {
            f = c.start();
        } catch (RuntimeException ex) {
            f = Future.failedFuture(ex);
        }
        return f.onSuccess(v -> {
            started.add(c);
            LOG.debug("started {}", c.name());
        });
    }

    /**
     * Stops the running components in reverse start order, one after the other. A failing stop is logged and
     * the others still stop; the future completes when all have been asked.
     */
    public Future<Void> stop() {
        Future<Void> chain = Future.succeededFuture();
        for (int i = started.size() - 1; i >= 0; i--) {
            Lifecycle c = started.get(i);
            chain = chain.transform(ignored -> stopOne(c));
        }
        return chain.transform(ar -> Future.succeededFuture());
    }

    private Future<Void> stopOne(Lifecycle c) {
        Future<Void> f;
        try {
            f = c.stop();
        } catch (RuntimeException ex) {
            f = Future.failedFuture(ex);
        }
        return f.transform(ar -> {
            started.remove(c);
            if (ar.failed()) {
                LOG.warn("stopping {} failed: {}", c.name(), ar.cause().toString());
            } else {
                LOG.debug("stopped {}", c.name());
            }
            return Future.succeededFuture();
        });
    }
}
