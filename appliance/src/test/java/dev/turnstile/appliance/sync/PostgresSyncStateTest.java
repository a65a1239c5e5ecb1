package dev.turnstile.appliance.sync;

import static dev.turnstile.appliance.sync.SyncFixture.entitlement;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.testing.RawClient;
import dev.turnstile.protocol.Message;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** With a {@code store:} section the sync keeps its state in PostgreSQL (V100__sync.sql) instead of files. */
class PostgresSyncStateTest {

    private static List<String> column(Pool pool, String sql) throws Exception {
        List<String> out = new ArrayList<>();
        for (Row r : pool.query(sql).execute().await(30, TimeUnit.SECONDS)) {
            out.add(String.valueOf(r.getValue(0)));
        }
        return out;
    }

    @Test
    @DisplayName("GIVEN an appliance with a store: section WHEN it syncs and restarts THEN the cloud copy, the served "
            + "entitlements, the token and every attempt are rows in Postgres, and the restart resumes from that token")
    void the_sync_state_lives_in_postgres() throws Exception {
        try (SyncFixture f = new SyncFixture("plant-pg", Instant.parse("2027-03-01T00:00:00Z"))) {
            f.startCloud();
            f.cloud.put(entitlement("ent-cad", "cad-pro", 3)).put(entitlement("ent-sim", "sim-suite", 2));
            try (SyncTestPostgres pg = SyncTestPostgres.create(f.vertx)) {
                JsonObject config = f.config().put("store", pg.storeSection());
                f.start(config);
                JsonObject s = f.awaitFirstSync();
                assertTrue(s.getString("store").startsWith("PostgreSQL"), s.getString("store"));
                f.cloud.remove("ent-sim");
                assertEquals("success", f.syncNow().getString("outcome"));
                Pool pool = pg.pool();
                try {
                    assertEquals(List.of("ent-cad"), column(pool, "SELECT entitlement_id FROM sync_cloud_entitlements"));
                    assertEquals(List.of("ent-cad"), column(pool, "SELECT entitlement_id FROM sync_effective_entitlements"));
                    assertEquals(List.of(f.cloud.currentToken()), column(pool, "SELECT last_sync_token FROM sync_state"));
                    f.await("two audit rows", () -> new JsonObject().put("n",
                            column(pool, "SELECT count(*) FROM sync_audit WHERE outcome = 'success'").get(0)),
                            x -> "2".equals(x.getString("n")));
                    assertEquals(List.of("start", "manual"), column(pool, "SELECT trigger FROM sync_audit ORDER BY id"));
                    f.await("the store's entitlements table to follow the sync", () -> new JsonObject().put("ids",
                            column(pool, "SELECT entitlement_id FROM entitlements WHERE removed_at IS NULL ORDER BY 1").toString()),
                            x -> "[ent-cad]".equals(x.getString("ids")));
                } finally {
                    pool.close().await(10, TimeUnit.SECONDS);
                }

                f.restart(config);
                f.await("the restart sync", f::syncStatus, x -> x.getLong("sync_count") >= 3);
                String presented = f.cloud.requests().get(f.cloud.requestCount() - 1).lastSyncToken();
                assertEquals("v3", presented, "the restart resumes from the token stored in Postgres");
                RawClient c = f.client("c");
                assertInstanceOf(Message.Granted.class, c.request(c.checkout("cad-pro", 1)).message());
            }
        }
    }

    @Test
    @DisplayName("GIVEN a store: section whose database cannot be reached WHEN the appliance starts with a license "
            + "file THEN it starts, serves the license's entitlements, says so in the sync status, and does not sync")
    void an_unreachable_database_does_not_stop_seat_service() throws Exception {
        try (SyncFixture f = new SyncFixture("plant-pg-down", Instant.parse("2027-03-01T00:00:00Z"))) {
            f.startCloud();
            f.cloud.put(entitlement("ent-cad", "cad-pro", 3));
            java.nio.file.Files.writeString(f.dir.resolve("license.json"),
                    f.cloud.licenseFile("plant-pg-down", 14L * 86_400_000L).encodePrettily());
            int closedPort = dev.turnstile.testsupport.Ports.closed();
            JsonObject config = f.config().put("store", new JsonObject()
                    .put("url", "postgresql://turnstile:turnstile@127.0.0.1:" + closedPort + "/nothing")
                    .put("connect_timeout", "300ms")
                    .put("spill_dir", java.nio.file.Files.createTempDirectory("turnstile-spill").toString()));
            f.start(config);
            JsonObject s = f.await("the failed start sync", f::syncStatus, x -> "store_failed".equals(x.getString("status")));
            assertEquals(false, s.getBoolean("store_available"));
            assertTrue(s.getJsonArray("alerts").stream().anyMatch(a -> "store".equals(((JsonObject) a).getString("kind"))));
            assertEquals(3, f.pool("ent-cad").getInteger("max_seats"), "the license's entitlements are served");
            RawClient c = f.client("c");
            assertInstanceOf(Message.Granted.class, c.request(c.checkout("cad-pro", 1)).message());
        }
    }
}
