package dev.turnstile.appliance.testing;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/** Configuration trees for tests: loopback, a port chosen at run time, fast timings. */
public final class TestAppliances {
    private TestAppliances() {
    }

    public static JsonObject config(String serverId, int seats) {
        return new JsonObject()
                .put("server", new JsonObject()
                        .put("id", serverId)
                        .put("host", "127.0.0.1")
                        .put("port", 0)
                        .put("event_loops", 2)
                        .put("heartbeat_interval", "500ms")
                        .put("lease_timeout", "1500ms")
                        .put("reclaim_grace", "0s")
                        .put("hello_timeout", "1s")
                        .put("drain_timeout", "1s"))
                .put("clients", new JsonObject().put("min_version", "1.0.0"))
                .put("entitlements", new JsonArray()
                        .add(entitlement("ent-cad", "cad-pro", seats, "seats"))
                        .add(entitlement("ent-sim", "sim-suite", 2, "checkouts")));
    }

    public static JsonObject entitlement(String id, String product, int seats, String enforcement) {
        return new JsonObject()
                .put("entitlement_id", id)
                .put("tenant_id", "acme")
                .put("product_id", product)
                .put("policy", new JsonObject().put("type", "concurrent").put("max_seats", seats)
                        .put("enforcement", enforcement))
                .put("starts_at", "2026-01-01T00:00:00Z")
                .put("ends_at", "2036-01-01T00:00:00Z");
    }
}
