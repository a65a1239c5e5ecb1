package dev.turnstile.appliance.metrics;

import dev.turnstile.appliance.lifecycle.Lifecycle;
import dev.turnstile.appliance.seat.LedgerEvent;
import dev.turnstile.appliance.seat.LedgerView;
import dev.turnstile.appliance.seat.PoolView;
import dev.turnstile.appliance.session.SessionRegistry;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.netty4.NettyEventExecutorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The appliance's meters and the seat history behind the status page's chart: a component ({@link Lifecycle})
 * whose {@link #start()} starts the seat-history sampling and the event-loop probe (with or without the HTTP
 * server: the history is metrics' own) and whose {@link #stop()} removes every meter it made.
 *
 * <p>Registry: injected by the composition root, the one {@code /metrics} serves: the registry
 * {@link VertxMetricsSetup} made for the appliance's Vert.x (production: Vert.x, JVM and Netty meters are there
 * already), or a {@link PrometheusMeterRegistry} the root made for this appliance alone (tests create their own
 * Vert.x; {@code ownsRegistry}: the JVM and event-loop binders are bound here and the registry is closed at stop).
 * The sync and the license register their meters in the same registry. Nothing goes through Micrometer's global
 * registry, so two appliances in one JVM never see each other's meters.
 *
 * <p>Meters (Prometheus names; HTTP.md lists them with their meaning):
 * {@code turnstile_seats_used|max|waiting|high_water{entitlement_id,tenant_id,product_id}},
 * {@code turnstile_checkouts_total}, {@code turnstile_denials_total{code}}, {@code turnstile_queued_total},
 * {@code turnstile_lease_ends_total}, {@code turnstile_lease_expiries_total}, {@code turnstile_heartbeats_total},
 * {@code turnstile_heartbeat_age_max_seconds}, {@code turnstile_heartbeat_age_mean_seconds},
 * {@code turnstile_heartbeat_overdue_leases}, {@code turnstile_sessions}, {@code turnstile_connections},
 * {@code turnstile_leases}, {@code turnstile_waiting}, {@code turnstile_store_*}, {@code turnstile_event_loop_delay_*}.
 *
 * <p>Cost on the seat path: one journal sink that increments a counter (see {@link LedgerCounters}).
 * Everything else is computed when {@code /metrics} is scraped ({@link #scrape}, on a worker thread)
 * or when the history samples (once per interval).
 */
public final class ApplianceMetrics implements Lifecycle {
    private static final Logger LOG = LoggerFactory.getLogger(ApplianceMetrics.class);
    /** A lease whose last heartbeat is older than this many heartbeat intervals counts as overdue. */
    public static final double OVERDUE_INTERVALS = 1.5;
    /** How long one copy of the leases serves the table and the heartbeat meters. */
    public static final long LEASE_SNAPSHOT_MAX_AGE_MS = 1_000;
    /** How often the event loops are probed. */
    public static final long EVENT_LOOP_PROBE_MS = 1_000;

    /**
     * What the meters read: narrow views of the appliance, never the appliance itself.
     *
     * @param ledger      seats, pools and leases (read only)
     * @param sessions    connections, sessions and their limits; ledger events reach the counters through it
     * @param clock       the appliance's clock (ms)
     * @param ready       whether the appliance serves ({@code turnstile_ready})
     * @param storeStatus the store's figures ({@code turnstile_store_*})
     */
    public record Views(LedgerView ledger, SessionRegistry sessions, LongSupplier clock, BooleanSupplier ready,
                        Supplier<JsonObject> storeStatus) {
    }

    /**
     * How the metrics run.
     *
     * @param heartbeatIntervalMs the heartbeat interval clients are told (a lease is overdue after
     *                            {@link #OVERDUE_INTERVALS} of them)
     * @param historyIntervalMs   how often the seat history samples
     * @param historySamples      how many samples it keeps
     */
    public record Settings(long heartbeatIntervalMs, long historyIntervalMs, int historySamples) {
    }

    private final Vertx vertx;
    private final Views views;
    private final Settings settings;
    private final PrometheusMeterRegistry registry;
    private final boolean ownRegistry;
    private final LedgerCounters counters = new LedgerCounters();
    private final LeaseSnapshots leases;
    /** Every meter made here (fixed, counters, pools, probe): removed at stop. */
    private final MeterSet meters;
    private final List<AutoCloseable> binders = new ArrayList<>();
    private final Map<String, PoolCell> pools = new HashMap<>();
    private final List<Consumer<SeatHistory.Sample>> sampleListeners = new CopyOnWriteArrayList<>();
    private volatile JsonObject storeStatus = new JsonObject();
    private EventLoopProbe probe;
    private SeatHistory history;
    private long sampleTimer = -1;
    private boolean started;

    /** The latest figures of one pool, read by its gauges. */
    private static final class PoolCell {
        volatile PoolView view;
        final List<Meter> meters = new ArrayList<>();

        PoolCell(PoolView view) {
            this.view = view;
        }
    }

    /**
     * Creates the meters (call once, before clients connect: ledger events are counted from here on).
     *
     * @param registry     the registry behind {@code /metrics}, made by the composition root
     * @param ownsRegistry true when the registry serves this appliance alone: the JVM and event-loop binders are
     *                     bound to it here and it is closed at {@link #stop()}; false for the registry of a Vert.x
     *                     made by {@link VertxMetricsSetup}, which has them already and outlives the appliance
     */
    public ApplianceMetrics(Vertx vertx, PrometheusMeterRegistry registry, boolean ownsRegistry, Views views,
                            Settings settings) {
        this.vertx = vertx;
        this.views = views;
        this.settings = settings;
        this.registry = registry;
        this.ownRegistry = ownsRegistry;
        this.meters = new MeterSet(registry);
        long overdueMs = (long) (OVERDUE_INTERVALS * settings.heartbeatIntervalMs());
        this.leases = new LeaseSnapshots(vertx, views.ledger()::leases, views.clock(), overdueMs,
                LEASE_SNAPSHOT_MAX_AGE_MS);
        views.sessions().addJournalSink(counters);
        registerFixedMeters();
        if (ownRegistry) {
            bindJvmAndEventLoops(vertx);
        }
    }

    @Override
    public String name() {
        return "metrics";
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    /** The shared lease copy (leases table, heartbeat meters). */
    public LeaseSnapshots leases() {
        return leases;
    }

    /** The seat history, or null before {@link #start}. */
    public synchronized SeatHistory history() {
        return history;
    }

    /** Called with every new history sample (on an event loop; must not block). */
    public void onSample(Consumer<SeatHistory.Sample> listener) {
        sampleListeners.add(listener);
    }

    public void removeSampleListener(Consumer<SeatHistory.Sample> listener) {
        sampleListeners.remove(listener);
    }

    /**
     * Starts sampling seats in use every {@code historyIntervalMs} into a ring buffer of {@code historySamples}
     * and probing the event loops. Independent of the HTTP server: with {@code http.enabled: false} the history
     * is still kept (and {@code /metrics} of a shared registry still shows the probe). Idempotent.
     */
    @Override
    public synchronized Future<Void> start() {
        if (started) {
            return Future.succeededFuture();
        }
        started = true;
        history = new SeatHistory(settings.historyIntervalMs(), settings.historySamples());
        sample();
        sampleTimer = vertx.setPeriodic(settings.historyIntervalMs(), id -> sample());
        probe = new EventLoopProbe(vertx, registry);
        probe.start(EVENT_LOOP_PROBE_MS);
        return Future.succeededFuture();
    }

    private void sample() {
        SeatHistory h;
        synchronized (this) {
            h = history;
        }
        if (h == null) {
            return;
        }
        SeatHistory.Sample s = h.record(views.clock().getAsLong(), views.ledger().pools());
        for (Consumer<SeatHistory.Sample> l : sampleListeners) {
            try {
                l.accept(s);
            } catch (RuntimeException e) {
                LOG.warn("history listener failed: {}", e.toString());
            }
        }
    }

    /**
     * Brings the computed meters up to date (pools added or removed, new counters, store figures,
     * heartbeat ages) and renders the registry in Prometheus text format. Blocks for O(leases) at
     * most once per second: call it on a worker thread.
     */
    public String scrape() {
        refresh();
        return registry.scrape();
    }

    /** Updates the meters that are computed rather than counted. Safe on any thread; O(pools) plus the lease copy. */
    public void refresh() {
        refreshPools(views.ledger().pools());
        storeStatus = views.storeStatus().get();
        meters.addAll(counters.registerNew(registry));
    }

    private synchronized void refreshPools(List<PoolView> views) {
        Map<String, PoolView> now = new HashMap<>();
        for (PoolView v : views) {
            now.put(v.entitlementId(), v);
        }
        var it = pools.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<String, PoolCell> e = it.next();
            PoolView v = now.get(e.getKey());
            if (v == null || !v.productId().equals(e.getValue().view.productId())
                    || !v.tenantId().equals(e.getValue().view.tenantId())) {
                e.getValue().meters.forEach(meters::remove);
                it.remove();
            } else {
                e.getValue().view = v;
            }
        }
        for (PoolView v : views) {
            if (!pools.containsKey(v.entitlementId())) {
                PoolCell c = new PoolCell(v);
                c.meters.add(poolGauge("turnstile.seats.used", "Seats in use", c, x -> x.view.used()));
                c.meters.add(poolGauge("turnstile.seats.max", "Seats the entitlement allows", c, x -> x.view.maxSeats()));
                c.meters.add(poolGauge("turnstile.seats.waiting", "Checkouts waiting in the pool's queue", c, x -> x.view.waiting()));
                c.meters.add(poolGauge("turnstile.seats.high.water", "Most seats in use at once since start", c,
                        x -> x.view.highWater()));
                pools.put(v.entitlementId(), c);
            }
        }
    }

    private Meter poolGauge(String name, String description, PoolCell c, ToDoubleFunction<PoolCell> f) {
        return meters.add(Gauge.builder(name, c, f).description(description)
                .tag("entitlement_id", c.view.entitlementId()).tag("tenant_id", c.view.tenantId())
                .tag("product_id", c.view.productId()).strongReference(true).register(registry));
    }

    private void registerFixedMeters() {
        SessionRegistry sessions = views.sessions();
        LedgerView ledger = views.ledger();
        BooleanSupplier ready = views.ready();
        gauge("turnstile.sessions", "Client sessions past HELLO", null, x -> sessions.sessions());
        gauge("turnstile.connections", "Open client connections (with those before HELLO)", null,
                x -> sessions.connections());
        gauge("turnstile.leases", "Live leases (held and orphaned)", null, x -> ledger.leaseCount());
        gauge("turnstile.waiting", "Checkouts waiting in any queue", null, x -> ledger.waiterCount());
        gauge("turnstile.ready", "1 while the appliance serves (TCP listening, configuration and license loaded)", null,
                x -> ready.getAsBoolean() ? 1 : 0);
        meters.add(FunctionCounter.builder("turnstile.heartbeats", counters, LedgerCounters::heartbeats)
                .description("Lease heartbeats received (one per lease named in a HEARTBEAT)").register(registry));
        meters.add(FunctionCounter.builder("turnstile.ledger.events", counters, LedgerCounters::events)
                .description("Changes of the seat ledger (every journal event)").register(registry));
        // Heartbeat lag, from the shared lease copy (refreshed at most once a second).
        gauge("turnstile.heartbeat.age.max", "Longest time since a held lease's last heartbeat", "seconds",
                x -> leases.getBlocking().heartbeats().maxAgeMs() / 1000.0);
        gauge("turnstile.heartbeat.age.mean", "Mean time since the held leases' last heartbeats", "seconds",
                x -> leases.getBlocking().heartbeats().meanAgeMs() / 1000.0);
        gauge("turnstile.heartbeat.overdue.leases", "Held leases whose last heartbeat is older than "
                + OVERDUE_INTERVALS + " heartbeat intervals", null, x -> leases.getBlocking().heartbeats().overdue());
        // Write-behind store (figures from its status; memory-only stores report zeros).
        gauge("turnstile.store.persistent", "1 when a database is configured, 0 on memory alone", null,
                x -> storeStatus.getBoolean("persistent", false) ? 1 : 0);
        gauge("turnstile.store.connected", "1 while the database is reachable", null,
                x -> storeStatus.getBoolean("connected", false) ? 1 : 0);
        gauge("turnstile.store.queue.depth", "Events held in memory for the database", null,
                x -> num("queueDepth"));
        gauge("turnstile.store.lag.events", "Events not yet written to the database (memory, spill and batch)", null,
                x -> num("lagEvents"));
        gauge("turnstile.store.lag", "Age of the oldest event not yet written to the database", "seconds",
                x -> num("lagMs") / 1000.0);
        gauge("turnstile.store.spilled", "Bytes spilled to the local file while the database was away", "bytes",
                x -> num("spilledBytes"));
        counter("turnstile.store.events.written", "Events written to the database", "eventsWritten");
        counter("turnstile.store.write.failures", "Batches the database refused or failed", "writeFailures");
        counter("turnstile.store.dropped.events", "Events dropped (only with the drop overflow policy)", "droppedEvents");
        // limits: sessions by state, caps, refusals, evictions, incomplete-frame bytes, authentication back-off
        meters.addAll(SessionLimitMeters.register(registry, sessions, views.clock()));
    }

    private double num(String key) {
        Object v = storeStatus.getValue(key);
        return v instanceof Number n ? n.doubleValue() : 0;
    }

    private void gauge(String name, String description, String unit, ToDoubleFunction<ApplianceMetrics> f) {
        Gauge.Builder<ApplianceMetrics> b = Gauge.builder(name, this, f).description(description).strongReference(true);
        if (unit != null) {
            b.baseUnit(unit);
        }
        meters.add(b.register(registry));
    }

    private void counter(String name, String description, String key) {
        meters.add(FunctionCounter.builder(name, this, m -> m.num(key)).description(description).register(registry));
    }

    private void bindJvmAndEventLoops(Vertx vertx) {
        List<MeterBinder> list = new ArrayList<>(List.of(new ClassLoaderMetrics(), new JvmMemoryMetrics(),
                new JvmThreadMetrics(), new ProcessorMetrics(), new UptimeMetrics()));
        JvmGcMetrics gc = new JvmGcMetrics();
        list.add(gc);
        binders.add(gc);
        if (vertx instanceof VertxInternal vi) {
            list.add(new NettyEventExecutorMetrics(vi.eventLoopGroup()));
        }
        for (MeterBinder b : list) {
            try {
                b.bindTo(registry);
            } catch (RuntimeException e) {
                LOG.debug("meter binder {} not bound: {}", b.getClass().getSimpleName(), e.toString());
            }
        }
    }

    /** Counts of ledger events by product and kind, for tests and the status page. */
    public long count(String productId, LedgerEvent.Kind kind) {
        return counters.count(productId, kind);
    }

    public long count(String productId, LedgerEvent.Kind kind, dev.turnstile.protocol.ErrorCode reason) {
        return counters.count(productId, kind, reason);
    }

    /**
     * Stops sampling and probing and removes every meter made here; when the registry is this appliance's own,
     * closes it. Idempotent.
     */
    @Override
    public Future<Void> stop() {
        close();
        return Future.succeededFuture();
    }

    /** {@link #stop()}, synchronously. */
    public synchronized void close() {
        if (sampleTimer >= 0) {
            vertx.cancelTimer(sampleTimer);
            sampleTimer = -1;
        }
        if (probe != null) {
            probe.stop().forEach(registry::remove);
            probe = null;
        }
        for (AutoCloseable c : binders) {
            try {
                c.close();
            } catch (Exception e) {
                LOG.debug("closing {}: {}", c, e.toString());
            }
        }
        binders.clear();
        meters.removeAll();
        pools.clear();
        if (ownRegistry) {
            registry.close();
        }
        sampleListeners.clear();
    }
}
