package dev.turnstile.appliance.store;

import static dev.turnstile.appliance.store.StoreTestKit.checkin;
import static dev.turnstile.appliance.store.StoreTestKit.checkout;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Context;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.time.Instant;
import java.util.UUID;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Where the store's writer runs (issue 13): on a Vert.x worker context of its own, composed, never blocking. */
class StoreWriterContextTest extends PostgresStoreTestBase {
    private static final long T0 = Instant.parse("2026-12-07T10:00:00Z").toEpochMilli();

    /** Where a callback ran: on a worker, on an event loop, and the thread's name. */
    private record Where(boolean worker, boolean eventLoop, String thread) {
        static Where now() {
            return new Where(Context.isOnWorkerThread(), Context.isOnEventLoopThread(), Thread.currentThread().getName());
        }
    }

    @Test
    @DisplayName("GIVEN a store WHEN a caller outside Vert.x and one on an event loop flush it THEN the writer completes the first on its own worker context (never an event loop) and the second on the caller's event loop")
    void the_writer_works_on_a_worker_context_of_its_own_and_answers_on_the_callers_context() throws Exception {
        store = TestDatabase.await(PersistenceService.start(vertx, StoreTestKit.storeSection(db.url, spill)));
        UUID lease = UUID.randomUUID();
        store.journal(checkout(lease, T0, 1));
        store.journal(checkin(lease, T0 + 5, 1));

        Promise<Where> outside = Promise.promise();
        store.flush().onComplete(ar -> outside.complete(Where.now()));
        Where w = TestDatabase.await(outside.future());
        assertTrue(w.worker(), "the writer's own context is a worker context: " + w);
        assertFalse(w.eventLoop(), "never an event loop: " + w);
        assertTrue(w.thread().startsWith("turnstile-store-writer-"), "a thread of the store's own pool: " + w);
        assertEquals(1, db.count("SELECT count(*) FROM usage_journal WHERE kind = 'checkin'"));

        Promise<Where> onLoop = Promise.promise();
        vertx.runOnContext(v -> store.flush().onComplete(ar -> onLoop.complete(Where.now())));
        Where l = TestDatabase.await(onLoop.future());
        assertTrue(l.eventLoop(), "a caller on an event loop is answered on it: " + l);
    }

    @Test
    @DisplayName("GIVEN events held in memory (the flush interval not yet over) WHEN Vert.x is closed under the store, without its stop THEN nothing more is written, the events go to the spill, and the next start writes them")
    void vertx_closing_under_the_store_spills_what_it_holds_for_the_next_start() throws Exception {
        Vertx runtime = Vertx.vertx(); // the appliance's own (the test's database pool stays on the test's)
        PersistenceService crashed = TestDatabase.await(PersistenceService.start(runtime,
                StoreTestKit.storeSection(db.url, spill).put("flush_interval", "60s")));
        TestDatabase.await(crashed.flush()); // connected, nothing held
        UUID lease = UUID.randomUUID();
        crashed.journal(checkout(lease, T0, 1));
        crashed.journal(checkin(lease, T0 + 5, 1));

        TestDatabase.await(runtime.close()); // a crash of the runtime, as a test's kill does it
        assertEquals(0, db.count("SELECT count(*) FROM usage_journal"), "nothing written after the close");
        assertEquals(2, crashed.status().getLong("spilled_events"), "both events wait in the spill");

        store = TestDatabase.await(PersistenceService.start(vertx, StoreTestKit.storeSection(db.url, spill)));
        TestDatabase.await(store.flush());
        assertEquals(2, db.count("SELECT count(*) FROM usage_journal WHERE lease_id = $1", lease),
                "the next start wrote the spilled events");
    }
}
