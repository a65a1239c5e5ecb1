package dev.turnstile.appliance.store;

import static dev.turnstile.appliance.store.StoreTestKit.checkin;
import static dev.turnstile.appliance.store.StoreTestKit.checkout;
import static dev.turnstile.appliance.store.StoreTestKit.waitUntil;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Context;
import io.vertx.core.Promise;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.time.Instant;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** store.write_timeout: a batch Postgres never answers is given up, held, and written once it answers. */
class WriteTimeoutTest extends PostgresStoreTestBase {
    private static final long T0 = Instant.parse("2026-12-07T11:00:00Z").toEpochMilli();
    private OutageProxy proxy;

    @AfterEach
    void closeProxy() throws Exception {
        if (proxy != null) {
            proxy.heal();
            if (store != null) {
                TestDatabase.await(store.stop());
                store = null;
            }
            proxy.close();
        }
    }

    @Test
    @DisplayName("GIVEN a Postgres that stops answering (connections open, nothing comes back) WHEN a batch takes longer than store.write_timeout THEN the store drops the connection, holds the events and says why; once Postgres answers again every event is written once, and the writer still works on its own context")
    void a_batch_postgres_never_answers_is_given_up_after_the_write_timeout_and_written_once_it_answers()
            throws Exception {
        URI pg = URI.create(db.url);
        proxy = new OutageProxy(pg.getHost(), pg.getPort() > 0 ? pg.getPort() : 5432);
        String viaProxy = pg.getScheme() + "://" + pg.getRawUserInfo() + "@127.0.0.1:" + proxy.port() + pg.getRawPath();
        store = TestDatabase.await(PersistenceService.start(vertx, StoreTestKit.storeSection(viaProxy, spill)
                .put("write_timeout", "500ms").put("connect_timeout", "500ms")));
        UUID a = UUID.randomUUID();
        store.journal(checkout(a, T0, 1));
        store.journal(checkin(a, T0 + 5, 1));
        TestDatabase.await(store.flush());
        assertEquals(2, db.count("SELECT count(*) FROM usage_journal"));

        proxy.hang();
        UUID b = UUID.randomUUID();
        store.journal(checkout(b, T0 + 10, 2));
        store.journal(checkin(b, T0 + 15, 2));
        waitUntil(15_000, "the store gives the batch up after its write timeout", () -> {
            JsonObject s = store.status();
            return !s.getBoolean("connected") && s.getString("last_error", "").contains("(timeout)");
        });
        assertEquals(2, store.status().getLong("lag_events"), "both events are held");

        proxy.heal();
        Promise<String> where = Promise.promise();
        store.flush().onComplete(ar -> where.complete((ar.succeeded() ? "" : "failed ") + Context.isOnWorkerThread()
                + " " + Thread.currentThread().getName()));
        String w = TestDatabase.await(where.future());
        assertTrue(w.startsWith("true turnstile-store-writer-"), w);
        assertEquals(2, db.count("SELECT count(*) FROM usage_journal WHERE lease_id = $1", b), "each event once");
        assertEquals(4, db.count("SELECT count(*) FROM usage_journal"));
        assertEquals(0, store.status().getLong("lag_events"));
    }
}
