package dev.turnstile.appliance.metrics;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.netty.util.concurrent.EventExecutor;
import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxInternal;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * How long a task waits on each Vert.x event loop before it runs: every period, one tiny task is
 * handed to every event loop and the time until it runs is recorded. A loop that is blocked or
 * flooded shows it here long before clients time out. Meters:
 * {@code turnstile_event_loop_delay_seconds{loop}} (the latest figure per loop) and the timer
 * {@code turnstile_event_loop_delay_seconds_max/_sum/_count} over all loops.
 */
final class EventLoopProbe {
    private final Vertx vertx;
    private final List<EventExecutor> loops = new ArrayList<>();
    private final AtomicLongArray latestNanos;
    private final List<Meter> meters = new ArrayList<>();
    private final Timer timer;
    private long timerId = -1;

    EventLoopProbe(Vertx vertx, MeterRegistry registry) {
        this.vertx = vertx;
        if (vertx instanceof VertxInternal vi) {
            for (EventExecutor ex : vi.eventLoopGroup()) {
                loops.add(ex);
            }
        }
        latestNanos = new AtomicLongArray(loops.size());
        timer = Timer.builder("turnstile.event.loop.delay")
                .description("Time a task waited on an event loop before it ran (sampled every second per loop)")
                .register(registry);
        meters.add(timer);
        for (int i = 0; i < loops.size(); i++) {
            int index = i;
            meters.add(Gauge.builder("turnstile.event.loop.delay.latest", latestNanos, a -> a.get(index) / 1e9)
                    .description("The latest sampled delay of this event loop")
                    .baseUnit("seconds").tag("loop", Integer.toString(i)).register(registry));
        }
    }

    int loops() {
        return loops.size();
    }

    void start(long periodMs) {
        if (timerId < 0 && !loops.isEmpty()) {
            timerId = vertx.setPeriodic(periodMs, periodMs, id -> probe());
        }
    }

    private void probe() {
        for (int i = 0; i < loops.size(); i++) {
            int index = i;
            long t0 = System.nanoTime();
            try {
                loops.get(i).execute(() -> {
                    long d = System.nanoTime() - t0;
                    latestNanos.set(index, d);
                    timer.record(d, TimeUnit.NANOSECONDS);
                });
            } catch (RuntimeException e) {
                // rejected: the loop is shutting down
            }
        }
    }

    List<Meter> stop() {
        if (timerId >= 0) {
            vertx.cancelTimer(timerId);
            timerId = -1;
        }
        return meters;
    }
}
