package dev.turnstile.appliance.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.turnstile.appliance.seat.PoolView;
import dev.turnstile.protocol.Enforcement;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The ring buffer behind the status page's chart. */
class SeatHistoryTest {
    private static PoolView pool(String ent, String product, int max, long used) {
        return new PoolView(ent, "acme", product, Enforcement.SEATS, max, used, 0, used, null, null);
    }

    @Test
    @DisplayName("GIVEN two pools of one product WHEN sampled THEN the product's value is their sum, and so is its maximum")
    void a_product_sums_its_pools() {
        SeatHistory h = new SeatHistory(10_000, 360);
        h.record(0, List.of(pool("e1", "cad", 3, 2), pool("e2", "cad", 5, 4), pool("e3", "sim", 2, 1)));
        JsonObject j = h.toJson();
        assertEquals(new JsonArray().add(6), j.getJsonObject("products").getJsonObject("cad").getJsonArray("used"));
        assertEquals(8, j.getJsonObject("products").getJsonObject("cad").getInteger("max"));
        assertEquals(3_600_000, j.getLong("window_ms"));
        assertEquals(new JsonArray().add("1970-01-01T00:00:00Z"), j.getJsonArray("times"));
    }

    @Test
    @DisplayName("GIVEN more samples than the buffer holds WHEN read THEN the oldest are gone and the order is oldest first")
    void the_oldest_samples_fall_out() {
        SeatHistory h = new SeatHistory(1_000, 4);
        for (int i = 0; i < 10; i++) {
            h.record(i * 1_000L, List.of(pool("e1", "cad", 10, i)));
        }
        JsonObject j = h.toJson();
        assertEquals(4, h.size());
        assertEquals(new JsonArray().add(6).add(7).add(8).add(9), j.getJsonObject("products").getJsonObject("cad").getJsonArray("used"));
        assertEquals("1970-01-01T00:00:06Z", j.getJsonArray("times").getString(0));
        assertEquals("1970-01-01T00:00:09Z", j.getJsonArray("times").getString(3));
    }

    @Test
    @DisplayName("GIVEN a product added later and one removed WHEN read THEN null marks where a product did not exist, "
            + "and a product leaves once its last sample has left the window")
    void products_come_and_go() {
        SeatHistory h = new SeatHistory(1_000, 3);
        h.record(0, List.of(pool("e1", "cad", 3, 1)));
        h.record(1_000, List.of(pool("e1", "cad", 3, 2), pool("e2", "sim", 2, 1)));
        JsonObject j = h.toJson();
        JsonArray sim = j.getJsonObject("products").getJsonObject("sim").getJsonArray("used");
        assertNull(sim.getValue(0));
        assertEquals(1, sim.getInteger(1));
        h.record(2_000, List.of(pool("e2", "sim", 2, 1)));
        assertNull(h.toJson().getJsonObject("products").getJsonObject("cad").getJsonArray("used").getValue(2));
        h.record(3_000, List.of(pool("e2", "sim", 2, 1)));
        assertEquals(new JsonArray().add(2).addNull().addNull(),
                h.toJson().getJsonObject("products").getJsonObject("cad").getJsonArray("used"), "cad's t=1s value is still in the window");
        h.record(4_000, List.of(pool("e2", "sim", 2, 1)));
        assertFalse(h.toJson().getJsonObject("products").containsKey("cad"), "cad left the window");
    }
}
