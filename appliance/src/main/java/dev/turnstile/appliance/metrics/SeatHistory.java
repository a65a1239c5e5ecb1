package dev.turnstile.appliance.metrics;

import dev.turnstile.appliance.seat.PoolView;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Seats in use per product over the last window (an hour by default), one sample per interval (10 s
 * by default), kept in a ring buffer so that a status page opened late still draws the whole hour.
 * A product's value in a sample is the sum over its pools (a product can have several entitlements).
 * Products that appear later have no value (null) in the samples before they existed; products
 * that are gone stay until their last sample leaves the window. Thread-safe (synchronized; a sample
 * costs O(products), a read O(products x samples), about 360 x products numbers).
 */
public final class SeatHistory {
    /** One sample, as pushed to live pages. */
    public record Sample(long atMs, Map<String, Long> used, Map<String, Long> max) {
        public JsonObject toJson() {
            JsonObject u = new JsonObject();
            used.forEach(u::put);
            JsonObject m = new JsonObject();
            max.forEach(m::put);
            return new JsonObject().put("at", Instant.ofEpochMilli(atMs).toString()).put("used", u).put("max", m);
        }
    }

    private final long intervalMs;
    private final int capacity;
    private final long[] times;
    /** product -> used seats per slot (-1: no value); same indexing as {@link #times}. */
    private final Map<String, long[]> used = new LinkedHashMap<>();
    /** product -> its latest maximum (sum of max_seats of its pools). */
    private final Map<String, Long> max = new LinkedHashMap<>();
    private int next;
    private int size;

    public SeatHistory(long intervalMs, int capacity) {
        if (intervalMs <= 0 || capacity <= 0) {
            throw new IllegalArgumentException("interval and capacity must be positive");
        }
        this.intervalMs = intervalMs;
        this.capacity = capacity;
        this.times = new long[capacity];
    }

    public long intervalMs() {
        return intervalMs;
    }

    public int capacity() {
        return capacity;
    }

    /** Sums {@code pools} by product and records them as the sample at {@code atMs}. */
    public Sample record(long atMs, List<PoolView> pools) {
        Map<String, Long> u = new LinkedHashMap<>();
        Map<String, Long> m = new LinkedHashMap<>();
        for (PoolView p : pools) {
            u.merge(p.productId(), p.used(), Long::sum);
            m.merge(p.productId(), (long) p.maxSeats(), Long::sum);
        }
        record(atMs, u, m);
        return new Sample(atMs, u, m);
    }

    /** Records one sample: seats in use and the maximum per product. */
    public synchronized void record(long atMs, Map<String, Long> usedByProduct, Map<String, Long> maxByProduct) {
        int slot = next;
        times[slot] = atMs;
        for (Map.Entry<String, Long> e : usedByProduct.entrySet()) {
            used.computeIfAbsent(e.getKey(), k -> {
                long[] a = new long[capacity];
                java.util.Arrays.fill(a, -1);
                return a;
            });
        }
        var it = used.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<String, long[]> e = it.next();
            Long v = usedByProduct.get(e.getKey());
            e.getValue()[slot] = v == null ? -1 : v;
            if (v == null && allEmpty(e.getValue())) {
                it.remove();
                max.remove(e.getKey());
            }
        }
        max.putAll(maxByProduct);
        next = (next + 1) % capacity;
        size = Math.min(size + 1, capacity);
    }

    /** True when no slot holds a value (slots outside the window were overwritten or never written). */
    private static boolean allEmpty(long[] a) {
        for (long v : a) {
            if (v >= 0) {
                return false;
            }
        }
        return true;
    }

    public synchronized int size() {
        return size;
    }

    /**
     * The whole buffer, oldest first:
     * {@code {"interval_ms", "window_ms", "times": [ISO...], "products": {"cad-pro": {"max": 3, "used": [2, 3, null...]}}}}.
     */
    public synchronized JsonObject toJson() {
        JsonArray t = new JsonArray();
        int first = (next - size + capacity) % capacity;
        for (int i = 0; i < size; i++) {
            t.add(Instant.ofEpochMilli(times[(first + i) % capacity]).toString());
        }
        JsonObject products = new JsonObject();
        for (Map.Entry<String, long[]> e : used.entrySet()) {
            JsonArray values = new JsonArray();
            long[] a = e.getValue();
            for (int i = 0; i < size; i++) {
                long v = a[(first + i) % capacity];
                values.add(v < 0 ? null : v);
            }
            products.put(e.getKey(), new JsonObject().put("max", max.getOrDefault(e.getKey(), 0L)).put("used", values));
        }
        return new JsonObject().put("interval_ms", intervalMs).put("window_ms", intervalMs * capacity)
                .put("times", t).put("products", products);
    }
}
