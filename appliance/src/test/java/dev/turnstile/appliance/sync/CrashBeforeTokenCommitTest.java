package dev.turnstile.appliance.sync;

import static dev.turnstile.appliance.sync.SyncFixture.entitlement;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.seat.CheckoutCommand;
import dev.turnstile.appliance.seat.CheckoutOutcome;
import dev.turnstile.appliance.seat.ClientRef;
import dev.turnstile.appliance.seat.PoolView;
import dev.turnstile.protocol.Enforcement;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * "The new token is stored only after every change of the batch is applied, so a crash mid-sync
 * repeats the batch and never skips one (applying a batch twice must be harmless)." The process
 * "dies" right after the changes are applied and saved, before the token is committed; a new
 * process on the same state (files, or Postgres) must ask again with the old token, get the same
 * batch, and apply it a second time without changing anything.
 */
class CrashBeforeTokenCommitTest {

    /** A store that fails the token commit once, as a process killed at that instant would, and then nothing more. */
    static final class CrashingStore implements SyncStore {
        private final SyncStore inner;
        volatile boolean armed;
        volatile boolean dead;

        CrashingStore(SyncStore inner) {
            this.inner = inner;
        }

        private <T> Future<T> deadOr(Future<T> f) {
            return dead ? Future.failedFuture(new IOException("the process is dead")) : f;
        }

        @Override
        public Future<SyncState> load() {
            return deadOr(inner.load());
        }

        @Override
        public Future<Void> saveState(SyncState state) {
            return dead ? Future.failedFuture(new IOException("the process is dead")) : inner.saveState(state);
        }

        @Override
        public Future<Void> commitToken(String token, long syncAtMs) {
            if (armed) {
                dead = true;
                return Future.failedFuture(new IOException("simulated crash between saving the changes and committing the token"));
            }
            return deadOr(inner.commitToken(token, syncAtMs));
        }

        @Override
        public Future<Void> appendAudit(AuditRecord record) {
            return dead ? Future.succeededFuture() : inner.appendAudit(record);
        }

        @Override
        public Future<List<AuditRecord>> recentAudit(int limit) {
            return inner.recentAudit(limit);
        }

        @Override
        public String describe() {
            return "crashing " + inner.describe();
        }

        @Override
        public Future<Void> close() {
            return inner.close();
        }
    }

    private static Map<String, String> pools(ServiceRig rig) {
        Map<String, String> m = new TreeMap<>();
        for (PoolView p : rig.ledger.pools()) {
            m.put(p.entitlementId(), p.productId() + "/" + p.maxSeats() + "/" + p.endsAt());
        }
        return m;
    }

    @ParameterizedTest(name = "state in {0}")
    @ValueSource(strings = {"files", "postgres"})
    void a_crash_between_applying_and_storing_the_token_repeats_the_batch_harmlessly(String storeKind) throws Exception {
        try (SyncFixture f = new SyncFixture("plant-crash-" + storeKind, Instant.parse("2027-03-01T00:00:00Z"))) {
            f.startCloud();
            f.cloud.put(entitlement("ent-cad", "cad-pro", 3)).put(entitlement("ent-sim", "sim-suite", 2));
            JsonObject tree = f.config();
            SyncTestPostgres pg = storeKind.equals("postgres") ? SyncTestPostgres.create(f.vertx) : null;
            try {
                // GIVEN an appliance that synced once
                CrashingStore crashing = new CrashingStore(store(f, pg));
                ServiceRig first = ServiceRig.start(f, tree, crashing);
                assertEquals("success", first.syncNow().outcome());
                String tokenBefore = first.state().lastSyncToken;
                assertNotNull(tokenBefore);

                // WHEN the cloud sends creates, an update and a delete, and the process dies after applying them
                f.cloud.put(entitlement("ent-new", "new-product", 4))
                        .patch("ent-cad", new JsonObject().put("policy", new JsonObject().put("max_seats", 5)))
                        .remove("ent-sim");
                crashing.armed = true;
                AuditRecord crashed = first.syncNow();
                assertEquals("store_failed", crashed.outcome());
                Map<String, String> applied = pools(first);
                assertEquals(Map.of("ent-cad", "cad-pro/5/2036-01-01T00:00:00Z", "ent-new", "new-product/4/2036-01-01T00:00:00Z"),
                        applied);
                first.close();

                // THEN a new process on the same state has the changes but the old token ...
                ServiceRig second = ServiceRig.start(f, tree, store(f, pg));
                try {
                    assertEquals(tokenBefore, second.state().lastSyncToken, "the token was not committed");
                    assertEquals(applied, pools(second), "the saved changes are served after the restart");
                    CheckoutOutcome held = second.ledger.checkout(new CheckoutCommand(new ClientRef(1, "c", "hw", "127.0.0.1"),
                            1, "cad-pro", "", 1, Enforcement.SEATS.code(), false, 0, null, UUID.randomUUID(), f.clock.millis()));
                    assertInstanceOf(CheckoutOutcome.Granted.class, held);

                    // ... asks again with it, gets the same batch, and applying it twice changes nothing
                    int calls = f.cloud.requestCount();
                    AuditRecord again = second.syncNow();
                    assertEquals("success", again.outcome());
                    assertEquals(tokenBefore, f.cloud.requests().get(calls).lastSyncToken(), "the batch is asked for again");
                    assertEquals(0, again.created() + again.updated() + again.deleted(), "the repeated batch changes nothing");
                    assertEquals(applied, pools(second));
                    assertEquals(1, second.ledger.leaseCount(), "no lease is disturbed by the repeat");
                    assertTrue(second.endedReasons.isEmpty(), "no lease ended: " + second.endedReasons);
                    assertEquals(f.cloud.currentToken(), second.state().lastSyncToken);
                    assertNotEquals(tokenBefore, second.state().lastSyncToken);
                } finally {
                    second.close();
                }
            } finally {
                if (pg != null) {
                    pg.close();
                }
            }
        }
    }

    private static SyncStore store(SyncFixture f, SyncTestPostgres pg) {
        return pg == null ? new FileSyncStore(f.vertx, f.dir) : new PgSyncStore(f.vertx, pg.storeConfig());
    }
}
