package dev.turnstile.appliance.sync;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Everything the sync keeps between runs (and across restarts, through a {@link SyncStore}):
 * <ul>
 *   <li>{@code lastSyncToken} / {@code lastSyncAtMs}: stored only after a batch is applied whole;</li>
 *   <li>{@code cloud}: the entitlements as the cloud last sent them;</li>
 *   <li>{@code effective}: what the ledger serves from the sync (the cloud's, with local edits and
 *       conflict outcomes);</li>
 *   <li>{@code localEdits}: admin changes by field, each with its time;</li>
 *   <li>{@code conflicts}: pending ones and the most recent resolved ones;</li>
 *   <li>the last license whose entitlements were applied, the counters of the status page.</li>
 * </ul>
 * Mutable, confined to the sync's context; {@link #copy()} for the engine's work.
 */
public final class SyncState {
    /** Resolved conflicts kept for the API; pending ones are always kept. */
    public static final int KEEP_RESOLVED = 200;

    public String lastSyncToken;
    public long lastSyncAtMs = -1;
    public final TreeMap<String, JsonObject> cloud = new TreeMap<>();
    public final TreeMap<String, JsonObject> effective = new TreeMap<>();
    public final TreeMap<String, LocalEdit> localEdits = new TreeMap<>();
    public final List<Conflict> conflicts = new ArrayList<>();
    public long nextConflictId = 1;
    public String appliedLicenseId;
    public long appliedLicenseIssuedAtMs = -1;
    /** Set when a batch did not match the signed entitlement list: the next sync asks for everything (token null). */
    public boolean fullResyncRequested;
    public long syncCount;
    public long errorCount;
    public long conflictCount;

    /** One admin change: values by field path and when each field was changed. */
    public record LocalEdit(Map<String, Object> values, Map<String, Long> editedAtMs) {
        public LocalEdit {
            values = new LinkedHashMap<>(values);
            editedAtMs = new LinkedHashMap<>(editedAtMs);
        }

        public long latestMs() {
            return editedAtMs.values().stream().mapToLong(Long::longValue).max().orElse(Long.MIN_VALUE);
        }

        public JsonObject toJson() {
            JsonObject v = new JsonObject();
            values.forEach(v::put);
            JsonObject t = new JsonObject();
            editedAtMs.forEach(t::put);
            return new JsonObject().put("values", v).put("edited_at_ms", t);
        }

        public static LocalEdit fromJson(JsonObject o) {
            Map<String, Object> v = new LinkedHashMap<>();
            o.getJsonObject("values", new JsonObject()).forEach(e -> v.put(e.getKey(), normalizeNumber(e.getValue())));
            Map<String, Long> t = new LinkedHashMap<>();
            o.getJsonObject("edited_at_ms", new JsonObject()).forEach(e -> t.put(e.getKey(), ((Number) e.getValue()).longValue()));
            return new LocalEdit(v, t);
        }
    }

    /**
     * One conflict.
     *
     * @param status        {@code pending} or {@code resolved}
     * @param resolution    {@code cloud}, {@code local}, {@code merged} or {@code null} while pending
     * @param cloudFields   the fields the cloud changed (all of them for a create or delete)
     * @param cloudAfter    the cloud's version ({@code null}: the cloud deleted it)
     * @param localBefore   the entitlement as it was served when the conflict arose
     */
    public record Conflict(long id, String entitlementId, long detectedAtMs, String policy, String status,
                           String resolution, long resolvedAtMs, List<String> cloudFields, JsonObject cloudAfter,
                           JsonObject localBefore, LocalEdit localEdit, String resolvedBy) {

        public boolean pending() {
            return "pending".equals(status);
        }

        public Conflict resolve(String resolution, long atMs, String by) {
            return new Conflict(id, entitlementId, detectedAtMs, policy, "resolved", resolution, atMs, cloudFields,
                    cloudAfter, localBefore, localEdit, by);
        }

        public JsonObject toJson() {
            return new JsonObject()
                    .put("conflict_id", id)
                    .put("entitlement_id", entitlementId)
                    .put("detected_at", java.time.Instant.ofEpochMilli(detectedAtMs).toString())
                    .put("policy", policy)
                    .put("status", status)
                    .put("resolution", resolution)
                    .put("resolved_at", resolvedAtMs < 0 ? null : java.time.Instant.ofEpochMilli(resolvedAtMs).toString())
                    .put("resolved_by", resolvedBy)
                    .put("cloud_fields", new JsonArray(new ArrayList<>(cloudFields)))
                    .put("cloud", cloudAfter)
                    .put("local", localBefore)
                    .put("local_edit", localEdit == null ? null : localEdit.toJson());
        }

        public static Conflict fromJson(JsonObject o) {
            List<String> fields = new ArrayList<>();
            o.getJsonArray("cloud_fields", new JsonArray()).forEach(f -> fields.add((String) f));
            String resolvedAt = o.getString("resolved_at");
            return new Conflict(o.getLong("conflict_id"), o.getString("entitlement_id"),
                    java.time.Instant.parse(o.getString("detected_at")).toEpochMilli(), o.getString("policy"),
                    o.getString("status"), o.getString("resolution"),
                    resolvedAt == null ? -1 : java.time.Instant.parse(resolvedAt).toEpochMilli(), fields,
                    o.getJsonObject("cloud"), o.getJsonObject("local"),
                    o.getJsonObject("local_edit") == null ? null : LocalEdit.fromJson(o.getJsonObject("local_edit")),
                    o.getString("resolved_by"));
        }
    }

    public long pendingConflicts() {
        return conflicts.stream().filter(Conflict::pending).count();
    }

    /** Drops the oldest resolved conflicts beyond {@link #KEEP_RESOLVED}. */
    public void trimConflicts() {
        long resolved = conflicts.stream().filter(c -> !c.pending()).count();
        for (int i = 0; i < conflicts.size() && resolved > KEEP_RESOLVED; ) {
            if (!conflicts.get(i).pending()) {
                conflicts.remove(i);
                resolved--;
            } else {
                i++;
            }
        }
    }

    public SyncState copy() {
        SyncState s = new SyncState();
        s.lastSyncToken = lastSyncToken;
        s.lastSyncAtMs = lastSyncAtMs;
        cloud.forEach((k, v) -> s.cloud.put(k, v.copy()));
        effective.forEach((k, v) -> s.effective.put(k, v.copy()));
        localEdits.forEach((k, v) -> s.localEdits.put(k, new LocalEdit(v.values(), v.editedAtMs())));
        s.conflicts.addAll(conflicts);
        s.nextConflictId = nextConflictId;
        s.appliedLicenseId = appliedLicenseId;
        s.appliedLicenseIssuedAtMs = appliedLicenseIssuedAtMs;
        s.fullResyncRequested = fullResyncRequested;
        s.syncCount = syncCount;
        s.errorCount = errorCount;
        s.conflictCount = conflictCount;
        return s;
    }

    /** Everything but the token and its time (those are {@link SyncStore#commitToken committed} separately). */
    public JsonObject toJson() {
        JsonObject c = new JsonObject();
        cloud.forEach(c::put);
        JsonObject e = new JsonObject();
        effective.forEach(e::put);
        JsonObject l = new JsonObject();
        localEdits.forEach((k, v) -> l.put(k, v.toJson()));
        JsonArray cs = new JsonArray();
        conflicts.forEach(x -> cs.add(x.toJson()));
        return new JsonObject()
                .put("cloud", c)
                .put("effective", e)
                .put("local_edits", l)
                .put("conflicts", cs)
                .put("next_conflict_id", nextConflictId)
                .put("applied_license_id", appliedLicenseId)
                .put("applied_license_issued_at_ms", appliedLicenseIssuedAtMs)
                .put("full_resync_requested", fullResyncRequested)
                .put("sync_count", syncCount)
                .put("error_count", errorCount)
                .put("conflict_count", conflictCount);
    }

    /** The inverse of {@link #toJson()}, plus the committed token. */
    public static SyncState fromJson(JsonObject o, String token, long syncAtMs) {
        SyncState s = new SyncState();
        s.lastSyncToken = token;
        s.lastSyncAtMs = syncAtMs;
        o.getJsonObject("cloud", new JsonObject()).forEach(x -> s.cloud.put(x.getKey(), normalize((JsonObject) x.getValue())));
        o.getJsonObject("effective", new JsonObject()).forEach(x -> s.effective.put(x.getKey(), normalize((JsonObject) x.getValue())));
        o.getJsonObject("local_edits", new JsonObject())
                .forEach(x -> s.localEdits.put(x.getKey(), LocalEdit.fromJson((JsonObject) x.getValue())));
        o.getJsonArray("conflicts", new JsonArray()).forEach(x -> s.conflicts.add(Conflict.fromJson((JsonObject) x)));
        s.nextConflictId = o.getLong("next_conflict_id", 1L);
        s.appliedLicenseId = o.getString("applied_license_id");
        s.appliedLicenseIssuedAtMs = o.getLong("applied_license_issued_at_ms", -1L);
        s.fullResyncRequested = o.getBoolean("full_resync_requested", false);
        s.syncCount = o.getLong("sync_count", 0L);
        s.errorCount = o.getLong("error_count", 0L);
        s.conflictCount = o.getLong("conflict_count", 0L);
        return s;
    }

    /** Numbers read back from JSON text come as Integer or Long: max_seats is always an Integer here. */
    static JsonObject normalize(JsonObject ent) {
        JsonObject p = ent.getJsonObject("policy");
        if (p != null && p.getValue("max_seats") instanceof Number n) {
            p.put("max_seats", n.intValue());
        }
        return ent;
    }

    static Object normalizeNumber(Object v) {
        if (v instanceof Long l && l >= Integer.MIN_VALUE && l <= Integer.MAX_VALUE) {
            return l.intValue();
        }
        return v;
    }
}
