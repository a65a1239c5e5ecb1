package dev.turnstile.appliance.sync;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * One entry of a sync answer's {@code changes}:
 * {@code {"action": "create", "entitlement": {...all fields...}}},
 * {@code {"action": "update", "entitlement": {"entitlement_id": ..., <only the changed fields>}}},
 * {@code {"action": "delete", "entitlement_id": ...}}; each may carry {@code updated_at} (when the
 * cloud's record changed; used by the merge policy, default the answer's {@code sync_timestamp}).
 *
 * @param full   the whole entitlement, canonical (create only)
 * @param fields the changed fields by path (update only)
 */
public record Change(Action action, String entitlementId, JsonObject full, Map<String, Object> fields, long updatedAtMs) {

    public enum Action {
        CREATE, UPDATE, DELETE;

        public String wireName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * Parses and checks a whole {@code changes} list. One bad entry rejects the list: the message
     * names its index, the entitlement and why.
     */
    public static List<Change> parseAll(Object changes, long defaultTimeMs) throws EntitlementJson.Invalid {
        if (!(changes instanceof JsonArray list)) {
            throw new EntitlementJson.Invalid(null, "changes must be a list, got " + changes);
        }
        List<Change> out = new ArrayList<>(list.size());
        for (int i = 0; i < list.size(); i++) {
            try {
                out.add(parse(list.getValue(i), defaultTimeMs));
            } catch (EntitlementJson.Invalid e) {
                throw e.at("changes[" + i + "]");
            }
        }
        return out;
    }

    static Change parse(Object v, long defaultTimeMs) throws EntitlementJson.Invalid {
        if (!(v instanceof JsonObject o)) {
            throw new EntitlementJson.Invalid(null, "a change must be an object, got " + v);
        }
        Object a = o.getValue("action");
        long at = defaultTimeMs;
        if (o.getValue("updated_at") != null) {
            try {
                at = Instant.parse(String.valueOf(o.getValue("updated_at"))).toEpochMilli();
            } catch (DateTimeParseException e) {
                throw new EntitlementJson.Invalid(null, "updated_at must be an ISO-8601 instant, got " + o.getValue("updated_at"));
            }
        }
        if ("delete".equals(a)) {
            Object id = o.getValue("entitlement_id");
            if (id == null && o.getValue("entitlement") instanceof JsonObject e) {
                id = e.getValue("entitlement_id");
            }
            String checked = EntitlementJson.id(new JsonObject().put("entitlement_id", id));
            return new Change(Action.DELETE, checked, null, Map.of(), at);
        }
        if (!"create".equals(a) && !"update".equals(a)) {
            throw new EntitlementJson.Invalid(null, "action must be create, update or delete, got " + a);
        }
        if (!(o.getValue("entitlement") instanceof JsonObject e)) {
            throw new EntitlementJson.Invalid(null, a + " needs an entitlement object");
        }
        String id = EntitlementJson.id(e);
        if ("create".equals(a)) {
            return new Change(Action.CREATE, id, EntitlementJson.normalize(e), Map.of(), at);
        }
        Map<String, Object> fields = EntitlementJson.fields(id, e);
        if (fields.isEmpty()) {
            throw new EntitlementJson.Invalid(id, "an update must change at least one known field");
        }
        return new Change(Action.UPDATE, id, null, fields, at);
    }
}
