package dev.turnstile.appliance.systemd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class WatchdogTest {

    private static final String PING = "WATCHDOG=1";
    private static final int LOOPS = 3;
    private final Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(LOOPS)
            // The test blocks a loop on purpose; keep Vert.x's blocked-thread report short.
            .setMaxEventLoopExecuteTime(5).setMaxEventLoopExecuteTimeUnit(TimeUnit.SECONDS));

    @AfterEach
    void close() throws Exception {
        vertx.close().await(10, TimeUnit.SECONDS);
    }

    @Test
    void without_WATCHDOG_USEC_no_watchdog_starts() {
        // GIVEN a notifier systemd gave no watchdog interval
        SystemdNotifier n = RecordingTransport.notifier(new RecordingTransport(), 0);
        // THEN no watchdog runs
        assertEquals(Optional.empty(), Watchdog.startIfEnabled(vertx, n));
    }

    @Test
    void every_event_loop_is_watched_and_pings_keep_coming_while_all_run() throws Exception {
        // GIVEN a 400 ms watchdog interval
        RecordingTransport t = new RecordingTransport();
        try (Watchdog w = Watchdog.startIfEnabled(vertx, RecordingTransport.notifier(t, 400_000)).orElseThrow()) {
            // THEN there is a check-in task on each of the Vert.x event loops
            assertEquals(LOOPS, w.eventLoops());
            assertEquals(Duration.ofMillis(100), w.checkPeriod());
            assertEquals(Duration.ofMillis(200), w.staleAfter());
            // AND pings keep arriving
            assertTrue(t.await(0, PING::equals, 10, 20_000), t.sent().toString());
        }
    }

    @Test
    void a_single_blocked_event_loop_stops_the_pings_until_it_runs_again() throws Exception {
        // GIVEN a running watchdog with a 400 ms interval: a loop silent for 200 ms stops the pings
        RecordingTransport t = new RecordingTransport();
        Watchdog w = Watchdog.start(vertx, RecordingTransport.notifier(t, 0), Duration.ofMillis(400));
        try {
            assertTrue(t.await(0, PING::equals, 3, 20_000));
            // WHEN one event loop is blocked for 2 s (10 stale periods)
            CountDownLatch released = new CountDownLatch(1);
            int[] marks = new int[2];
            vertx.getOrCreateContext().runOnContext(v -> {
                marks[0] = t.mark("blocked");
                long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(2_000);
                while (System.nanoTime() < until) {
                    try {
                        Thread.sleep(50); // the behaviour under test: this event loop is blocked for 2 s
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        break;
                    }
                }
                marks[1] = t.mark("released");
                released.countDown();
            });
            assertTrue(released.await(20, TimeUnit.SECONDS));
            // THEN at most the pings of the first stale period (200 ms at one per 50 ms, plus one decided
            // just before the block) go out in those 2 s; unblocked, about 20 would have
            long during = t.count(marks[0], marks[1], PING::equals);
            assertTrue(during <= 6, "pings while a loop was blocked: " + during + " in " + t.sent());
            // AND once the loop runs again, pings resume
            assertTrue(t.await(marks[1], PING::equals, 3, 20_000), t.sent().toString());
        } finally {
            w.close();
        }
    }
}
