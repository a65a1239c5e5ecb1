package dev.turnstile.appliance.sync;

import dev.turnstile.appliance.seat.Entitlement;
import dev.turnstile.protocol.Enforcement;
import dev.turnstile.protocol.Limits;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Entitlements as the cloud sends them, in one canonical shape:
 * <pre>
 * {"entitlement_id": "ent-1", "tenant_id": "acme", "product_id": "cad-pro",
 *  "policy": {"type": "concurrent", "max_seats": 5, "enforcement": "seats"},
 *  "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2027-01-01T00:00:00Z"}
 * </pre>
 * {@code policy.enforcement} defaults to {@code seats}; {@code starts_at}/{@code ends_at} may be
 * null (open). Fields are addressed by path ({@link #FIELDS}) for partial updates, local edits and
 * field-by-field merges. Every check names the entitlement and the field.
 */
public final class EntitlementJson {
    public static final String TENANT = "tenant_id";
    public static final String PRODUCT = "product_id";
    public static final String POLICY_TYPE = "policy.type";
    public static final String MAX_SEATS = "policy.max_seats";
    public static final String ENFORCEMENT = "policy.enforcement";
    public static final String STARTS_AT = "starts_at";
    public static final String ENDS_AT = "ends_at";
    /** Every field below entitlement_id, in canonical order. */
    public static final List<String> FIELDS = List.of(TENANT, PRODUCT, POLICY_TYPE, MAX_SEATS, ENFORCEMENT, STARTS_AT,
            ENDS_AT);
    /** The fields an admin may change locally ({@code PATCH /v1/entitlements/{id}}). */
    public static final List<String> LOCALLY_EDITABLE = List.of(MAX_SEATS, STARTS_AT, ENDS_AT);

    public static final int MAX_TENANT = 128;
    public static final long MAX_SEATS_LIMIT = 1_000_000_000L;

    private EntitlementJson() {
    }

    /** A change or entitlement the appliance cannot accept; the message names the entitlement and why. */
    public static final class Invalid extends Exception {
        private static final long serialVersionUID = 1L;
        private final String entitlementId;

        public Invalid(String entitlementId, String why) {
            super((entitlementId == null ? "an entitlement without an id" : "entitlement '" + entitlementId + "'") + ": " + why);
            this.entitlementId = entitlementId;
        }

        private Invalid(String message, String entitlementId, boolean full) {
            super(message);
            this.entitlementId = entitlementId;
        }

        /** The same problem with where it was found in front: {@code changes[3]: entitlement 'x': ...}. */
        public Invalid at(String where) {
            return new Invalid(where + ": " + getMessage(), entitlementId, true);
        }

        public String entitlementId() {
            return entitlementId;
        }
    }

    /** The id of {@code o}, checked. */
    public static String id(JsonObject o) throws Invalid {
        Object v = o == null ? null : o.getValue("entitlement_id");
        if (!(v instanceof String s) || s.isEmpty()) {
            throw new Invalid(null, "entitlement_id must be a non-empty string, got " + v);
        }
        if (s.getBytes(StandardCharsets.UTF_8).length > Limits.MAX_ENTITLEMENT_ID) {
            throw new Invalid(s.substring(0, Math.min(s.length(), 40)) + "...",
                    "entitlement_id is longer than " + Limits.MAX_ENTITLEMENT_ID + " bytes");
        }
        return s;
    }

    /** The fields {@code o} carries (top-level and under {@code policy}), by path, each checked. Unknown fields are ignored. */
    public static Map<String, Object> fields(String id, JsonObject o) throws Invalid {
        Map<String, Object> out = new LinkedHashMap<>();
        for (String f : FIELDS) {
            if (f.startsWith("policy.")) {
                Object p = o.getValue("policy");
                if (p == null) {
                    continue;
                }
                if (!(p instanceof JsonObject po)) {
                    throw new Invalid(id, "policy must be an object, got " + p);
                }
                String k = f.substring("policy.".length());
                if (po.containsKey(k)) {
                    out.put(f, checkField(id, f, po.getValue(k)));
                }
            } else if (o.containsKey(f)) {
                out.put(f, checkField(id, f, o.getValue(f)));
            }
        }
        return out;
    }

    /** One field's value, checked and normalised (instants in {@link Instant#toString()} form). */
    public static Object checkField(String id, String field, Object v) throws Invalid {
        switch (field) {
            case TENANT:
            case PRODUCT: {
                if (!(v instanceof String s) || s.isEmpty()) {
                    throw new Invalid(id, field + " must be a non-empty string, got " + v);
                }
                int max = field.equals(PRODUCT) ? Limits.MAX_PRODUCT : MAX_TENANT;
                if (s.getBytes(StandardCharsets.UTF_8).length > max) {
                    throw new Invalid(id, field + " is longer than " + max + " bytes");
                }
                return s;
            }
            case POLICY_TYPE:
                if (!"concurrent".equals(v)) {
                    throw new Invalid(id, "policy.type must be concurrent, got " + v);
                }
                return v;
            case MAX_SEATS: {
                if (!(v instanceof Integer || v instanceof Long || v instanceof Short)) {
                    throw new Invalid(id, "policy.max_seats must be an integer from 0 to " + MAX_SEATS_LIMIT + ", got " + v);
                }
                long n = ((Number) v).longValue();
                if (n < 0 || n > MAX_SEATS_LIMIT) {
                    throw new Invalid(id, "policy.max_seats must be an integer from 0 to " + MAX_SEATS_LIMIT + ", got " + n);
                }
                return (int) n;
            }
            case ENFORCEMENT:
                if (!(v instanceof String s) || Enforcement.ofName(s) == null) {
                    throw new Invalid(id, "policy.enforcement must be seats or checkouts, got " + v);
                }
                return v;
            case STARTS_AT:
            case ENDS_AT:
                if (v == null) {
                    return null;
                }
                if (!(v instanceof String s)) {
                    throw new Invalid(id, field + " must be an ISO-8601 instant or null, got " + v);
                }
                try {
                    return Instant.parse(s).toString();
                } catch (DateTimeParseException e) {
                    throw new Invalid(id, field + " must be an ISO-8601 instant like 2026-01-01T00:00:00Z, got '" + s + "'");
                }
            default:
                throw new Invalid(id, "unknown field " + field);
        }
    }

    /**
     * A complete entitlement in canonical shape, checked whole ({@code ends_at} after
     * {@code starts_at}); {@code policy.enforcement} defaults to {@code seats}.
     */
    public static JsonObject normalize(JsonObject o) throws Invalid {
        String id = id(o);
        Map<String, Object> f = fields(id, o);
        f.putIfAbsent(ENFORCEMENT, Enforcement.SEATS.configName());
        f.putIfAbsent(STARTS_AT, null);
        f.putIfAbsent(ENDS_AT, null);
        for (String k : List.of(TENANT, PRODUCT, POLICY_TYPE, MAX_SEATS)) {
            if (!f.containsKey(k)) {
                throw new Invalid(id, k + " is missing");
            }
        }
        return build(id, f);
    }

    /** Builds the canonical object from a complete field map, checking the window. */
    public static JsonObject build(String id, Map<String, Object> f) throws Invalid {
        Object s = f.get(STARTS_AT);
        Object e = f.get(ENDS_AT);
        if (s != null && e != null && !Instant.parse((String) e).isAfter(Instant.parse((String) s))) {
            throw new Invalid(id, "ends_at (" + e + ") must be after starts_at (" + s + ")");
        }
        return new JsonObject()
                .put("entitlement_id", id)
                .put(TENANT, f.get(TENANT))
                .put(PRODUCT, f.get(PRODUCT))
                .put("policy", new JsonObject()
                        .put("type", f.get(POLICY_TYPE))
                        .put("max_seats", f.get(MAX_SEATS))
                        .put("enforcement", f.get(ENFORCEMENT)))
                .put(STARTS_AT, s)
                .put(ENDS_AT, e);
    }

    /** Every field of a canonical entitlement by path. */
    public static Map<String, Object> flatten(JsonObject canonical) {
        JsonObject p = canonical.getJsonObject("policy", new JsonObject());
        Map<String, Object> m = new LinkedHashMap<>();
        m.put(TENANT, canonical.getValue(TENANT));
        m.put(PRODUCT, canonical.getValue(PRODUCT));
        m.put(POLICY_TYPE, p.getValue("type"));
        m.put(MAX_SEATS, p.getValue("max_seats") == null ? null : ((Number) p.getValue("max_seats")).intValue());
        m.put(ENFORCEMENT, p.getValue("enforcement"));
        m.put(STARTS_AT, canonical.getValue(STARTS_AT));
        m.put(ENDS_AT, canonical.getValue(ENDS_AT));
        return m;
    }

    /** {@code base} with {@code changes} (path to value) applied, checked whole. */
    public static JsonObject apply(JsonObject base, Map<String, Object> changes) throws Invalid {
        String id = base.getString("entitlement_id");
        Map<String, Object> f = flatten(base);
        f.putAll(changes);
        return build(id, f);
    }

    /** The paths whose values differ between two canonical entitlements (either may be null). */
    public static List<String> changedFields(JsonObject before, JsonObject after) {
        if (before == null || after == null) {
            return FIELDS;
        }
        Map<String, Object> a = flatten(before);
        Map<String, Object> b = flatten(after);
        return FIELDS.stream().filter(k -> !Objects.equals(a.get(k), b.get(k))).toList();
    }

    /** True when both are the same entitlement field for field. */
    public static boolean same(JsonObject a, JsonObject b) {
        if (a == null || b == null) {
            return a == b;
        }
        return a.getString("entitlement_id").equals(b.getString("entitlement_id")) && changedFields(a, b).isEmpty();
    }

    /** The seat ledger's form. */
    public static Entitlement toEntitlement(JsonObject canonical) {
        Map<String, Object> f = flatten(canonical);
        return new Entitlement(canonical.getString("entitlement_id"), (String) f.get(TENANT), (String) f.get(PRODUCT),
                Enforcement.ofName((String) f.get(ENFORCEMENT)), (Integer) f.get(MAX_SEATS),
                f.get(STARTS_AT) == null ? null : Instant.parse((String) f.get(STARTS_AT)),
                f.get(ENDS_AT) == null ? null : Instant.parse((String) f.get(ENDS_AT)));
    }
}
