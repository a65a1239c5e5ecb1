package dev.turnstile.appliance.store;

import static dev.turnstile.appliance.store.StoreTestKit.checkin;
import static dev.turnstile.appliance.store.StoreTestKit.checkout;
import static dev.turnstile.appliance.store.StoreTestKit.denial;
import static dev.turnstile.appliance.store.StoreTestKit.heartbeat;
import static dev.turnstile.appliance.store.StoreTestKit.waitUntil;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.seat.Entitlement;
import dev.turnstile.appliance.seat.LeaseState;
import dev.turnstile.appliance.seat.LeaseView;
import dev.turnstile.appliance.seat.LedgerEvent;
import dev.turnstile.protocol.Enforcement;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The write-behind pipeline against a real PostgreSQL, one fresh database per test. */
class WriteBehindTest extends PostgresStoreTestBase {
    private static final long T0 = Instant.parse("2026-11-23T10:00:00Z").toEpochMilli();


    private PersistenceService start(Function<JsonObject, JsonObject> tweak) throws Exception {
        store = TestDatabase.await(PersistenceService.start(vertx,
                tweak.apply(StoreTestKit.storeSection(db.url, spill))));
        return store;
    }

    @Test
    @DisplayName("GIVEN ledger events WHEN they are flushed THEN each one but heartbeats is one journal row, in order, with its event key")
    void every_event_but_heartbeats_is_one_journal_row_in_order() throws Exception {
        start(c -> c);
        UUID a = UUID.randomUUID();
        UUID b = UUID.randomUUID();
        List<LedgerEvent> events = List.of(checkout(a, T0, 1), heartbeat(a, T0 + 10, 1), denial(T0 + 20, 2),
                checkout(b, T0 + 30, 2), heartbeat(a, T0 + 40, 1), checkin(a, T0 + 50, 1),
                new LedgerEvent(LedgerEvent.Kind.EXPIRY, T0 + 60, b, StoreTestKit.ENT, StoreTestKit.PRODUCT, 2,
                        "client-2", "hw-2", 1, dev.turnstile.protocol.ErrorCode.LICENSE_CHECKOUT_EXPIRED, 0, 1));
        events.forEach(store::journal);
        TestDatabase.await(store.flush());

        List<Row> rows = db.rows("SELECT run_id, seq, kind, lease_id, reason, at FROM usage_journal ORDER BY id");
        assertEquals(List.of("checkout", "denial", "checkout", "checkin", "expiry"),
                rows.stream().map(r -> r.getString("kind")).collect(Collectors.toList()));
        assertEquals(1, rows.stream().map(r -> r.getUUID("run_id")).distinct().count(), "one run");
        for (int i = 1; i < rows.size(); i++) {
            assertTrue(rows.get(i).getLong("seq") > rows.get(i - 1).getLong("seq"), "seq follows the queue");
        }
        assertEquals("licenseCheckoutExpired", rows.get(4).getString("reason"));
        assertEquals(T0 + 50, rows.get(3).getOffsetDateTime("at").toInstant().toEpochMilli());
        assertEquals(2, db.count("SELECT count(*) FROM leases WHERE released_at IS NOT NULL"));
        assertEquals("licenseCheckoutExpired",
                db.rows("SELECT release_reason FROM leases WHERE lease_id = $1", b).get(0).getString(0));
        assertEquals(0, store.status().getLong("lag_events"));
    }

    @Test
    @DisplayName("GIVEN many heartbeats of two leases in one batch WHEN written THEN each lease gets one last_heartbeat update holding the latest time")
    void heartbeats_of_a_lease_in_one_batch_become_one_update() throws Exception {
        start(c -> c.put("flush_interval", "30s").put("batch_size", 1_000));
        UUID a = UUID.randomUUID();
        UUID b = UUID.randomUUID();
        store.journal(checkout(a, T0, 1));
        store.journal(checkout(b, T0, 2));
        TestDatabase.await(store.flush());
        long updatesBefore = store.status().getLong("heartbeat_updates");
        for (int i = 1; i <= 200; i++) {
            store.journal(heartbeat(a, T0 + i * 1_000L, 1));
            if (i <= 50) {
                store.journal(heartbeat(b, T0 + i * 1_000L, 2));
            }
        }
        TestDatabase.await(store.flush());

        JsonObject st = store.status();
        assertEquals(250, st.getLong("heartbeats_received"));
        assertEquals(2, st.getLong("heartbeat_updates") - updatesBefore, "one update per lease: " + st);
        assertEquals(T0 + 200_000, db.rows("SELECT last_heartbeat FROM leases WHERE lease_id = $1", a).get(0)
                .getOffsetDateTime(0).toInstant().toEpochMilli());
        assertEquals(T0 + 50_000, db.rows("SELECT last_heartbeat FROM leases WHERE lease_id = $1", b).get(0)
                .getOffsetDateTime(0).toInstant().toEpochMilli());
        assertEquals(0, db.count("SELECT count(*) FROM usage_journal WHERE kind = 'heartbeat'"));
    }

    @Test
    @DisplayName("GIVEN a checkout and its checkin in one batch WHEN written THEN both reach the journal and the lease row is released")
    void a_checkout_and_its_checkin_in_one_batch_both_reach_the_journal() throws Exception {
        start(c -> c.put("flush_interval", "30s"));
        UUID a = UUID.randomUUID();
        store.journal(checkout(a, T0, 1));
        store.journal(heartbeat(a, T0 + 500, 1));
        store.journal(checkin(a, T0 + 900, 1));
        TestDatabase.await(store.flush());

        assertEquals(2, db.count("SELECT count(*) FROM usage_journal WHERE lease_id = $1", a));
        Row lease = db.rows("SELECT checked_out_at, last_heartbeat, released_at, release_reason FROM leases").get(0);
        assertEquals(T0, lease.getOffsetDateTime("checked_out_at").toInstant().toEpochMilli());
        assertEquals(T0 + 500, lease.getOffsetDateTime("last_heartbeat").toInstant().toEpochMilli());
        assertEquals(T0 + 900, lease.getOffsetDateTime("released_at").toInstant().toEpochMilli());
        assertEquals("checkedIn", lease.getString("release_reason"));
        assertEquals(1, store.status().getLong("batches_written"), "one transaction");
    }

    @Test
    @DisplayName("GIVEN a long flush interval WHEN batch_size events wait THEN they are written without waiting for the interval")
    void a_full_batch_is_written_before_the_flush_interval() throws Exception {
        start(c -> c.put("flush_interval", "60s").put("batch_size", 100));
        for (int i = 0; i < 100; i++) {
            store.journal(denial(T0 + i, i));
        }
        waitUntil(20_000, "100 events written", () -> store.status().getLong("events_written") == 100);
        assertEquals(100, db.count("SELECT count(*) FROM usage_journal"));
        // AND fewer than a batch waits for the interval (or a flush)
        for (int i = 0; i < 10; i++) {
            store.journal(denial(T0 + 1_000 + i, i));
        }
        Thread.sleep(300); // the behaviour under test: time passes below the interval and nothing is written
        assertEquals(100, store.status().getLong("events_written"));
        TestDatabase.await(store.flush());
        assertEquals(110, db.count("SELECT count(*) FROM usage_journal"));
    }

    @Test
    @DisplayName("GIVEN events waiting for a long flush interval WHEN the store stops THEN every one is written first")
    void a_clean_stop_writes_everything_held() throws Exception {
        start(c -> c.put("flush_interval", "60s"));
        for (int i = 0; i < 37; i++) {
            store.journal(checkout(UUID.randomUUID(), T0 + i, i));
        }
        TestDatabase.await(store.stop());
        store = null;
        assertEquals(37, db.count("SELECT count(*) FROM usage_journal"));
        assertEquals(37, db.count("SELECT count(*) FROM leases WHERE released_at IS NULL"));
    }

    @Test
    @DisplayName("GIVEN leases held when the store stopped WHEN a new store loads active leases THEN exactly the unreleased ones come back, orphaned, with their identity")
    void active_leases_come_back_after_a_restart() throws Exception {
        start(c -> c);
        UUID a = UUID.randomUUID();
        UUID b = UUID.randomUUID();
        UUID c = UUID.randomUUID();
        store.journal(checkout(a, T0, 1));
        store.journal(checkout(b, T0 + 1, 2));
        store.journal(checkin(b, T0 + 2, 2));
        store.journal(checkout(c, T0 + 3, 3));
        store.journal(heartbeat(c, T0 + 4_000, 3));
        TestDatabase.await(store.stop());

        store = start(x -> x);
        List<LeaseView> active = TestDatabase.await(store.loadActiveLeases());
        Map<UUID, LeaseView> byId = active.stream().collect(Collectors.toMap(LeaseView::leaseId, l -> l));
        assertEquals(java.util.Set.of(a, c), byId.keySet());
        LeaseView lc = byId.get(c);
        assertEquals(StoreTestKit.ENT, lc.entitlementId());
        assertEquals(StoreTestKit.PRODUCT, lc.productId());
        assertEquals("client-3", lc.clientId());
        assertEquals("hw-3", lc.hwId());
        assertEquals(3, lc.sessionId());
        assertEquals(1, lc.quantity());
        assertEquals(T0 + 3, lc.checkedOutAtMs());
        assertEquals(T0 + 4_000, lc.lastHeartbeatMs());
        assertEquals(LeaseState.ORPHANED, lc.state());
    }

    @Test
    @DisplayName("GIVEN the configured entitlements WHEN recorded twice with one left out THEN both are rows and the left-out one is marked removed")
    void entitlements_are_recorded_and_removed_ones_marked() throws Exception {
        start(c -> c);
        Entitlement cad = new Entitlement("ent-cad", "acme", "cad-pro", Enforcement.SEATS, 3,
                Instant.parse("2026-01-01T00:00:00Z"), Instant.parse("2030-01-01T00:00:00Z"));
        Entitlement sim = new Entitlement("ent-sim", "acme", "sim", Enforcement.CHECKOUTS, 2, null, null);
        store.recordEntitlements(List.of(cad, sim));
        TestDatabase.await(store.flush());
        waitUntil(10_000, "entitlements written",
                () -> count("SELECT count(*) FROM entitlements") == 2);
        Row r = db.rows("SELECT tenant_id, product_id, enforcement, max_seats, ends_at FROM entitlements "
                + "WHERE entitlement_id = 'ent-cad'").get(0);
        assertEquals("cad-pro", r.getString("product_id"));
        assertEquals(3, r.getInteger("max_seats"));
        assertEquals("seats", r.getString("enforcement"));

        store.recordEntitlements(List.of(cad));
        waitUntil(10_000, "ent-sim marked removed",
                () -> count("SELECT count(*) FROM entitlements WHERE removed_at IS NOT NULL") == 1);
        assertNull(db.rows("SELECT removed_at FROM entitlements WHERE entitlement_id = 'ent-cad'").get(0)
                .getValue(0));
    }

    private long count(String sql) {
        try {
            return db.count(sql);
        } catch (Exception e) {
            return -1;
        }
    }

    @Test
    @DisplayName("GIVEN pool activity WHEN written THEN pool_snapshots holds one row per pool and period with used, peak and high-water")
    void pool_snapshots_record_use_per_pool_and_period() throws Exception {
        start(c -> c.put("snapshot_interval", "1m"));
        List<UUID> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            UUID id = UUID.randomUUID();
            ids.add(id);
            store.journal(StoreTestKit.event(LedgerEvent.Kind.CHECKOUT, T0 + i, id, i, i + 1));
        }
        store.journal(StoreTestKit.event(LedgerEvent.Kind.CHECKIN, T0 + 10, ids.get(0), 0, 2));
        store.journal(StoreTestKit.event(LedgerEvent.Kind.CHECKIN, T0 + 61_000, ids.get(1), 1, 1));
        TestDatabase.await(store.flush());

        List<Row> rows = db.rows("SELECT period_start, used, peak_used, high_water FROM pool_snapshots "
                + "WHERE entitlement_id = $1 ORDER BY period_start", StoreTestKit.ENT);
        assertEquals(2, rows.size());
        assertEquals(T0, rows.get(0).getOffsetDateTime("period_start").toInstant().toEpochMilli());
        assertEquals(2, rows.get(0).getLong("used"));
        assertEquals(3, rows.get(0).getLong("peak_used"));
        assertEquals(3, rows.get(0).getLong("high_water"));
        assertEquals(1, rows.get(1).getLong("used"));
    }

    @Test
    @DisplayName("GIVEN write_through mode WHEN events arrive THEN each is committed in its own transaction")
    void write_through_commits_every_event_on_its_own() throws Exception {
        start(c -> c.put("write_mode", "write_through"));
        for (int i = 0; i < 5; i++) {
            store.journal(checkout(UUID.randomUUID(), T0 + i, i));
            TestDatabase.await(store.flush());
        }
        assertEquals(5, store.status().getLong("batches_written"));
        assertEquals(5, db.count("SELECT count(*) FROM usage_journal"));
        assertEquals("write_through", store.status().getString("write_mode"));
    }

    @Test
    @DisplayName("GIVEN no store section WHEN the memory-only store is used THEN it keeps nothing and says so")
    void the_memory_only_store_says_so() throws Exception {
        PersistenceService m = PersistenceService.memoryOnly();
        m.journal(checkout(UUID.randomUUID(), T0, 1));
        assertFalse(m.persistent());
        assertEquals("memory-only", m.status().getString("mode"));
        assertTrue(TestDatabase.await(m.loadActiveLeases()).isEmpty());
        assertFalse(PersistenceService.configuredIn(new JsonObject().put("server", new JsonObject())));
        assertTrue(PersistenceService.configuredIn(new JsonObject().put("store", new JsonObject())));
    }
}
