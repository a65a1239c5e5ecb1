package dev.turnstile.appliance.store;

import static dev.turnstile.appliance.store.StoreTestKit.waitUntil;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.seat.LedgerEvent;
import dev.turnstile.appliance.seat.LedgerEvent.Kind;
import dev.turnstile.testsupport.TestPostgres;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Stops and starts the real PostgreSQL under load (pg_ctlcluster, or pausing the container), then
 * counts every journal row against the events produced: all there, once, in order.
 */
@Tag("slow") // PostgreSQL stopped and started
class PostgresOutageTest extends PostgresStoreTestBase {

    /** One producer, like one event loop: cycles of checkout, two heartbeats, checkin; remembers what it sent. */
    private static final class Producer extends Thread {
        final int id;
        final PersistenceService sink;
        final AtomicBoolean run = new AtomicBoolean(true);
        final List<String> journaled = Collections.synchronizedList(new ArrayList<>());
        volatile long produced;

        Producer(int id, PersistenceService sink) {
            super("producer-" + id);
            this.id = id;
            this.sink = sink;
        }

        @Override
        public void run() {
            long deadline = System.currentTimeMillis() + 120_000; // bounded even if the test goes wrong
            long session = id * 1_000_000L;
            while (run.get() && System.currentTimeMillis() < deadline) {
                for (int burst = 0; burst < 10; burst++) { // 10 cycles = 40 events, then a 10 ms pause: ~4,000/s
                    UUID lease = UUID.randomUUID();
                    long at = System.currentTimeMillis();
                    session++;
                    emit(StoreTestKit.checkout(lease, at, session));
                    emit(StoreTestKit.heartbeat(lease, at + 1, session));
                    emit(StoreTestKit.heartbeat(lease, at + 2, session));
                    emit(StoreTestKit.checkin(lease, at + 3, session));
                }
                try {
                    Thread.sleep(10); // the load's pace, not a wait for an effect
                } catch (InterruptedException e) {
                    return;
                }
            }
        }

        private void emit(LedgerEvent e) {
            if (e.kind() != Kind.HEARTBEAT) {
                journaled.add(e.kind().name().toLowerCase() + " " + e.leaseId());
            }
            sink.journal(e);
            produced++;
        }
    }

    @Test
    @DisplayName("GIVEN two producers at ~8,000 events/s WHEN Postgres is stopped long enough to spill and started again THEN every journal row is there once, in each producer's order")
    void stopping_and_starting_postgres_under_load_loses_and_duplicates_nothing() throws Exception {
        TestPostgres.Control pg = TestPostgres.control();
        JsonObject section = StoreTestKit.storeSection(db.url, spill)
                .put("queue_capacity", 2_000).put("batch_size", 500).put("connect_timeout", "1s");
        store = TestDatabase.await(PersistenceService.start(vertx, section));
        Producer p1 = new Producer(1, store);
        Producer p2 = new Producer(2, store);
        boolean pgStopped = false;
        try (StoreTestKit.LogCapture log = new StoreTestKit.LogCapture()) {
            p1.start();
            p2.start();
            waitUntil(30_000, "some events written", () -> store.status().getLong("events_written") > 2_000);

            pg.stop();
            pgStopped = true;
            waitUntil(30_000, "the store notices", () -> !store.status().getBoolean("connected"));
            waitUntil(60_000, "events spilled to disk", () -> store.status().getLong("spilled_bytes") > 0
                    && store.status().getLong("spilled_events") > 4_000);
            JsonObject during = store.status();
            assertTrue(during.getLong("lag_events") > 4_000, during.encode());
            assertTrue(during.getLong("lag_ms") > 0, during.encode());
            assertTrue(during.getString("last_error") != null, during.encode());

            pg.start();
            pgStopped = false;
            Thread.sleep(500); // produce a little more while the store reconnects
            p1.run.set(false);
            p2.run.set(false);
            p1.join(10_000);
            p2.join(10_000);
            assertFalse(p1.isAlive() || p2.isAlive());

            waitUntil(120_000, "the store catches up", () -> store.status().getLong("lag_events") == 0);
            TestDatabase.await(store.flush());
            assertTrue(log.has("ERROR", "writing to Postgres"), log.dump());
            assertTrue(log.has("WARN", "spilled to"), log.dump());
            assertTrue(log.has("INFO", "connected to", "again"), log.dump());
        } finally {
            p1.run.set(false);
            p2.run.set(false);
            if (pgStopped) {
                pg.start();
            }
        }

        db.resetPool();
        List<Row> rows = db.rows("SELECT kind, lease_id, run_id, seq FROM usage_journal ORDER BY id");
        long expected = p1.journaled.size() + p2.journaled.size();
        assertEquals(expected, rows.size(), "every journal event exactly once");
        assertEquals(expected, db.count("SELECT count(DISTINCT (run_id, seq)) FROM usage_journal"));
        Map<Integer, List<String>> seen = new HashMap<>();
        long lastSeq = -1;
        for (Row r : rows) {
            assertTrue(r.getLong("seq") > lastSeq, "rows were written in queue order");
            lastSeq = r.getLong("seq");
        }
        // per producer, the journal holds exactly its events in its order
        Map<UUID, Integer> owner = new HashMap<>();
        for (String s : p1.journaled) {
            owner.put(UUID.fromString(s.substring(s.indexOf(' ') + 1)), 1);
        }
        for (String s : p2.journaled) {
            owner.put(UUID.fromString(s.substring(s.indexOf(' ') + 1)), 2);
        }
        for (Row r : rows) {
            int who = owner.get(r.getUUID("lease_id"));
            seen.computeIfAbsent(who, k -> new ArrayList<>()).add(r.getString("kind") + " " + r.getUUID("lease_id"));
        }
        assertEquals(p1.journaled, seen.get(1));
        assertEquals(p2.journaled, seen.get(2));
        assertEquals(0, db.count("SELECT count(*) FROM leases WHERE released_at IS NULL"), "every checkin landed");
        JsonObject after = store.status();
        assertEquals(0, after.getLong("spilled_bytes"), after.encode());
        assertEquals(0, after.getLong("dropped_events"), after.encode());
    }

    @Test
    @DisplayName("GIVEN a running store WHEN its database is dropped and created again THEN it says so, keeps taking events, and writes what it held into the new database")
    void a_database_that_disappears_is_survived() throws Exception {
        JsonObject section = StoreTestKit.storeSection(db.url, spill).put("connect_timeout", "1s");
        store = TestDatabase.await(PersistenceService.start(vertx, section));
        try (StoreTestKit.LogCapture log = new StoreTestKit.LogCapture()) {
            store.journal(StoreTestKit.denial(System.currentTimeMillis(), 1));
            TestDatabase.await(store.flush());
            db.resetPool();
            String name = db.name;
            // drop it from under the store (WITH FORCE ends the store's connections)
            try (TestDatabase other = TestDatabase.create(vertx)) {
                other.execute("DROP DATABASE " + name + " WITH (FORCE)");
                for (int i = 0; i < 100; i++) {
                    store.journal(StoreTestKit.denial(System.currentTimeMillis(), i));
                }
                waitUntil(30_000, "the store notices", () -> !store.status().getBoolean("connected"));
                assertTrue(store.status().getLong("lag_events") >= 100);
                waitUntil(30_000, "a log line naming the cause",
                        () -> log.has("ERROR", "does not exist") || log.has("ERROR", "3D000"));
                other.execute("CREATE DATABASE " + name);
            }
            waitUntil(60_000, "the store writes into the new database",
                    () -> store.status().getLong("lag_events") == 0);
        }
        assertEquals(100, db.count("SELECT count(*) FROM usage_journal"));
    }
}
