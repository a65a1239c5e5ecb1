package dev.turnstile.appliance.http;

import dev.turnstile.appliance.metrics.LeaseSnapshots;
import dev.turnstile.appliance.seat.LeaseState;
import dev.turnstile.appliance.seat.LeaseView;
import io.vertx.core.MultiMap;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.List;
import java.util.Locale;

/**
 * One request for a page of leases: {@code product} (exact), {@code state} ({@code held} or
 * {@code orphaned}), {@code q} (case-insensitive substring of client id, hardware id, host or lease
 * id), {@code order} ({@code oldest} first, the default, or {@code newest}), {@code offset} and
 * {@code limit} (1 to {@value #MAX_LIMIT}, default {@value #DEFAULT_LIMIT}). Runs over a shared copy of
 * the leases: a page without filters costs O(limit), a filtered one O(leases) (a few milliseconds
 * at 100,000, on a worker thread). Only the page is rendered, never all the leases.
 */
record LeaseQuery(String product, LeaseState state, String needle, boolean newestFirst, int offset, int limit) {
    static final int DEFAULT_LIMIT = 50;
    static final int MAX_LIMIT = 1_000;
    static final int MAX_FILTER = 256;
    /** Copies up to this size are paged on the event loop when no filter applies (O(limit) anyway). */
    static final int INLINE_LIMIT = 1_000_000;

    static LeaseQuery parse(MultiMap params) {
        String product = text(params, "product");
        String q = text(params, "q");
        String stateText = text(params, "state");
        LeaseState state = null;
        if (stateText != null) {
            state = switch (stateText) {
                case "held" -> LeaseState.HELD;
                case "orphaned" -> LeaseState.ORPHANED;
                default -> throw ApiError.badRequest("state must be held or orphaned, got '"
                        + HttpApi.truncate(stateText, 32) + "'");
            };
        }
        String order = text(params, "order");
        if (order != null && !order.equals("oldest") && !order.equals("newest")) {
            throw ApiError.badRequest("order must be oldest or newest, got '" + HttpApi.truncate(order, 32) + "'");
        }
        return new LeaseQuery(product, state, q == null ? null : q.toLowerCase(Locale.ROOT), "newest".equals(order),
                intParam(params, "offset", 0, 0, Integer.MAX_VALUE), intParam(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT));
    }

    boolean filters() {
        return product != null || state != null || needle != null;
    }

    private static String text(MultiMap params, String name) {
        String v = params.get(name);
        if (v == null || v.isEmpty()) {
            return null;
        }
        if (v.length() > MAX_FILTER) {
            throw ApiError.badRequest(name + " must be at most " + MAX_FILTER + " characters");
        }
        return v;
    }

    private static int intParam(MultiMap params, String name, int def, int min, int max) {
        String v = params.get(name);
        if (v == null || v.isEmpty()) {
            return def;
        }
        try {
            int n = Integer.parseInt(v);
            if (n < min || n > max) {
                throw ApiError.badRequest(name + " must be between " + min + " and " + max + ", got " + v);
            }
            return n;
        } catch (NumberFormatException e) {
            throw ApiError.badRequest(name + " must be an integer, got '" + HttpApi.truncate(v, 32) + "'");
        }
    }

    boolean matches(LeaseView l) {
        if (product != null && !l.productId().equals(product)) {
            return false;
        }
        if (state != null && l.state() != state) {
            return false;
        }
        return needle == null || contains(l.clientId(), needle) || contains(l.hwId(), needle)
                || contains(l.remoteAddress(), needle) || l.leaseId().toString().contains(needle);
    }

    private static boolean contains(String haystack, String lowerNeedle) {
        return haystack != null && haystack.toLowerCase(Locale.ROOT).contains(lowerNeedle);
    }

    /** {@code {"total", "offset", "limit", "order", "as_of", "leases": [...]}} over {@code snap}. */
    JsonObject run(LeaseSnapshots.Snapshot snap) {
        List<LeaseView> all = snap.leases();
        JsonArray page = new JsonArray();
        int total;
        int n = all.size();
        if (!filters()) {
            total = n;
            for (int i = offset; i < n && page.size() < limit; i++) {
                page.add(HttpApi.leaseJson(all.get(newestFirst ? n - 1 - i : i)));
            }
        } else {
            int matched = 0;
            for (int i = 0; i < n; i++) {
                LeaseView l = all.get(newestFirst ? n - 1 - i : i);
                if (!matches(l)) {
                    continue;
                }
                if (matched >= offset && page.size() < limit) {
                    page.add(HttpApi.leaseJson(l));
                }
                matched++;
            }
            total = matched;
        }
        return new JsonObject().put("total", total).put("offset", offset).put("limit", limit)
                .put("order", newestFirst ? "newest" : "oldest")
                .put("as_of", Instant.ofEpochMilli(snap.takenAtMs()).toString())
                .put("leases", page);
    }
}
