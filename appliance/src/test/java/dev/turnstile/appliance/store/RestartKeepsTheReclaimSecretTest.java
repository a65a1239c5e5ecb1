package dev.turnstile.appliance.store;

import static dev.turnstile.appliance.store.StoreTestKit.waitUntil;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.Appliance;
import dev.turnstile.appliance.seat.SecretHash;
import dev.turnstile.appliance.testing.RawClient;
import dev.turnstile.appliance.testing.TestAppliances;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Message;
import dev.turnstile.protocol.Preamble;
import dev.turnstile.protocol.Secrets;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Protocol 1.1 across a restart, with a real PostgreSQL: the leases table keeps SHA-256 of each lease's reclaim
 * secret (never the secret), restart recovery loads it, and only the holder's secret takes the lease back.
 */
class RestartKeepsTheReclaimSecretTest {
    private Vertx dbVertx;
    private TestDatabase db;
    private Vertx vertx;
    private Appliance appliance;
    @TempDir
    Path spill;

    @BeforeEach
    void setUp() throws Exception {
        dbVertx = Vertx.vertx();
        db = TestDatabase.create(dbVertx);
    }

    @AfterEach
    void tearDown() throws Exception {
        stopAppliance();
        db.close();
        TestDatabase.await(dbVertx.close());
    }

    private void startAppliance() throws Exception {
        JsonObject c = TestAppliances.config("restart-secret", 2);
        c.getJsonObject("server").put("reclaim_grace", "60s").put("lease_timeout", "30s")
                .put("heartbeat_interval", "10s").put("hello_timeout", "10s");
        c.put("store", new JsonObject().put("url", db.url).put("flush_interval", "100ms")
                .put("spill_dir", spill.toString()));
        vertx = Vertx.vertx();
        appliance = TestDatabase.await(Appliance.start(vertx, c));
    }

    private void stopAppliance() throws Exception {
        if (appliance != null) {
            TestDatabase.await(appliance.shutdown());
            appliance = null;
        }
        if (vertx != null) {
            TestDatabase.await(vertx.close());
            vertx = null;
        }
    }

    @Test
    @DisplayName("GIVEN a 1.1 lease WHEN the appliance restarts THEN its secret still takes it back, a wrong one does not, "
            + "and the database holds only the secret's SHA-256")
    void the_reclaim_secret_survives_an_appliance_restart() throws Exception {
        startAppliance();
        RawClient holder = RawClient.session(appliance.tcpPort(), "press-7", "hw-press-7", Preamble.VERSION_1_1, "");
        Message.Granted g = (Message.Granted) holder.request(holder.checkout("cad-pro", 1)).message();
        byte[] secret = g.reclaimSecret();
        UUID lease = g.leaseId();
        waitUntil(20_000, "the lease row with its secret hash", () -> {
            try {
                return db.count("SELECT count(*) FROM leases WHERE lease_id = $1 AND reclaim_secret_hash IS NOT NULL",
                        lease) == 1;
            } catch (Exception e) {
                return false;
            }
        });
        Row row = db.rows("SELECT reclaim_secret_hash FROM leases WHERE lease_id = $1", lease).get(0);
        assertArrayEquals(SecretHash.of(secret).bytes(), row.getBuffer(0).getBytes(), "SHA-256 of the secret");
        holder.close();
        stopAppliance();

        // WHEN
        startAppliance();

        // THEN
        try (RawClient stranger = RawClient.session(appliance.tcpPort(), "press-7", "hw-press-7", Preamble.VERSION_1_1, "");
             RawClient v1 = RawClient.session(appliance.tcpPort(), "press-7", "hw-press-7")) {
            assertEquals(ErrorCode.RECLAIM_SECRET_MISMATCH, assertInstanceOf(Message.Denied.class,
                    stranger.request(stranger.reclaim("cad-pro", lease, Secrets.fresh())).message()).errorCode());
            assertEquals(ErrorCode.RECLAIM_SECRET_MISMATCH, assertInstanceOf(Message.Denied.class,
                    v1.request(v1.reclaim("cad-pro", lease)).message()).errorCode());
        }
        try (RawClient again = RawClient.session(appliance.tcpPort(), "press-7", "hw-press-7", Preamble.VERSION_1_1, "")) {
            Message.Granted r = assertInstanceOf(Message.Granted.class,
                    again.request(again.reclaim("cad-pro", lease, secret)).message());
            assertTrue(r.reclaimed());
            assertEquals(lease, r.leaseId());
            assertArrayEquals(secret, r.reclaimSecret());
        }
        // the secret itself is nowhere in the database, nor its hash in the journal
        String secretHex = HexFormat.of().formatHex(secret);
        String hashHex = HexFormat.of().formatHex(SecretHash.of(secret).bytes());
        List<Row> journal = db.rows("SELECT usage_journal::text FROM usage_journal");
        assertFalse(journal.isEmpty());
        for (Row j : journal) {
            assertFalse(j.getString(0).contains(secretHex) || j.getString(0).contains(hashHex), j.getString(0));
        }
        for (Row l : db.rows("SELECT leases::text FROM leases")) {
            assertFalse(l.getString(0).contains(secretHex), l.getString(0));
        }
    }

    @Test
    @DisplayName("GIVEN a lease row written before V102 (no hash) WHEN the appliance restarts THEN it is restored without a "
            + "secret and legacy_reclaim (refuse) decides")
    void a_lease_stored_without_a_hash_is_restored_as_a_1_0_lease() throws Exception {
        startAppliance();
        RawClient old = RawClient.session(appliance.tcpPort(), "lathe-1", "hw-lathe-1");
        Message.Granted g = (Message.Granted) old.request(old.checkout("cad-pro", 1)).message();
        assertNull(g.reclaimSecret());
        waitUntil(20_000, "the lease row", () -> {
            try {
                return db.count("SELECT count(*) FROM leases WHERE lease_id = $1", g.leaseId()) == 1;
            } catch (Exception e) {
                return false;
            }
        });
        old.close();
        stopAppliance();
        startAppliance();
        assertNull(appliance.ledger().lease(g.leaseId()).orElseThrow().secretHash());
        try (RawClient again = RawClient.session(appliance.tcpPort(), "lathe-1", "hw-lathe-1")) {
            assertEquals(ErrorCode.RECLAIM_SECRET_MISMATCH, assertInstanceOf(Message.Denied.class,
                    again.request(again.reclaim("cad-pro", g.leaseId())).message()).errorCode());
        }
    }
}
