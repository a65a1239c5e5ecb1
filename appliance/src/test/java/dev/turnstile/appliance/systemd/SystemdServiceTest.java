package dev.turnstile.appliance.systemd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.testsupport.Wait;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The reload protocol (SIGHUP without the signal): RELOADING=1, the action, READY=1 with the outcome. */
class SystemdServiceTest {

    private final Vertx vertx = Vertx.vertx();
    private final RecordingTransport sent = new RecordingTransport();
    private final SystemdService service = new SystemdService(RecordingTransport.notifier(sent, 0), Map.of());

    @AfterEach
    void close() throws Exception {
        vertx.close().await(10, TimeUnit.SECONDS);
    }

    @Test
    void a_reload_says_reloading_then_ready_with_the_outcome_in_the_status() throws Exception {
        // GIVEN a reload action that succeeds
        Supplier<Future<?>> reload = () -> Future.succeededFuture("ok");
        // WHEN a reload is requested
        service.requestReload(vertx, reload);
        // THEN the manager sees RELOADING=1 (with the monotonic time systemd 253 wants), then READY=1 and "reloaded"
        assertTrue(sent.await(0, d -> d.startsWith("READY=1"), 1, 10_000), sent.sent().toString());
        List<String> s = sent.sent();
        assertTrue(s.get(0).startsWith("RELOADING=1\nMONOTONIC_USEC="), s.toString());
        assertTrue(s.get(s.size() - 1).contains("STATUS=running; reloaded "), s.toString());
    }

    @Test
    void a_failed_reload_keeps_the_service_ready_and_says_why() throws Exception {
        // GIVEN a reload action that fails (a file that does not validate)
        Supplier<Future<?>> reload = () -> Future.failedFuture(new IllegalArgumentException("logging.levels.root: got 'loud'"));
        // WHEN a reload is requested
        service.requestReload(vertx, reload);
        // THEN READY=1 still follows, and the status names the problem
        assertTrue(sent.await(0, d -> d.startsWith("READY=1"), 1, 10_000), sent.sent().toString());
        String last = sent.sent().get(sent.size() - 1);
        assertTrue(last.contains("reload failed") && last.contains("logging.levels.root"), last);
    }

    @Test
    void signals_during_a_reload_give_exactly_one_more_reload_after_it() throws Exception {
        // GIVEN a reload that is still running
        ConcurrentLinkedQueue<Promise<Void>> running = new ConcurrentLinkedQueue<>();
        AtomicInteger runs = new AtomicInteger();
        Supplier<Future<?>> reload = () -> {
            runs.incrementAndGet();
            Promise<Void> p = Promise.promise();
            running.add(p);
            return p.future();
        };
        service.requestReload(vertx, reload);
        assertTrue(waitFor(() -> runs.get() == 1));
        // WHEN three more SIGHUPs arrive meanwhile
        service.requestReload(vertx, reload);
        service.requestReload(vertx, reload);
        service.requestReload(vertx, reload);
        // THEN nothing overlaps; when the first finishes, one more reload runs, and no other
        assertEquals(1, runs.get());
        running.poll().complete();
        assertTrue(waitFor(() -> runs.get() == 2));
        running.poll().complete();
        assertTrue(sent.await(0, d -> d.startsWith("READY=1"), 2, 10_000), sent.sent().toString());
        assertEquals(2, runs.get());
    }

    private static boolean waitFor(java.util.function.BooleanSupplier condition) {
        try {
            Wait.until("a condition of the service", java.time.Duration.ofSeconds(10), condition);
            return true;
        } catch (AssertionError notYet) {
            return false; // the caller asserts
        }
    }
}
