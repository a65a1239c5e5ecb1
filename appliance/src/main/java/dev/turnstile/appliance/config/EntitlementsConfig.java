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
            String id = r.requiredString(o, "entitlement_id", k + ".entitlement_id");
            String tenant = r.requiredString(o, "tenant_id", k + ".tenant_id");
            String product = r.requiredString(o, "product_id", k + ".product_id");
            if (id.length() > Limits.MAX_ENTITLEMENT_ID) {
                r.problem(k + ".entitlement_id", "at most " + Limits.MAX_ENTITLEMENT_ID + " bytes", id);
            }
            if (product.length() > Limits.MAX_PRODUCT) {
                r.problem(k + ".product_id", "at most " + Limits.MAX_PRODUCT + " bytes", product);
            }
            if (!id.isEmpty() && !ids.add(id)) {
                r.problem(k + ".entitlement_id", "a unique id", id + " (duplicate)");
            }
            JsonObject policy = r.object(o, "policy", k + ".policy");
            String type = r.string(policy, "type", k + ".policy.type", "concurrent");
            if (!type.equals("concurrent")) {
                r.problem(k + ".policy.type", "concurrent", type);
            }
            long max = r.integer(policy, "max_seats", k + ".policy.max_seats", -1, 0, 1_000_000_000);
            if (max < 0 && policy.getValue("max_seats") == null) {
                r.problem(k + ".policy.max_seats", "an integer from 0 to 1000000000", null);
            }
            String enf = r.string(policy, "enforcement", k + ".policy.enforcement", Enforcement.SEATS.configName());
            Enforcement enforcement = Enforcement.ofName(enf);
            if (enforcement == null) {
                r.problem(k + ".policy.enforcement", "seats or checkouts", enf);
                enforcement = Enforcement.SEATS;
            }
            Instant starts = r.instant(o, "starts_at", k + ".starts_at");
            Instant ends = r.instant(o, "ends_at", k + ".ends_at");
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
