package dev.turnstile.appliance.sync;

import static dev.turnstile.appliance.sync.SyncFixture.entitlement;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.testing.RawClient;
import dev.turnstile.harness.cloud.FakeCloud;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Message;
import dev.turnstile.protocol.NoticeKind;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The pull sync against the fake cloud over real HTTP, seen through the ledger, the protocol and the admin API. */
class CloudSyncTest {
    private SyncFixture f;

    @BeforeEach
    void setUp() throws Exception {
        f = new SyncFixture("plant-a", Instant.parse("2027-03-01T00:00:00Z"));
        f.startCloud();
        f.cloud.put(entitlement("ent-cad", "cad-pro", 2)).put(entitlement("ent-sim", "sim-suite", 1));
    }

    @AfterEach
    void tearDown() throws Exception {
        f.close();
    }

    @Test
    @DisplayName("GIVEN a cloud with two entitlements and an appliance that never synced WHEN it starts THEN the first "
            + "sync asks with a null token, serves both, installs the license and reports it in the status and the audit")
    void first_sync_from_scratch() throws Exception {
        f.start(c -> { });
        JsonObject s = f.awaitFirstSync();

        FakeCloud.Request first = f.cloud.requests().get(0);
        assertNull(first.lastSyncToken(), "a first sync presents no token");
        assertEquals("Bearer " + SyncFixture.SYNC_TOKEN, first.authorization());
        assertEquals("plant-a", first.localServerId());

        assertEquals("ok", s.getString("status"));
        assertEquals(f.cloud.currentToken(), s.getString("last_sync_token"));
        assertEquals("2027-03-01T00:00:00Z", s.getString("last_sync_at"));
        assertTrue(s.containsKey("next_sync_at"));
        assertEquals(1L, s.getLong("sync_count"));
        assertEquals(0L, s.getLong("conflict_count"));
        assertEquals(0L, s.getLong("error_count"));
        assertEquals("closed", s.getJsonObject("breaker").getString("state"));

        assertEquals(2, f.pool("ent-cad").getInteger("max_seats"));
        assertEquals(1, f.pool("ent-sim").getInteger("max_seats"));
        JsonObject lic = f.licenseStatus();
        assertEquals("valid", lic.getString("state"));
        assertEquals("2027-03-15T00:00:00Z", lic.getString("valid_until"), "14 days from issue by default");
        assertTrue(java.nio.file.Files.exists(f.dir.resolve("license.json")), "the license is kept in license.file");

        JsonArray audit = f.get("/v1/sync/audit").getJsonArray("audit");
        JsonObject row = audit.getJsonObject(0);
        assertEquals("start", row.getString("trigger"));
        assertEquals("success", row.getString("outcome"));
        assertEquals(2, row.getInteger("created"));
        assertNull(row.getValue("token_before"));

        RawClient a = f.client("a");
        assertInstanceOf(Message.Granted.class, a.request(a.checkout("cad-pro", 1)).message());
        Message.Welcome w = f.welcome("w");
        assertEquals(Instant.parse("2027-03-15T00:00:00Z").toEpochMilli(), w.licenseValidUntilMs());
        assertEquals(0, w.flags() & Message.Welcome.FLAG_LICENSE_EXPIRING);
    }

    @Test
    @DisplayName("GIVEN a synced appliance with seats in use WHEN the cloud creates one entitlement, shrinks another below "
            + "its use and extends a third, then deletes one THEN each applies at once: leases kept on shrink, none "
            + "granted until use falls below the maximum, the new end date served, the deleted pool's lease revoked with a notice")
    void creates_partial_updates_and_deletes_are_applied() throws Exception {
        f.start(c -> { });
        f.awaitFirstSync();
        RawClient a = f.client("a");
        RawClient b = f.client("b");
        RawClient s = f.client("s");
        Message.Granted ga = (Message.Granted) a.request(a.checkout("cad-pro", 1)).message();
        Message.Granted gb = (Message.Granted) b.request(b.checkout("cad-pro", 1)).message();
        Message.Granted gs = (Message.Granted) s.request(s.checkout("sim-suite", 1)).message();

        f.cloud.put(entitlement("ent-new", "new-product", 4))
                .patch("ent-cad", new JsonObject().put("policy", new JsonObject().put("max_seats", 1)))
                .patch("ent-sim", new JsonObject().put("ends_at", "2040-01-01T00:00:00Z"));
        JsonObject row = f.syncUntilSuccess();
        assertEquals(1, row.getInteger("created"));
        assertEquals(2, row.getInteger("updated"));
        String sentToken = f.cloud.requests().get(f.cloud.requestCount() - 1).lastSyncToken();
        assertNotNull(sentToken, "later syncs present the last token and get only what changed");

        assertEquals(4, f.pool("ent-new").getInteger("max_seats"));
        assertEquals(1, f.pool("ent-cad").getInteger("max_seats"));
        assertEquals(2L, f.pool("ent-cad").getLong("used"), "shrinking below use keeps the leases");
        assertEquals("2040-01-01T00:00:00Z", f.pool("ent-sim").getString("ends_at"), "a later end applies without a restart");
        RawClient c = f.client("c");
        Message.Denied d = (Message.Denied) c.request(c.checkout("cad-pro", 1)).message();
        assertEquals(ErrorCode.NO_SEATS_AVAILABLE, d.errorCode());
        assertInstanceOf(Message.CheckedIn.class, a.request(new Message.Checkin(ga.leaseId())).message());
        d = (Message.Denied) c.request(c.checkout("cad-pro", 1)).message();
        assertEquals(ErrorCode.NO_SEATS_AVAILABLE, d.errorCode(), "use 1 of max 1: still nothing granted");
        assertInstanceOf(Message.CheckedIn.class, b.request(new Message.Checkin(gb.leaseId())).message());
        assertInstanceOf(Message.Granted.class, c.request(c.checkout("cad-pro", 1)).message(), "use fell below the maximum");

        f.cloud.remove("ent-sim");
        row = f.syncUntilSuccess();
        assertEquals(1, row.getInteger("deleted"));
        assertNull(f.pool("ent-sim"));
        List<Message.Notice> notices = new ArrayList<>();
        Message hb = SyncFixture.request(s, new Message.Heartbeat(List.of(gs.leaseId())), notices);
        assertTrue(notices.stream().anyMatch(n -> n.kind() == NoticeKind.LEASE_REVOKED.code()
                && n.leaseId().equals(gs.leaseId()) && n.code() == ErrorCode.ENTITLEMENT_DELETED.code()),
                "the holder is told its lease was revoked and why: " + notices);
        assertFalse(((Message.HeartbeatResult) hb).results().get(0).errorCode() == ErrorCode.OK);
        d = (Message.Denied) s.request(s.checkout("sim-suite", 1)).message();
        assertEquals(ErrorCode.UNKNOWN_PRODUCT, d.errorCode());

        JsonObject st = f.syncStatus();
        assertEquals(3L, st.getLong("sync_count"));
        assertEquals(f.cloud.currentToken(), st.getString("last_sync_token"));
    }

    @Test
    @DisplayName("GIVEN the admin API WHEN a sync is triggered without the bearer token THEN 401 and no sync; with it THEN a sync runs")
    void triggering_needs_the_token() throws Exception {
        f.start(c -> { });
        f.awaitFirstSync();
        int before = f.cloud.requestCount();
        SyncFixture.Reply r = f.call("POST", "/v1/sync/trigger", null, null);
        assertEquals(401, r.status());
        assertEquals("unauthorized", r.json().getString("code"));
        r = f.call("POST", "/v1/sync/trigger", null, "wrong-token");
        assertEquals(401, r.status());
        assertEquals(before, f.cloud.requestCount());
        r = f.call("POST", "/v1/sync/trigger", null, SyncFixture.API_TOKEN);
        assertEquals(202, r.status());
        f.await("the triggered sync", f::syncStatus, s -> s.getLong("sync_count") >= 2);
        assertTrue(f.cloud.requestCount() > before);
    }
    @Test
    @DisplayName("GIVEN a synced appliance WHEN a client asks for a product it does not know (the cloud may have it) "
            + "THEN an urgent sync runs at once and the retried checkout is granted")
    void an_unknown_product_makes_a_sync_urgent() throws Exception {
        f.start(c -> c.getJsonObject("sync").put("urgent_min_interval", "0s"));
        f.awaitFirstSync();
        f.cloud.put(entitlement("ent-new", "brand-new", 1));
        RawClient c = f.client("c");
        Message.Denied d = (Message.Denied) c.request(c.checkout("brand-new", 1)).message();
        assertEquals(ErrorCode.UNKNOWN_PRODUCT, d.errorCode());
        f.await("the urgent sync", f::syncStatus, x -> x.getLong("sync_count") >= 2);
        JsonObject row = f.get("/v1/sync/audit?limit=1").getJsonArray("audit").getJsonObject(0);
        assertTrue(row.getString("trigger").startsWith("urgent:"), row.encode());
        assertInstanceOf(Message.Granted.class, c.request(c.checkout("brand-new", 1)).message());
    }

    @Test
    @DisplayName("GIVEN schedule.interval 1s WHEN time passes THEN syncs run on their own and next_sync_at says when")
    void the_schedule_runs_syncs() throws Exception {
        f.start(c -> c.getJsonObject("sync").put("schedule", new JsonObject().put("enabled", true).put("interval", "1s")));
        JsonObject s = f.await("two scheduled syncs", f::syncStatus, x -> x.getLong("sync_count") >= 3);
        assertNotNull(s.getString("next_sync_at"));
        JsonArray audit = f.get("/v1/sync/audit?limit=5").getJsonArray("audit");
        assertTrue(audit.stream().anyMatch(r -> "schedule".equals(((JsonObject) r).getString("trigger"))), audit.encode());
    }
    @Test
    @DisplayName("GIVEN a held lease WHEN the cloud moves its entitlement's end into the past THEN the lease is revoked "
            + "with a notice giving entitlementEnded, and new checkouts get entitlementNotActive")
    void an_ended_entitlement_revokes_its_leases() throws Exception {
        f.start(c -> { });
        f.awaitFirstSync();
        RawClient a = f.client("a");
        Message.Granted g = (Message.Granted) a.request(a.checkout("cad-pro", 1)).message();
        f.cloud.patch("ent-cad", new JsonObject().put("ends_at", "2027-02-01T00:00:00Z"));
        f.syncUntilSuccess();
        List<Message.Notice> notices = new ArrayList<>();
        Message.HeartbeatResult hb = (Message.HeartbeatResult) SyncFixture.request(a,
                new Message.Heartbeat(List.of(g.leaseId())), notices);
        assertTrue(notices.stream().anyMatch(n -> n.kind() == NoticeKind.LEASE_REVOKED.code()
                && n.code() == ErrorCode.ENTITLEMENT_ENDED.code()), notices.toString());
        assertFalse(hb.results().get(0).errorCode() == ErrorCode.OK);
        Message.Denied d = (Message.Denied) a.request(a.checkout("cad-pro", 1)).message();
        assertEquals(ErrorCode.ENTITLEMENT_NOT_ACTIVE, d.errorCode());
    }
}
