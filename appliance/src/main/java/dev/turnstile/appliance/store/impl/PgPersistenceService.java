package dev.turnstile.appliance.store.impl;

import dev.turnstile.appliance.seat.Entitlement;
import dev.turnstile.appliance.seat.LeaseView;
import dev.turnstile.appliance.seat.LedgerEvent;
import dev.turnstile.appliance.store.PersistenceService;
import dev.turnstile.appliance.store.PgTarget;
import dev.turnstile.appliance.store.StoreConfig;
import io.vertx.core.Context;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.Collection;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;

/**
 * The PostgreSQL store: a lock-free queue ({@link EventQueue}) that the ledger's event loops feed, and the writer
 * ({@link StoreWriter}), a verticle on a worker context of its own (one thread), that drains it to Postgres with the
 * pg client's futures and spills to disk. This class is the part every thread touches: the sink, and the lifecycle
 * calls, which hand their work to the writer and complete on the caller's Vert.x context.
 */
public final class PgPersistenceService implements PersistenceService {
    private static final Logger LOG = StoreWriter.LOG;

    private final Vertx vertx;
    private final UUID runId = UUID.randomUUID();
    private final EventQueue queue;
    private final StoreWriter writer;
    private final LongAdder lateEvents = new LongAdder();
    private final AtomicLong lastDropLogMs = new AtomicLong();
    private final AtomicBoolean stopRequested = new AtomicBoolean();
    private volatile String deploymentId;

    private PgPersistenceService(Vertx vertx, StoreConfig config, Migrations migrations) {
        this.vertx = vertx;
        this.queue = new EventQueue(Math.max(4L * config.queueCapacity(), config.queueCapacity() + 500_000L));
        this.writer = new StoreWriter(config, PgTarget.of(config), migrations, queue, runId);
    }

    /** Starts the store with the appliance's migrations. */
    public static Future<PgPersistenceService> start(Vertx vertx, StoreConfig config) {
        return start(vertx, config, Migrations.fromClasspath(Migrations.DEFAULT_LOCATION));
    }

    /** Starts the store with the given migrations (tests use other folders). */
    public static Future<PgPersistenceService> start(Vertx vertx, StoreConfig config, Migrations migrations) {
        PgPersistenceService s;
        try {
            s = new PgPersistenceService(vertx, config, migrations);
        } catch (RuntimeException e) {
            return Future.failedFuture(e);
        }
        Context ctx = Vertx.currentContext();
        // A worker context with a pool of one thread of its own: the spill's file I/O never runs on an event loop,
        // and no other blocking task (executeBlocking elsewhere) delays the writer.
        DeploymentOptions options = new DeploymentOptions().setThreadingModel(ThreadingModel.WORKER)
                .setWorkerPoolName("turnstile-store-writer-" + s.runId.toString().substring(0, 8)).setWorkerPoolSize(1);
        Future<PgPersistenceService> started = vertx.deployVerticle(s.writer, options).map(id -> {
            s.deploymentId = id;
            return s;
        });
        return onCaller(ctx, started);
    }

    // ------------------------------------------------------------------ the sink

    @Override
    public boolean persistent() {
        return true;
    }

    @Override
    public void journal(LedgerEvent event) {
        enqueue(event, null, -1);
    }

    @Override
    public void journalKeyed(LedgerEvent event, UUID keyId, long seq) {
        enqueue(event, keyId, seq);
    }

    /** The one path of both: an event keyed by this run (the writer numbers it) or already keyed (a triad's). */
    private void enqueue(LedgerEvent event, UUID keyId, long seq) {
        if (event == null) {
            return;
        }
        if (writer.stopped()) {
            lateEvents.increment();
            logRateLimited(false, "store: an event arrived after the store stopped and is not written: {}", event, null);
            return;
        }
        QueuedEvent q = keyId == null ? new QueuedEvent(event, System.currentTimeMillis())
                : new QueuedEvent(event, System.currentTimeMillis(), keyId, seq);
        if (keyId != null) {
            q.queuedBy = runId;
        }
        StoreWriter.Fence f = writer.fence();
        if (f != null) {
            q.fence = f.journalId();
            q.term = f.term();
        }
        if (queue.offer(q) < 0) {
            logRateLimited(true, "store: {} events held in memory and the writer cannot spill them: dropping {} (total "
                    + "dropped so far in status.dropped_events)", queue.depth(), event);
        }
    }

    private void logRateLimited(boolean error, String format, Object a, Object b) {
        long now = System.currentTimeMillis();
        long last = lastDropLogMs.get();
        if (now - last >= 1_000 && lastDropLogMs.compareAndSet(last, now)) {
            if (error) {
                LOG.error(format, a, b);
            } else {
                LOG.warn(format, a);
            }
        }
    }

    // ------------------------------------------------------------------ lifecycle API

    @Override
    public Future<Long> maxJournalSeq(UUID keyId) {
        return onCaller(Vertx.currentContext(), writer.maxJournalSeq(keyId));
    }

    @Override
    public Future<Integer> reconcileLeases(List<LeaseView> live, long nowMs) {
        return onCaller(Vertx.currentContext(), writer.reconcileLeases(live, nowMs));
    }

    @Override
    public Future<Long> raiseFence(UUID journalId, long term, String member) {
        return onCaller(Vertx.currentContext(), writer.raiseFence(journalId, term, member));
    }

    @Override
    public long fencedEvents() {
        return writer.fencedEvents();
    }

    @Override
    public void recordEntitlements(Collection<Entitlement> current) {
        writer.recordEntitlements(List.copyOf(current));
    }

    @Override
    public Future<Void> flush() {
        return onCaller(Vertx.currentContext(), writer.flush());
    }

    @Override
    public Future<List<LeaseView>> loadActiveLeases() {
        return onCaller(Vertx.currentContext(), writer.loadActiveLeases());
    }

    /** Undeploys the writer, which writes everything held first (spilling what Postgres does not take in time). */
    @Override
    public Future<Void> stop() {
        Context ctx = Vertx.currentContext();
        String id = deploymentId;
        writer.stopRequested();
        if (id != null && stopRequested.compareAndSet(false, true)) {
            vertx.undeploy(id).onFailure(e -> LOG.debug("store: undeploying the writer: {}", e.toString()));
        }
        return onCaller(ctx, writer.whenStopped());
    }

    /** Completes on {@code ctx} (the caller's context), or wherever {@code f} completes for a caller outside Vert.x. */
    static <T> Future<T> onCaller(Context ctx, Future<T> f) {
        if (ctx == null) {
            return f;
        }
        Promise<T> p = Promise.promise();
        f.onComplete(ar -> ctx.runOnContext(v -> p.handle(ar)));
        return p.future();
    }

    // ------------------------------------------------------------------ status

    @Override
    public JsonObject status() {
        JsonObject o = writer.status();
        if (lateEvents.sum() > 0) {
            o.put("events_after_stop", lateEvents.sum());
        }
        return o;
    }
}
