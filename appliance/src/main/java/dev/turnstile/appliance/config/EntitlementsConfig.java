package dev.turnstile.appliance.config;

import dev.turnstile.appliance.seat.Entitlement;
import dev.turnstile.protocol.Enforcement;
import dev.turnstile.protocol.Limits;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The {@code entitlements:} list. Until the cloud sync lands these are the appliance's pools:
 * <pre>
 * - entitlement_id: ent-cad
 *   tenant_id: acme
 *   product_id: cad-pro
 *   policy: {type: concurrent, max_seats: 3, enforcement: seats}
 *   starts_at: 2026-01-01T00:00:00Z
 *   ends_at: 2027-01-01T00:00:00Z
 * </pre>
 */
public final class EntitlementsConfig {
    public static final ConfigKey ENTITLEMENTS = ConfigKey.list("entitlements",
            "The pools the appliance serves from the file (until the vendor's cloud or an imported license provides "
                    + "them): a list of entries.");
    public static final ConfigKey ENTITLEMENT_ID = ConfigKey.string("entitlements[].entitlement_id", null, "required",
            "Unique id of the entitlement (at most " + Limits.MAX_ENTITLEMENT_ID + " bytes)");
    public static final ConfigKey TENANT_ID = ConfigKey.string("entitlements[].tenant_id", null, "required",
            "The customer (plant) it belongs to");
    public static final ConfigKey PRODUCT_ID = ConfigKey.string("entitlements[].product_id", null, "required",
            "The product clients check out (at most " + Limits.MAX_PRODUCT + " bytes)");
    public static final ConfigKey POLICY = ConfigKey.mapping("entitlements[].policy", "How seats are counted");
    public static final ConfigKey POLICY_TYPE = ConfigKey.choice("entitlements[].policy.type", "concurrent",
            List.of("concurrent"), "Concurrent seats: a lease holds one while its socket heartbeats");
    public static final ConfigKey POLICY_MAX_SEATS = ConfigKey.integer("entitlements[].policy.max_seats", null,
            "required", 0, 1_000_000_000, "Seats in use at most");
    public static final ConfigKey POLICY_ENFORCEMENT = ConfigKey.choice("entitlements[].policy.enforcement",
            Enforcement.SEATS.configName(), List.of("seats", "checkouts"),
            "seats: a lease holds its quantity of seats; checkouts: a lease is one checkout and its quantity must be 1");
    public static final ConfigKey STARTS_AT = ConfigKey.instant("entitlements[].starts_at", "none (valid now)",
            "Start of validity");
    public static final ConfigKey ENDS_AT = ConfigKey.instant("entitlements[].ends_at", "none (no end)",
            "End of validity (after starts_at)");

    public static ConfigSection section() {
        return ConfigSection.of(ENTITLEMENTS, "Reloadable: a reload adds, changes and removes pools without "
                + "dropping clients.", ENTITLEMENT_ID, TENANT_ID, PRODUCT_ID, POLICY, POLICY_TYPE, POLICY_MAX_SEATS,
                POLICY_ENFORCEMENT, STARTS_AT, ENDS_AT);
    }

    private EntitlementsConfig() {
    }

    public static List<Entitlement> bind(JsonArray list, ConfigReader r) {
        List<Entitlement> out = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < list.size(); i++) {
            String k = "entitlements[" + i + "]";
            Object v = list.getValue(i);
            if (!(v instanceof JsonObject o)) {
                r.problem(k, "a mapping with entitlement_id, tenant_id, product_id, policy", v);
                continue;
            }
            String id = r.requiredString(o, ENTITLEMENT_ID, k);
            String tenant = r.requiredString(o, TENANT_ID, k);
            String product = r.requiredString(o, PRODUCT_ID, k);
            if (id.length() > Limits.MAX_ENTITLEMENT_ID) {
                r.problem(k + ".entitlement_id", "at most " + Limits.MAX_ENTITLEMENT_ID + " bytes", id);
            }
            if (product.length() > Limits.MAX_PRODUCT) {
                r.problem(k + ".product_id", "at most " + Limits.MAX_PRODUCT + " bytes", product);
            }
            if (!id.isEmpty() && !ids.add(id)) {
                r.problem(k + ".entitlement_id", "a unique id", id + " (duplicate)");
            }
            JsonObject policy = r.object(o, POLICY, k);
            String p = k + ".policy";
            String type = r.string(policy, POLICY_TYPE, p);
            if (!type.equals("concurrent")) {
                r.problem(p + ".type", "concurrent", type);
            }
            long max = r.integer(policy, POLICY_MAX_SEATS, p);
            if (max < 0 && policy.getValue("max_seats") == null) {
                r.problem(p + ".max_seats", "an integer from 0 to 1000000000", null);
            }
            String enf = r.string(policy, POLICY_ENFORCEMENT, p);
            Enforcement enforcement = Enforcement.ofName(enf);
            if (enforcement == null) {
                r.problem(p + ".enforcement", "seats or checkouts", enf);
                enforcement = Enforcement.SEATS;
            }
            Instant starts = r.instant(o, STARTS_AT, k);
            Instant ends = r.instant(o, ENDS_AT, k);
            if (starts != null && ends != null && !ends.isAfter(starts)) {
                r.problem(k + ".ends_at", "an instant after starts_at (" + starts + ")", ends.toString());
            }
            if (max >= 0 && !id.isEmpty() && !tenant.isEmpty() && !product.isEmpty()) {
                out.add(new Entitlement(id, tenant, product, enforcement, (int) max, starts, ends));
            }
        }
        return out;
    }
}
