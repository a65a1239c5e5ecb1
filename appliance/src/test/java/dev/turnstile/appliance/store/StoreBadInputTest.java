package dev.turnstile.appliance.store;

import static dev.turnstile.appliance.store.StoreTestKit.waitUntil;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.seat.CheckoutCommand;
import dev.turnstile.appliance.seat.CheckoutOutcome;
import dev.turnstile.appliance.seat.ClientRef;
import dev.turnstile.appliance.seat.ConcurrentLedger;
import dev.turnstile.appliance.seat.Entitlement;
import dev.turnstile.appliance.seat.LedgerEvent;
import dev.turnstile.appliance.seat.LedgerSettings;
import dev.turnstile.protocol.Enforcement;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.testsupport.TestPostgres;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Bad input to the store (issue 3): an unparsable URL, wrong credentials, a row Postgres refuses.
 * Each gives a clear log line naming the cause, loses nothing else, and the ledger keeps granting.
 */
class StoreBadInputTest extends PostgresStoreTestBase {
    private static final long NOW = Instant.parse("2026-11-23T10:00:00Z").toEpochMilli();

    /** A ledger feeding {@code store}, with one pool of 50 seats. */
    private static ConcurrentLedger ledgerOn(PersistenceService store) {
        ConcurrentLedger ledger = new ConcurrentLedger(LedgerSettings.defaults(), store.asLedgerListener());
        ledger.upsertEntitlement(new Entitlement(StoreTestKit.ENT, "acme", StoreTestKit.PRODUCT, Enforcement.SEATS, 50,
                Instant.parse("2026-01-01T00:00:00Z"), Instant.parse("2030-01-01T00:00:00Z")), NOW);
        return ledger;
    }

    /** Checks out {@code n} seats and checks half of them in: every one must be granted. */
    private static void serveSeats(ConcurrentLedger ledger, int n) {
        for (int i = 0; i < n; i++) {
            ClientRef c = new ClientRef(i + 1, "client-" + i, "hw-" + i, "127.0.0.1:4000" + i);
            UUID id = UUID.randomUUID();
            CheckoutOutcome o = ledger.checkout(new CheckoutCommand(c, 1, StoreTestKit.PRODUCT, "", 1,
                    Enforcement.SEATS.code(), false, 0, null, id, NOW + i));
            assertInstanceOf(CheckoutOutcome.Granted.class, o, "seat service goes on: " + o);
            if (i % 2 == 0) {
                assertEquals(ErrorCode.OK, ledger.checkin(c, id, NOW + i));
            }
        }
    }

    @Test
    @DisplayName("GIVEN a database URL that does not parse WHEN the store starts THEN it logs why naming store.url, seats are still granted, and events go to the spill")
    void an_unparsable_url_is_logged_and_seats_are_still_served() throws Exception {
        try (StoreTestKit.LogCapture log = new StoreTestKit.LogCapture()) {
            store = TestDatabase.await(PersistenceService.start(vertx,
                    StoreTestKit.storeSection("postgresql://turnstile@127.0.0.1:notaport/x y", spill)));
            assertTrue(log.has("ERROR", "store.url", "does not parse"), log.dump());
            JsonObject st = store.status();
            assertFalse(st.getBoolean("connected"));
            assertTrue(st.getString("last_error").contains("store.url"), st.encode());

            serveSeats(ledgerOn(store), 40);
            assertTrue(store.status().getLong("lag_events") >= 60, store.status().encode());
            TestDatabase.await(store.stop());
            assertTrue(store.status().getLong("spilled_events") >= 60, "nothing is dropped: " + store.status());
            store = null;
        }
    }

    @Test
    @DisplayName("GIVEN wrong credentials WHEN the store starts THEN it logs that Postgres refused the user, with its SQLSTATE, and seats are still granted")
    void wrong_credentials_are_logged_and_seats_are_still_served() throws Exception {
        try (StoreTestKit.LogCapture log = new StoreTestKit.LogCapture()) {
            store = TestDatabase.await(PersistenceService.start(vertx,
                    StoreTestKit.storeSection(TestPostgres.withPassword(db.url, "not-the-password"), spill)));
            assertTrue(log.has("ERROR", "refused the credentials of user", "28P01"), log.dump());
            assertTrue(log.has("ERROR", "store.password"), "the line says what to check: " + log.dump());
            assertFalse(log.dump().contains("not-the-password"), "the password is never logged");
            assertFalse(store.status().getBoolean("connected"));
            assertFalse(store.status().encode().contains("not-the-password"));

            serveSeats(ledgerOn(store), 20);
            assertTrue(store.status().getLong("lag_events") >= 30);
        }
    }

    @Test
    @DisplayName("GIVEN a batch with one row that violates a constraint WHEN written THEN that event is parked with the constraint's name and the rest of the batch is written")
    void a_constraint_violation_parks_the_row_and_keeps_the_rest() throws Exception {
        store = TestDatabase.await(PersistenceService.start(vertx, StoreTestKit.storeSection(db.url, spill)
                .put("flush_interval", "30s")));
        UUID a = UUID.randomUUID();
        UUID bad = UUID.randomUUID();
        UUID c = UUID.randomUUID();
        try (StoreTestKit.LogCapture log = new StoreTestKit.LogCapture()) {
            store.journal(StoreTestKit.checkout(a, NOW, 1));
            store.journal(new LedgerEvent(LedgerEvent.Kind.CHECKOUT, NOW + 1, bad, StoreTestKit.ENT,
                    StoreTestKit.PRODUCT, 2, "client-2", "hw-2", 0, ErrorCode.OK, 1, 1)); // quantity 0
            store.journal(StoreTestKit.checkin(a, NOW + 2, 1));
            store.journal(StoreTestKit.checkout(c, NOW + 3, 3));
            TestDatabase.await(store.flush());
            assertTrue(log.has("ERROR", "refused event", "leases_quantity_positive", "parked"), log.dump());
        }
        assertEquals(List.of("checkout", "checkin", "checkout"), db.rows("SELECT kind FROM usage_journal ORDER BY id")
                .stream().map(r -> r.getString(0)).toList());
        assertEquals(0, db.count("SELECT count(*) FROM leases WHERE lease_id = $1", bad));
        assertEquals(1, store.status().getLong("parked_events"));
        assertEquals(0, store.status().getLong("lag_events"));
        String parked = Files.readString(spill.resolve("parked.jsonl"));
        assertTrue(parked.contains(bad.toString()) && parked.contains("leases_quantity_positive"), parked);
    }

    @Test
    @DisplayName("GIVEN a store section with bad values WHEN bound THEN the start fails naming each key")
    void bad_values_fail_the_start_naming_their_keys() {
        Exception e = org.junit.jupiter.api.Assertions.assertThrows(Exception.class, () -> TestDatabase.await(
                PersistenceService.start(vertx, new JsonObject().put("url", db.url).put("batch_size", "lots")
                        .put("write_mode", "sometimes").put("flush_interval", "soon"))));
        String m = e.getMessage();
        assertTrue(m.contains("store.batch_size") && m.contains("store.write_mode") && m.contains("store.flush_interval"),
                m);
    }
}
