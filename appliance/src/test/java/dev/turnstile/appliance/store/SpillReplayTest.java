package dev.turnstile.appliance.store;

import static dev.turnstile.appliance.store.StoreTestKit.waitUntil;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.testsupport.Ports;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The spill file: filled while Postgres cannot be reached, replayed in order, once, by the next start. */
class SpillReplayTest {
    private static final int EVENTS = 5_000;
    private Vertx vertx;
    private TestDatabase db;
    @TempDir
    Path spill;
    @TempDir
    Path backup;

    @BeforeEach
    void setUp() throws Exception {
        vertx = Vertx.vertx();
        db = TestDatabase.create(vertx);
    }

    @AfterEach
    void tearDown() throws Exception {
        if (db != null) {
            db.close();
        }
        TestDatabase.await(vertx.close());
    }

    private static int closedPort() {
        return Ports.closed();
    }

    private List<Path> spillFiles() throws Exception {
        try (Stream<Path> s = Files.list(spill)) {
            return s.filter(p -> p.getFileName().toString().startsWith("spill-")).sorted().collect(Collectors.toList());
        }
    }

    /** Runs a store that cannot reach Postgres, journals {@link #EVENTS} checkouts, stops it: all are spilled. */
    private List<UUID> spillEvents() throws Exception {
        JsonObject unreachable = StoreTestKit.storeSection("postgresql://turnstile:turnstile@127.0.0.1:" + closedPort()
                + "/nowhere", spill).put("queue_capacity", 1_000).put("batch_size", 500).put("connect_timeout", "1s");
        PersistenceService s = TestDatabase.await(PersistenceService.start(vertx, unreachable));
        assertFalse(s.status().getBoolean("connected"));
        List<UUID> ids = new ArrayList<>();
        long t0 = System.currentTimeMillis();
        for (int i = 0; i < EVENTS; i++) {
            UUID id = UUID.randomUUID();
            ids.add(id);
            s.journal(StoreTestKit.checkout(id, t0 + i, i));
        }
        waitUntil(30_000, "the queue spills past its capacity", () -> s.status().getLong("spilled_events") >= 1_000);
        assertEquals(EVENTS, s.status().getLong("lag_events"));
        TestDatabase.await(s.stop());
        assertEquals(EVENTS, s.status().getLong("spilled_events"), "a stop without Postgres spills the rest");
        assertTrue(s.status().getLong("spilled_bytes") > 0);
        assertFalse(spillFiles().isEmpty());
        return ids;
    }

    private PersistenceService startConnected() throws Exception {
        return TestDatabase.await(PersistenceService.start(vertx, StoreTestKit.storeSection(db.url, spill)));
    }

    @Test
    @DisplayName("GIVEN events spilled while Postgres was unreachable WHEN the store starts with Postgres THEN they are written first, in order, and the spill files are gone")
    void a_spill_is_replayed_in_order_by_the_next_start() throws Exception {
        List<UUID> ids = spillEvents();
        PersistenceService s = startConnected();
        try {
            TestDatabase.await(s.flush());
            waitUntil(30_000, "the spill is written", () -> s.status().getLong("lag_events") == 0);
            List<Row> rows = db.rows("SELECT lease_id FROM usage_journal ORDER BY id");
            assertEquals(ids, rows.stream().map(r -> r.getUUID(0)).collect(Collectors.toList()));
            assertEquals(EVENTS, db.count("SELECT count(*) FROM leases WHERE released_at IS NULL"));
            assertTrue(spillFiles().isEmpty(), "replayed segments are deleted");
            assertEquals(0, s.status().getLong("spilled_bytes"));
        } finally {
            TestDatabase.await(s.stop());
        }
    }

    @Test
    @DisplayName("GIVEN a spill that was already replayed WHEN the same file is replayed again THEN no row is written twice")
    void replaying_the_same_spill_twice_writes_each_row_once() throws Exception {
        spillEvents();
        for (Path p : spillFiles()) {
            Files.copy(p, backup.resolve(p.getFileName()));
        }
        PersistenceService first = startConnected();
        TestDatabase.await(first.flush());
        TestDatabase.await(first.stop());
        assertEquals(EVENTS, db.count("SELECT count(*) FROM usage_journal"));

        try (Stream<Path> s = Files.list(backup)) {
            for (Path p : s.collect(Collectors.toList())) {
                Files.copy(p, spill.resolve(p.getFileName()));
            }
        }
        PersistenceService second = startConnected();
        try {
            TestDatabase.await(second.flush());
            assertEquals(EVENTS, db.count("SELECT count(*) FROM usage_journal"), "the event keys stop duplicates");
            assertTrue(spillFiles().isEmpty());
        } finally {
            TestDatabase.await(second.stop());
        }
    }
}
