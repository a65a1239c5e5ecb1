package dev.turnstile.appliance.metrics;

import dev.turnstile.appliance.Appliance;
import dev.turnstile.appliance.seat.LedgerEvent;
import dev.turnstile.appliance.seat.PoolView;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.netty4.NettyEventExecutorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.ToDoubleFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The appliance's meters and the seat history behind the status page's chart.
 *
 * <p>Registry: the one {@link VertxMetricsSetup} made for the appliance's Vert.x (production: Vert.x,
 * JVM and Netty meters are there already), or else a {@link PrometheusMeterRegistry} of its own with
 * the JVM and event-loop binders (tests create their own Vert.x). While started, the registry is also
 * a member of Micrometer's global registry, where the sync and the license register their meters.
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
public final class ApplianceMetrics {
    private static final Logger LOG = LoggerFactory.getLogger(ApplianceMetrics.class);
    /** A lease whose last heartbeat is older than this many heartbeat intervals counts as overdue. */
    public static final double OVERDUE_INTERVALS = 1.5;
    /** How long one copy of the leases serves the table and the heartbeat meters. */
    public static final long LEASE_SNAPSHOT_MAX_AGE_MS = 1_000;
    /** How often the event loops are probed. */
    public static final long EVENT_LOOP_PROBE_MS = 1_000;

    private final Appliance appliance;
    private final PrometheusMeterRegistry registry;
    private final boolean ownRegistry;
    private final LedgerCounters counters = new LedgerCounters();
    private final LeaseSnapshots leases;
    private final List<Meter> meters = new ArrayList<>();
    private final List<AutoCloseable> binders = new ArrayList<>();
    private final Map<String, PoolCell> pools = new HashMap<>();
    private final List<Consumer<SeatHistory.Sample>> sampleListeners = new CopyOnWriteArrayList<>();
    private volatile JsonObject storeStatus = new JsonObject();
    private EventLoopProbe probe;
    private SeatHistory history;
    private long sampleTimer = -1;
    private boolean inGlobal;
    private boolean started;

    /** The latest figures of one pool, read by its gauges. */
    private static final class PoolCell {
        volatile PoolView view;
        final List<Meter> meters = new ArrayList<>();

        PoolCell(PoolView view) {
            this.view = view;
        }
    }

    private ApplianceMetrics(Appliance appliance) {
        this.appliance = appliance;
        PrometheusMeterRegistry shared = VertxMetricsSetup.registryOf(appliance.vertx());
        this.ownRegistry = shared == null;
        this.registry = shared != null ? shared : new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        long overdueMs = (long) (OVERDUE_INTERVALS * appliance.config().server().heartbeatIntervalMs());
        this.leases = new LeaseSnapshots(appliance.vertx(), () -> appliance.ledger().leases(), appliance::nowMs,
                overdueMs, LEASE_SNAPSHOT_MAX_AGE_MS);
        appliance.registry().addJournalSink(counters);
        registerFixedMeters();
        if (ownRegistry) {
            bindJvmAndEventLoops(appliance.vertx());
        }
    }

    /** Creates the meters of {@code appliance} (call once, before clients connect). */
    public static ApplianceMetrics create(Appliance appliance) {
        return new ApplianceMetrics(appliance);
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
     * Starts sampling seats in use every {@code intervalMs} into a ring buffer of {@code samples},
     * probing the event loops, and joins Micrometer's global registry. Idempotent.
     */
    public synchronized void start(long intervalMs, int samples) {
        if (started) {
            return;
        }
        started = true;
        history = new SeatHistory(intervalMs, samples);
        sample();
        sampleTimer = appliance.vertx().setPeriodic(intervalMs, id -> sample());
        probe = new EventLoopProbe(appliance.vertx(), registry);
        probe.start(EVENT_LOOP_PROBE_MS);
        if (!Metrics.globalRegistry.getRegistries().contains(registry)) {
            Metrics.addRegistry(registry);
            inGlobal = true;
        }
    }

    private void sample() {
        SeatHistory h;
        synchronized (this) {
            h = history;
        }
        if (h == null) {
            return;
        }
        SeatHistory.Sample s = h.record(appliance.nowMs(), appliance.ledger().pools());
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
        refreshPools(appliance.ledger().pools());
        storeStatus = appliance.storeStatus();
        synchronized (meters) {
            meters.addAll(counters.registerNew(registry));
        }
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
                e.getValue().meters.forEach(registry::remove);
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
        return Gauge.builder(name, c, f).description(description)
                .tag("entitlement_id", c.view.entitlementId()).tag("tenant_id", c.view.tenantId())
                .tag("product_id", c.view.productId()).strongReference(true).register(registry);
    }

    private void registerFixedMeters() {
        Appliance a = appliance;
        gauge("turnstile.sessions", "Client sessions past HELLO", null, x -> a.registry().sessions());
        gauge("turnstile.connections", "Open client connections (with those before HELLO)", null,
                x -> a.registry().connections());
        gauge("turnstile.leases", "Live leases (held and orphaned)", null, x -> a.ledger().leaseCount());
        gauge("turnstile.waiting", "Checkouts waiting in any queue", null, x -> a.ledger().waiterCount());
        gauge("turnstile.ready", "1 while the appliance serves (TCP listening, configuration and license loaded)", null,
                x -> a.isReady() ? 1 : 0);
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
        meters.addAll(SessionLimitMeters.register(registry, a.registry(), a::nowMs));
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
     * Stops sampling and probing, leaves the global registry and, when the registry is the
     * appliance's own, closes it. The appliance's meters are removed from a shared registry.
     */
    public synchronized void close() {
        if (sampleTimer >= 0) {
            appliance.vertx().cancelTimer(sampleTimer);
            sampleTimer = -1;
        }
        if (probe != null) {
            probe.stop().forEach(registry::remove);
            probe = null;
        }
        if (inGlobal) {
            Metrics.removeRegistry(registry);
            inGlobal = false;
        }
        for (AutoCloseable c : binders) {
            try {
                c.close();
            } catch (Exception e) {
                LOG.debug("closing {}: {}", c, e.toString());
            }
        }
        binders.clear();
        if (ownRegistry) {
            registry.close();
        } else {
            synchronized (meters) {
                meters.forEach(registry::remove);
                meters.clear();
            }
            pools.values().forEach(c -> c.meters.forEach(registry::remove));
            pools.clear();
        }
        sampleListeners.clear();
    }
}
