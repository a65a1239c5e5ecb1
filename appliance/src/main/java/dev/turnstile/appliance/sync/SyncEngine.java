package dev.turnstile.appliance.sync;

import dev.turnstile.appliance.seat.Entitlement;
import dev.turnstile.appliance.sync.SyncState.Conflict;
import dev.turnstile.appliance.sync.SyncState.LocalEdit;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Applies one batch of cloud changes to a {@link SyncState}: pure, deterministic, no I/O, so every
 * rule here is unit-tested without a cloud (appliance/SYNC.md, "Applying a batch").
 *
 * <ol>
 *   <li>The changes are applied, in order, to a copy of the cloud copy (to an empty one for a
 *       snapshot, i.e. a first sync: what it does not list is deleted). A create of a known id
 *       replaces it; an update of an unknown id and a delete of an unknown id change nothing
 *       (so a batch applied twice is harmless).</li>
 *   <li>The result must equal the entitlement list the license signs, else the whole batch is
 *       refused ({@link SignedListMismatch}) and the next sync asks for everything.</li>
 *   <li>For each entitlement whose cloud version really changed: without a local edit the
 *       served version becomes the cloud's; with one, it is a conflict, settled by the policy.</li>
 * </ol>
 */
public final class SyncEngine {
    private SyncEngine() {
    }

    /** The batch does not lead to the entitlement list the license signs. */
    public static final class SignedListMismatch extends Exception {
        private static final long serialVersionUID = 1L;

        public SignedListMismatch(String message) {
            super(message);
        }
    }

    /** What a batch did. {@code state} is a new object; the input state is not touched. */
    public record Result(SyncState state, int created, int updated, int deleted, int unchanged,
                         List<Conflict> conflicts, List<LedgerOp> ledgerOps) {
        public int changesApplied() {
            return created + updated + deleted;
        }
    }

    /** One change of what the ledger serves. {@code entitlement} null = remove {@code entitlementId}. */
    public record LedgerOp(String entitlementId, Entitlement entitlement) {
        public boolean remove() {
            return entitlement == null;
        }
    }

    /**
     * @param snapshot       true for a first sync or a license import: the changes list every entitlement
     * @param signed         the license's entitlement list the result must equal, or {@code null} (not checked)
     * @param cloudTimeMs    the cloud's time for changes without their own {@code updated_at}
     */
    public static Result apply(SyncState input, List<Change> changes, boolean snapshot, JsonArray signed,
                               ConflictPolicy policy, long cloudTimeMs, long nowMs)
            throws EntitlementJson.Invalid, SignedListMismatch {
        SyncState s = input.copy();
        TreeMap<String, JsonObject> cloudBefore = input.cloud;
        TreeMap<String, JsonObject> cloudAfter = new TreeMap<>();
        if (!snapshot) {
            cloudBefore.forEach((k, v) -> cloudAfter.put(k, v.copy()));
        }
        Map<String, Long> changedAt = new HashMap<>();
        TreeSet<String> touched = new TreeSet<>();
        for (Change c : changes) {
            switch (c.action()) {
                case CREATE -> cloudAfter.put(c.entitlementId(), c.full());
                case UPDATE -> {
                    JsonObject base = cloudAfter.get(c.entitlementId());
                    if (base != null) {
                        cloudAfter.put(c.entitlementId(), EntitlementJson.apply(base, c.fields()));
                    }
                }
                case DELETE -> cloudAfter.remove(c.entitlementId());
                default -> throw new IllegalStateException();
            }
            touched.add(c.entitlementId());
            changedAt.merge(c.entitlementId(), c.updatedAtMs(), Math::max);
        }
        if (snapshot) {
            touched.addAll(cloudBefore.keySet());
        }
        if (signed != null) {
            checkSigned(cloudAfter, signed);
        }
        int created = 0;
        int updated = 0;
        int deleted = 0;
        int unchanged = 0;
        List<Conflict> conflicts = new ArrayList<>();
        for (String id : touched) {
            JsonObject before = cloudBefore.get(id);
            JsonObject after = cloudAfter.get(id);
            if (EntitlementJson.same(before, after)) {
                unchanged++;
                continue;
            }
            if (before == null) {
                created++;
            } else if (after == null) {
                deleted++;
            } else {
                updated++;
            }
            long at = changedAt.getOrDefault(id, cloudTimeMs);
            LocalEdit edit = s.localEdits.get(id);
            if (edit == null) {
                serve(s, id, after);
                continue;
            }
            List<String> fields = before == null || after == null ? EntitlementJson.FIELDS
                    : EntitlementJson.changedFields(before, after);
            JsonObject served = s.effective.get(id);
            Conflict pending = new Conflict(s.nextConflictId++, id, nowMs, policy.configName(), "pending", null, -1,
                    fields, after == null ? null : after.copy(), served == null ? null : served.copy(), edit, null);
            Conflict outcome = switch (policy) {
                case CLOUD_WINS -> {
                    s.localEdits.remove(id);
                    serve(s, id, after);
                    yield pending.resolve("cloud", nowMs, "policy");
                }
                case LOCAL_WINS -> pending.resolve("local", nowMs, "policy");
                case MERGE -> merge(s, id, after, fields, at, edit, pending, nowMs);
                case MANUAL -> pending;
            };
            conflicts.add(outcome);
            s.conflicts.add(outcome);
        }
        s.cloud.clear();
        s.cloud.putAll(cloudAfter);
        s.conflictCount += conflicts.size();
        s.trimConflicts();
        return new Result(s, created, updated, deleted, unchanged, conflicts, ledgerOps(input.effective, s.effective));
    }

    /** Field by field: the cloud's value where its change is newer than the field's local edit, else the local one. */
    private static Conflict merge(SyncState s, String id, JsonObject after, List<String> cloudFields, long cloudAtMs,
                                  LocalEdit edit, Conflict pending, long nowMs) {
        if (after == null) {
            if (cloudAtMs > edit.latestMs()) {
                s.localEdits.remove(id);
                serve(s, id, null);
                return pending.resolve("cloud", nowMs, "policy");
            }
            return pending.resolve("local", nowMs, "policy");
        }
        Map<String, Object> values = new LinkedHashMap<>(edit.values());
        Map<String, Long> times = new LinkedHashMap<>(edit.editedAtMs());
        for (String f : cloudFields) {
            Long localAt = times.get(f);
            if (localAt != null && cloudAtMs > localAt) {
                values.remove(f);
                times.remove(f);
            }
        }
        try {
            JsonObject merged = EntitlementJson.apply(after, values);
            if (values.isEmpty()) {
                s.localEdits.remove(id);
            } else {
                s.localEdits.put(id, new LocalEdit(values, times));
            }
            serve(s, id, merged);
            return pending.resolve(values.isEmpty() ? "cloud" : "merged", nowMs, "policy");
        } catch (EntitlementJson.Invalid e) {
            // The newer fields of each side do not fit together (e.g. ends_at before starts_at): the cloud's version.
            s.localEdits.remove(id);
            serve(s, id, after);
            return pending.resolve("cloud", nowMs, "policy (merged fields were inconsistent: " + e.getMessage() + ")");
        }
    }

    private static void serve(SyncState s, String id, JsonObject ent) {
        if (ent == null) {
            s.effective.remove(id);
        } else {
            s.effective.put(id, ent.copy());
        }
    }

    private static void checkSigned(TreeMap<String, JsonObject> cloudAfter, JsonArray signed)
            throws SignedListMismatch, EntitlementJson.Invalid {
        Map<String, JsonObject> expected = new TreeMap<>();
        for (int i = 0; i < signed.size(); i++) {
            JsonObject e;
            try {
                e = EntitlementJson.normalize(signed.getJsonObject(i));
            } catch (EntitlementJson.Invalid x) {
                throw x.at("license.entitlements[" + i + "]");
            }
            if (expected.put(e.getString("entitlement_id"), e) != null) {
                throw new EntitlementJson.Invalid(e.getString("entitlement_id"), "listed twice in the license");
            }
        }
        Set<String> ids = new HashSet<>(expected.keySet());
        ids.addAll(cloudAfter.keySet());
        for (String id : new TreeSet<>(ids)) {
            JsonObject want = expected.get(id);
            JsonObject got = cloudAfter.get(id);
            if (!EntitlementJson.same(want, got)) {
                String why = want == null ? "the changes keep it but the license does not list it"
                        : got == null ? "the license lists it but the changes do not give it"
                        : "fields differ: " + EntitlementJson.changedFields(want, got);
                throw new SignedListMismatch("the changes do not give the entitlements the license signs ("
                        + cloudAfter.size() + " against " + expected.size() + "); entitlement '" + id + "': " + why);
            }
        }
    }

    /** What the ledger must do to go from serving {@code before} to serving {@code after}. */
    public static List<LedgerOp> ledgerOps(Map<String, JsonObject> before, Map<String, JsonObject> after) {
        List<LedgerOp> ops = new ArrayList<>();
        for (String id : before.keySet()) {
            if (!after.containsKey(id)) {
                ops.add(new LedgerOp(id, null));
            }
        }
        for (Map.Entry<String, JsonObject> e : after.entrySet()) {
            if (!EntitlementJson.same(before.get(e.getKey()), e.getValue())) {
                ops.add(new LedgerOp(e.getKey(), EntitlementJson.toEntitlement(e.getValue())));
            }
        }
        return ops;
    }

    /** A license's entitlement list as a snapshot batch (creates, one per entitlement). */
    public static List<Change> snapshotOf(JsonArray entitlements, long atMs) throws EntitlementJson.Invalid {
        List<Change> out = new ArrayList<>();
        for (int i = 0; i < entitlements.size(); i++) {
            try {
                JsonObject e = EntitlementJson.normalize(entitlements.getJsonObject(i));
                out.add(new Change(Change.Action.CREATE, e.getString("entitlement_id"), e, Map.of(), atMs));
            } catch (EntitlementJson.Invalid x) {
                throw x.at("license.entitlements[" + i + "]");
            }
        }
        return out;
    }
}
