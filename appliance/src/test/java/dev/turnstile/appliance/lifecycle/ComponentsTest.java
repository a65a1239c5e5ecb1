package dev.turnstile.appliance.lifecycle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The start and stop order of the appliance's components, and what happens when one cannot start. */
class ComponentsTest {
    private final List<String> log = new ArrayList<>();

    private Lifecycle component(String name, boolean startFails) {
        return Lifecycle.of(name, () -> {
            log.add("start " + name);
            return startFails ? Future.failedFuture(new IllegalStateException(name + ": port in use"))
                    : Future.succeededFuture();
        }, () -> {
            log.add("stop " + name);
            return Future.succeededFuture();
        });
    }

    @Test
    @DisplayName("GIVEN store, listener and http added in that order WHEN started and stopped THEN they start in "
            + "order and stop in reverse")
    void components_start_in_order_and_stop_in_reverse() {
        Components c = new Components();
        Lifecycle store = c.add(component("store", false));
        Lifecycle listener = c.add(component("listener", false), store);
        c.add(component("http", false), listener);

        assertTrue(c.start().succeeded());
        assertTrue(c.stop().succeeded());

        assertEquals(List.of("start store", "start listener", "start http", "stop http", "stop listener", "stop store"),
                log);
        assertEquals(List.of(), c.running());
    }

    @Test
    @DisplayName("GIVEN the listener cannot bind WHEN the components start THEN the start fails with its cause, "
            + "what had started is stopped, and what comes after never starts")
    void a_failed_start_stops_what_had_started() {
        Components c = new Components();
        Lifecycle store = c.add(component("store", false));
        Lifecycle listener = c.add(component("listener", true), store);
        c.add(component("http", false), listener);

        Future<Void> f = c.start();

        assertTrue(f.failed());
        assertEquals("listener: port in use", f.cause().getMessage());
        assertEquals(List.of("start store", "start listener", "stop store"), log);
    }

    @Test
    @DisplayName("GIVEN a component whose dependency is added after it WHEN it is added THEN the wiring mistake is "
            + "refused naming both")
    void a_dependency_must_be_added_before_the_component() {
        Components c = new Components();
        Lifecycle store = component("store", false);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> c.add(component("listener", false), store));
        assertEquals("listener depends on store, which is not added before it", e.getMessage());
    }

    @Test
    @DisplayName("a missing dependency fails the start with a message naming the component and what is missing")
    void require_names_the_missing_dependency() {
        Future<Void> f = Lifecycle.require("http", "the metrics", null);
        assertTrue(f.failed());
        assertEquals("http cannot start: the metrics is not set", f.cause().getMessage());
        assertTrue(Lifecycle.require("http", "the metrics", new Object()).succeeded());
    }
}
