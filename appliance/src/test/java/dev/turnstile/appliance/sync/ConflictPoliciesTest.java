package dev.turnstile.appliance.sync;

import static dev.turnstile.appliance.sync.SyncFixture.entitlement;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * An admin edits an entitlement locally (PATCH /v1/entitlements/{id}); the cloud then changes the
 * same entitlement: a conflict, settled by sync.conflict_resolution. One test per policy, over
 * real HTTP against the fake cloud and the appliance's admin API.
 */
class ConflictPoliciesTest {
    private static int serial;
    private SyncFixture f;

    @BeforeEach
    void setUp() throws Exception {
        f = new SyncFixture("plant-c" + (++serial), Instant.parse("2027-03-01T00:00:00Z"));
        f.startCloud();
        f.cloud.put(entitlement("ent-cad", "cad-pro", 3)).put(entitlement("ent-sim", "sim-suite", 2));
    }

    @AfterEach
    void tearDown() throws Exception {
        f.close();
    }

    private void start(String policy) throws Exception {
        f.start(c -> c.getJsonObject("sync").put("conflict_resolution", policy)
                .put("alerts", new JsonObject().put("conflicts", 1)));
        f.awaitFirstSync();
    }

    private boolean conflictAlert() throws Exception {
        return f.syncStatus().getJsonArray("alerts").stream().anyMatch(a -> "conflicts".equals(((JsonObject) a).getString("kind")));
    }

    private SyncFixture.Reply edit(String id, JsonObject body) throws Exception {
        return f.call("PATCH", "/v1/entitlements/" + id, body.encode(), SyncFixture.API_TOKEN);
    }

    private static JsonObject seats(int n) {
        return new JsonObject().put("policy", new JsonObject().put("max_seats", n));
    }

    private JsonArray conflicts(String status) throws Exception {
        return f.get("/v1/sync/conflicts" + (status == null ? "" : "?status=" + status)).getJsonArray("conflicts");
    }

    /** The admin raises ent-cad to 7 seats; the cloud then lowers it to 5. */
    private JsonObject localSevenThenCloudFive() throws Exception {
        SyncFixture.Reply r = edit("ent-cad", seats(7));
        assertEquals(200, r.status(), r.json().encode());
        assertEquals(7, f.pool("ent-cad").getInteger("max_seats"), "a local edit is served at once");
        f.clock.advance(Duration.ofMinutes(1));
        f.cloud.patch("ent-cad", seats(5));
        f.cloud.patch("ent-sim", seats(4)); // not edited locally: no conflict
        f.clock.advance(Duration.ofMinutes(1));
        JsonObject row = f.syncUntilSuccess();
        assertEquals(1, row.getInteger("conflicts"));
        assertEquals(4, f.pool("ent-sim").getInteger("max_seats"), "changes without a local edit apply as usual");
        return row;
    }

    @Test
    @DisplayName("GIVEN cloud_wins WHEN the cloud changes a locally edited entitlement THEN the cloud's value is served, "
            + "the local edit dropped, and the conflict counted and recorded as resolved by the cloud")
    void cloud_wins() throws Exception {
        start("cloud_wins");
        localSevenThenCloudFive();
        assertEquals(5, f.pool("ent-cad").getInteger("max_seats"));
        JsonObject s = f.syncStatus();
        assertEquals(1L, s.getLong("conflict_count"));
        assertEquals(0L, s.getLong("pending_conflicts"));
        JsonObject c = conflicts("all").getJsonObject(0);
        assertEquals("ent-cad", c.getString("entitlement_id"));
        assertEquals("resolved", c.getString("status"));
        assertEquals("cloud", c.getString("resolution"));
        assertEquals("cloud_wins", c.getString("policy"));
        JsonObject e = entitlementView("ent-cad");
        assertNull(e.getValue("local_edit"));
    }

    @Test
    @DisplayName("GIVEN local_wins WHEN the cloud changes a locally edited entitlement THEN the local value stays served, "
            + "the local edit stays, and the conflict is counted and recorded")
    void local_wins() throws Exception {
        start("local_wins");
        localSevenThenCloudFive();
        assertEquals(7, f.pool("ent-cad").getInteger("max_seats"));
        assertEquals(1L, f.syncStatus().getLong("conflict_count"));
        JsonObject c = conflicts("all").getJsonObject(0);
        assertEquals("local", c.getString("resolution"));
        JsonObject e = entitlementView("ent-cad");
        assertEquals(5, e.getJsonObject("cloud").getJsonObject("policy").getInteger("max_seats"), "the cloud's copy is kept");
        assertEquals(7, e.getJsonObject("served").getJsonObject("policy").getInteger("max_seats"));

        SyncFixture.Reply r = f.call("DELETE", "/v1/entitlements/ent-cad/local-edit", null, SyncFixture.API_TOKEN);
        assertEquals(200, r.status(), r.json().encode());
        assertEquals(5, f.pool("ent-cad").getInteger("max_seats"), "reverting the edit serves the cloud's version");
    }

    @Test
    @DisplayName("GIVEN merge WHEN the cloud changes two fields, one edited locally before the cloud's change and one "
            + "after THEN field by field the more recent wins: the cloud's seat count, the local end date")
    void merge_field_by_field() throws Exception {
        start("merge");
        assertEquals(200, edit("ent-cad", seats(7)).status()); // t0: local max_seats
        f.clock.advance(Duration.ofMinutes(10));
        f.cloud.patch("ent-cad", new JsonObject().put("policy", new JsonObject().put("max_seats", 5))
                .put("ends_at", "2031-01-01T00:00:00Z")); // t0+10m: the cloud changes both
        f.clock.advance(Duration.ofMinutes(10));
        assertEquals(200, edit("ent-cad", new JsonObject().put("ends_at", "2033-01-01T00:00:00Z")).status()); // t0+20m
        f.clock.advance(Duration.ofMinutes(10));
        JsonObject row = f.syncUntilSuccess();
        assertEquals(1, row.getInteger("conflicts"));
        JsonObject p = f.pool("ent-cad");
        assertEquals(5, p.getInteger("max_seats"), "the cloud changed max_seats after the local edit");
        assertEquals("2033-01-01T00:00:00Z", p.getString("ends_at"), "the local end date is newer than the cloud's");
        JsonObject c = conflicts("all").getJsonObject(0);
        assertEquals("merged", c.getString("resolution"));
        JsonObject edit = entitlementView("ent-cad").getJsonObject("local_edit").getJsonObject("values");
        assertEquals(new JsonObject().put("ends_at", "2033-01-01T00:00:00Z"), edit, "only the winning local field stays an edit");
    }

    @Test
    @DisplayName("GIVEN manual WHEN the cloud changes a locally edited entitlement THEN nothing is applied, the conflict "
            + "waits in the list, and an admin resolves it through the API (with the token only)")
    void manual_resolution_through_the_api() throws Exception {
        start("manual");
        localSevenThenCloudFive();
        assertEquals(7, f.pool("ent-cad").getInteger("max_seats"), "the cloud change is not applied");
        JsonObject s = f.syncStatus();
        assertEquals(1L, s.getLong("pending_conflicts"));
        assertTrue(conflictAlert(), "alerts.conflicts: 1 pending conflict raises the conflict alert");
        JsonArray pending = conflicts(null);
        assertEquals(1, pending.size());
        JsonObject c = pending.getJsonObject(0);
        assertEquals("pending", c.getString("status"));
        assertEquals(new JsonArray().add("policy.max_seats"), c.getJsonArray("cloud_fields"));
        assertEquals(5, c.getJsonObject("cloud").getJsonObject("policy").getInteger("max_seats"));
        long id = c.getLong("conflict_id");

        String path = "/v1/sync/conflicts/" + id + "/resolve";
        String body = new JsonObject().put("resolution", "cloud").encode();
        assertEquals(401, f.call("POST", path, body, null).status());
        assertEquals(400, f.call("POST", path, new JsonObject().put("resolution", "both").encode(), SyncFixture.API_TOKEN).status());
        SyncFixture.Reply r = f.call("POST", path, body, SyncFixture.API_TOKEN);
        assertEquals(200, r.status(), r.json().encode());
        assertEquals("cloud", r.json().getString("resolution"));
        assertEquals("admin", r.json().getString("resolved_by"));
        assertEquals(5, f.pool("ent-cad").getInteger("max_seats"));
        assertEquals(0, conflicts(null).size());
        assertFalse(conflictAlert(), "resolved: the alert clears");
        assertEquals(409, f.call("POST", path, body, SyncFixture.API_TOKEN).status(), "already resolved");
        assertEquals(404, f.call("POST", "/v1/sync/conflicts/999/resolve", body, SyncFixture.API_TOKEN).status());
    }

    @Test
    @DisplayName("GIVEN the local edit API WHEN the call has no token, names an unknown entitlement, edits a field that "
            + "is not editable or breaks the window THEN 401, 404, 400, 400 and nothing changes")
    void local_edits_are_checked() throws Exception {
        start("cloud_wins");
        assertEquals(401, f.call("PATCH", "/v1/entitlements/ent-cad", seats(9).encode(), null).status());
        assertEquals(404, edit("nope", seats(9)).status());
        SyncFixture.Reply r = edit("ent-cad", new JsonObject().put("product_id", "other"));
        assertEquals(400, r.status());
        assertTrue(r.json().getString("message").contains("product_id cannot be edited locally"), r.json().encode());
        r = edit("ent-cad", new JsonObject().put("ends_at", "2020-01-01T00:00:00Z"));
        assertEquals(400, r.status());
        assertTrue(r.json().getString("message").contains("ends_at"), r.json().encode());
        assertEquals(400, f.call("PATCH", "/v1/entitlements/ent-cad", "{not json", SyncFixture.API_TOKEN).status());
        assertEquals(3, f.pool("ent-cad").getInteger("max_seats"));
    }

    private JsonObject entitlementView(String id) throws Exception {
        for (Object o : f.get("/v1/entitlements").getJsonArray("entitlements")) {
            JsonObject e = (JsonObject) o;
            if (e.getString("entitlement_id").equals(id)) {
                return e;
            }
        }
        throw new AssertionError("no entitlement " + id);
    }
}
