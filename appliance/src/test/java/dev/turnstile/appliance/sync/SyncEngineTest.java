package dev.turnstile.appliance.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.sync.SyncEngine.LedgerOp;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The batch rules, without a cloud: pure state in, state out. */
class SyncEngineTest {
    private static final long T = 1_000_000;

    private static JsonObject ent(String id, int seats) {
        return SyncFixture.entitlement(id, "p-" + id, seats);
    }

    private static JsonObject create(String id, int seats) {
        return new JsonObject().put("action", "create").put("entitlement", ent(id, seats));
    }

    private static JsonObject update(String id, JsonObject fields) {
        return new JsonObject().put("action", "update").put("entitlement", fields.copy().put("entitlement_id", id));
    }

    private static JsonObject delete(String id) {
        return new JsonObject().put("action", "delete").put("entitlement_id", id);
    }

    private static JsonObject seats(int n) {
        return new JsonObject().put("policy", new JsonObject().put("max_seats", n));
    }

    private static SyncEngine.Result apply(SyncState s, boolean snapshot, ConflictPolicy p, long at, JsonObject... changes)
            throws Exception {
        return SyncEngine.apply(s, Change.parseAll(new JsonArray(List.of((Object[]) changes)), at), snapshot, null, p, at, at);
    }

    private static int seatsOf(SyncState s, String id) {
        return s.effective.get(id).getJsonObject("policy").getInteger("max_seats");
    }

    private static SyncState synced(JsonObject... ents) throws Exception {
        JsonObject[] creates = new JsonObject[ents.length];
        for (int i = 0; i < ents.length; i++) {
            creates[i] = new JsonObject().put("action", "create").put("entitlement", ents[i]);
        }
        return apply(new SyncState(), true, ConflictPolicy.CLOUD_WINS, T, creates).state();
    }

    /** A local edit of max_seats made at {@code atMs}. */
    private static SyncState withLocalSeats(SyncState s, String id, int n, long atMs) {
        SyncState c = s.copy();
        c.localEdits.put(id, new SyncState.LocalEdit(Map.of(EntitlementJson.MAX_SEATS, n), Map.of(EntitlementJson.MAX_SEATS, atMs)));
        c.effective.put(id, c.effective.get(id).copy().put("policy",
                c.effective.get(id).getJsonObject("policy").copy().put("max_seats", n)));
        return c;
    }

    @Test
    @DisplayName("GIVEN a state WHEN creates, partial updates and deletes arrive THEN the served set follows and the "
            + "ledger gets exactly the differences")
    void creates_updates_deletes() throws Exception {
        SyncState s = synced(ent("a", 1), ent("b", 2));
        SyncEngine.Result r = apply(s, false, ConflictPolicy.CLOUD_WINS, T, create("c", 3), update("a", seats(5)), delete("b"));
        assertEquals(1, r.created());
        assertEquals(1, r.updated());
        assertEquals(1, r.deleted());
        assertEquals(5, seatsOf(r.state(), "a"));
        assertEquals("p-a", r.state().effective.get("a").getString("product_id"), "an update keeps the fields it does not name");
        assertFalse(r.state().effective.containsKey("b"));
        assertEquals(List.of("a", "b", "c"), r.ledgerOps().stream().map(LedgerOp::entitlementId).sorted().toList());
        assertTrue(r.ledgerOps().stream().filter(o -> o.entitlementId().equals("b")).findFirst().orElseThrow().remove());
        assertEquals(2, s.effective.size(), "the input state is not touched");
    }

    @Test
    @DisplayName("GIVEN a batch already applied WHEN it is applied again THEN nothing changes and the ledger gets nothing")
    void a_batch_twice_is_harmless() throws Exception {
        SyncState s = synced(ent("a", 1), ent("b", 2));
        JsonObject[] batch = {create("c", 3), update("a", seats(5)), delete("b"), update("b", seats(9))};
        SyncState once = apply(s, false, ConflictPolicy.CLOUD_WINS, T, batch).state();
        SyncEngine.Result twice = apply(once, false, ConflictPolicy.CLOUD_WINS, T, batch);
        assertEquals(0, twice.changesApplied());
        assertTrue(twice.ledgerOps().isEmpty());
        assertEquals(once.effective, twice.state().effective);
    }

    @Test
    @DisplayName("GIVEN a first sync (snapshot) WHEN it lists fewer entitlements than the appliance had THEN the missing "
            + "ones are deleted")
    void a_snapshot_deletes_what_it_does_not_list() throws Exception {
        SyncState s = synced(ent("a", 1), ent("b", 2));
        SyncEngine.Result r = apply(s, true, ConflictPolicy.CLOUD_WINS, T, create("a", 1));
        assertEquals(1, r.deleted());
        assertEquals(List.of("a"), List.copyOf(r.state().effective.keySet()));
    }

    @Test
    @DisplayName("GIVEN one invalid change among good ones WHEN parsed THEN the batch is refused naming the entitlement and why")
    void invalid_changes_name_the_entitlement() {
        EntitlementJson.Invalid e = assertThrows(EntitlementJson.Invalid.class, () -> Change.parseAll(new JsonArray()
                .add(create("ok", 1)).add(update("bad", seats(-1))), T));
        assertEquals("bad", e.entitlementId());
        assertTrue(e.getMessage().contains("changes[1]") && e.getMessage().contains("policy.max_seats"), e.getMessage());
        assertThrows(EntitlementJson.Invalid.class, () -> Change.parseAll(new JsonArray()
                .add(new JsonObject().put("action", "create").put("entitlement", ent("x", 1).put("ends_at", "2020-01-01T00:00:00Z"))), T));
        assertThrows(EntitlementJson.Invalid.class, () -> Change.parseAll(new JsonArray().add(new JsonObject().put("action", "upsert")), T));
        assertThrows(EntitlementJson.Invalid.class, () -> Change.parseAll(new JsonObject(), T));
        assertThrows(EntitlementJson.Invalid.class, () -> Change.parseAll(new JsonArray()
                .add(new JsonObject().put("action", "create").put("entitlement", ent("x", 1).put("product_id", ""))), T));
    }

    @Test
    @DisplayName("GIVEN a license listing other entitlements than the changes give WHEN applied THEN refused as a mismatch")
    void the_result_must_match_the_signed_list() throws Exception {
        SyncState s = synced(ent("a", 1));
        List<Change> changes = Change.parseAll(new JsonArray().add(update("a", seats(2))), T);
        assertThrows(SyncEngine.SignedListMismatch.class, () -> SyncEngine.apply(s, changes, false,
                new JsonArray().add(ent("a", 3)), ConflictPolicy.CLOUD_WINS, T, T));
        SyncEngine.Result ok = SyncEngine.apply(s, changes, false, new JsonArray().add(ent("a", 2)), ConflictPolicy.CLOUD_WINS, T, T);
        assertEquals(2, seatsOf(ok.state(), "a"));
    }

    @Test
    @DisplayName("GIVEN a local edit WHEN the cloud changes the same entitlement THEN each policy settles it its way")
    void the_four_policies() throws Exception {
        SyncState base = withLocalSeats(synced(ent("a", 1), ent("b", 1)), "a", 7, T + 10);
        JsonObject[] batch = {update("a", seats(5)), update("b", seats(4))};

        SyncEngine.Result cloud = apply(base, false, ConflictPolicy.CLOUD_WINS, T + 20, batch);
        assertEquals(5, seatsOf(cloud.state(), "a"));
        assertFalse(cloud.state().localEdits.containsKey("a"));
        assertEquals("cloud", cloud.conflicts().get(0).resolution());

        SyncEngine.Result local = apply(base, false, ConflictPolicy.LOCAL_WINS, T + 20, batch);
        assertEquals(7, seatsOf(local.state(), "a"));
        assertEquals(5, local.state().cloud.get("a").getJsonObject("policy").getInteger("max_seats"));
        assertEquals("local", local.conflicts().get(0).resolution());

        SyncEngine.Result mergedNewerCloud = apply(base, false, ConflictPolicy.MERGE, T + 20, batch);
        assertEquals(5, seatsOf(mergedNewerCloud.state(), "a"), "the cloud's change (T+20) is newer than the edit (T+10)");
        SyncEngine.Result mergedOlderCloud = apply(base, false, ConflictPolicy.MERGE, T + 5, batch);
        assertEquals(7, seatsOf(mergedOlderCloud.state(), "a"), "the edit (T+10) is newer than the cloud's change (T+5)");

        SyncEngine.Result manual = apply(base, false, ConflictPolicy.MANUAL, T + 20, batch);
        assertEquals(7, seatsOf(manual.state(), "a"));
        assertTrue(manual.conflicts().get(0).pending());
        assertEquals(1, manual.state().pendingConflicts());

        for (SyncEngine.Result r : List.of(cloud, local, mergedNewerCloud, manual)) {
            assertEquals(1, r.conflicts().size(), "only the locally edited entitlement conflicts");
            assertEquals(4, seatsOf(r.state(), "b"));
            assertEquals(1, r.state().conflictCount);
        }
    }

    @Test
    @DisplayName("GIVEN merge and a cloud delete WHEN the local edit is newer THEN the entitlement stays; when older THEN it goes")
    void merge_and_delete() throws Exception {
        SyncState base = withLocalSeats(synced(ent("a", 1)), "a", 7, T + 10);
        assertTrue(apply(base, false, ConflictPolicy.MERGE, T + 5, delete("a")).state().effective.containsKey("a"));
        assertNull(apply(base, false, ConflictPolicy.MERGE, T + 20, delete("a")).state().effective.get("a"));
    }
}
