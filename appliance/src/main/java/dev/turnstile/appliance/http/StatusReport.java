package dev.turnstile.appliance.http;

import dev.turnstile.appliance.lifecycle.ServingState;
import dev.turnstile.appliance.seat.LedgerView;
import dev.turnstile.appliance.seat.PoolView;
import dev.turnstile.appliance.session.SessionRegistry;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The summary behind {@code GET /v1/status}, the status page and its live stream, assembled from narrow views of
 * the appliance (the ledger read only, the session registry, the serving state, the clock) and from the sections
 * other components add ({@code sync} and {@code license} from the sync, {@code triad} and {@code role} from a triad
 * member). Reads only in-memory figures: O(pools), never blocks. Thread-safe.
 */
public final class StatusReport {

    /**
     * The appliance's own facts that no component owns alone.
     *
     * @param serverId            {@code server.id}
     * @param legacyReclaim       {@code server.legacy_reclaim} as configured (PROTOCOL.md 10.6)
     * @param heartbeatIntervalMs {@code server.heartbeat_interval}: the page marks leases whose heartbeat is overdue
     * @param tcpPort             the client port bound (0 until the listener runs)
     * @param memoryOnly          true while no database is configured
     * @param warnings            the open settings, as {@code [{"code", "message"}]} (ConfigWarnings)
     * @param storeStatus         the store's figures (mode, connected, queue depth, lag, ...)
     */
    public record Facts(String serverId, String legacyReclaim, long heartbeatIntervalMs, IntSupplier tcpPort,
                        BooleanSupplier memoryOnly, Supplier<JsonArray> warnings, Supplier<JsonObject> storeStatus) {
    }

    private final Facts facts;
    private final ServingState serving;
    private final LedgerView ledger;
    private final SessionRegistry sessions;
    private final LongSupplier clock;
    private final List<Consumer<JsonObject>> sections = new CopyOnWriteArrayList<>();

    public StatusReport(Facts facts, ServingState serving, LedgerView ledger, SessionRegistry sessions,
                        LongSupplier clock) {
        this.facts = facts;
        this.serving = serving;
        this.ledger = ledger;
        this.sessions = sessions;
        this.clock = clock;
    }

    /** Adds a component's part of the summary (it puts its keys into the object it is given; must not block). */
    public void addSection(Consumer<JsonObject> section) {
        sections.add(section);
    }

    public ServingState serving() {
        return serving;
    }

    public long heartbeatIntervalMs() {
        return facts.heartbeatIntervalMs();
    }

    /** The store's figures now. */
    public JsonObject storeStatus() {
        return facts.storeStatus().get();
    }

    /** The appliance's summary: serving state, counts, pools, warnings and the components' sections. */
    public JsonObject summary() {
        JsonArray pools = new JsonArray();
        for (PoolView p : ledger.pools()) {
            pools.add(HttpApi.poolJson(p));
        }
        JsonObject status = new JsonObject()
                .put("server_id", facts.serverId())
                .put("ready", serving.ready())
                .put("draining", serving.draining())
                .put("server_time", Instant.ofEpochMilli(clock.getAsLong()).toString())
                .put("tcp_port", facts.tcpPort().getAsInt())
                .put("connections", sessions.connections())
                .put("sessions", sessions.sessions())
                .put("leases", ledger.leaseCount())
                .put("waiting", ledger.waiterCount())
                .put("memory_only", facts.memoryOnly().getAsBoolean())
                .put("legacy_reclaim", facts.legacyReclaim()) // secret: PROTOCOL.md 10.6
                .put("pools", pools)
                .put("warnings", facts.warnings().get()); // config: open settings
        for (Consumer<JsonObject> s : sections) {
            s.accept(status); // sync: "sync" and "license"; triad: "triad" and "role"
        }
        return status;
    }

    /** The summary plus the store's figures and the server role (null outside a triad), for the page. */
    public JsonObject page() {
        JsonObject s = summary();
        if (!s.containsKey("store")) {
            s.put("store", storeStatus());
        }
        if (!s.containsKey("role")) {
            s.put("role", null);
        }
        return s;
    }
}
