package dev.turnstile.harness.load;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetClientOptions;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * One event loop's share of the load: its connections, their heartbeat wheel, the cycle driver
 * (flat out or at a rate), and its counters. Everything runs on the worker's own event loop; the
 * generator talks to it only through {@link #call}.
 */
final class LoadWorker extends VerticleBase {
    /** Heartbeats are spread over a wheel of slots ticking at most this often. */
    static final long MAX_WHEEL_TICK_MS = 100;

    final int workerIndex;
    final int workerCount;
    final LoadOptions opts;
    final WorkerStats stats = new WorkerStats();
    private final List<LoadConnection> connections = new ArrayList<>();
    private final Promise<Void> setupDone = Promise.promise();
    private final List<NetClient> clients = new ArrayList<>();
    private int nextToConnect;
    private int connecting;
    private int setupFinished;
    private int connectConcurrency;

    // heartbeat wheel: slot k is due at wheelStart + k * wheelTickNanos, whenever the timer gets to run
    private List<List<LoadConnection>> wheel;
    private long wheelStart;
    private long wheelTickNanos;
    private long slotsDone;
    private int readyCount;

    // cycle driver
    boolean recording;
    private boolean cycling;
    private long recordStart;
    private final ArrayDeque<LoadConnection> freeSlots = new ArrayDeque<>();
    private final ArrayDeque<Long> backlog = new ArrayDeque<>();

    // teardown
    private Promise<Void> allClosed;
    private int open;

    /** Published for progress lines; written on the event loop, read by the generator's thread. */
    volatile int readyPublished;
    volatile long lostPublished;
    volatile long errorsPublished;

    LoadWorker(int workerIndex, int workerCount, LoadOptions opts) {
        this.workerIndex = workerIndex;
        this.workerCount = workerCount;
        this.opts = opts;
    }

    @Override
    public Future<?> start() {
        List<String> binds = opts.bindAddresses().isEmpty() ? java.util.Collections.singletonList(null) : opts.bindAddresses();
        for (String bind : binds) {
            NetClientOptions o = new NetClientOptions().setTcpNoDelay(true).setConnectTimeout(10_000).setReuseAddress(true);
            if (bind != null) {
                o.setLocalAddress(bind);
            }
            clients.add(vertx.createNetClient(o));
        }
        for (int i = workerIndex; i < opts.connections(); i += workerCount) {
            // Connection i takes source address i mod |binds|, so every address gets its share.
            connections.add(new LoadConnection(this, i, clients.get(i % clients.size())));
        }
        stats.wantedLeases = opts.echoMode() ? 0 : (long) connections.size() * opts.leasesPerConnection();
        connectConcurrency = Math.max(1, opts.connectConcurrency() / workerCount);
        if (connections.isEmpty()) {
            setupDone.complete();
        }
        connectMore();
        long timeoutNanos = opts.requestTimeout().toNanos();
        vertx.setPeriodic(1_000, id -> {
            long now = System.nanoTime();
            for (LoadConnection c : connections) {
                if (!c.isClosed()) {
                    c.sweep(now, timeoutNanos);
                }
            }
            publish();
        });
        return Future.succeededFuture();
    }

    private void publish() {
        readyPublished = stats.ready - stats.closedEarly;
        lostPublished = stats.lostLeases;
        errorsPublished = stats.errors.values().stream().mapToLong(Long::longValue).sum();
    }

    Future<Void> setupFuture() {
        return setupDone.future();
    }

    private void connectMore() {
        while (connecting < connectConcurrency && nextToConnect < connections.size()) {
            connecting++;
            connections.get(nextToConnect++).connect();
        }
    }

    void onSetupFinished(LoadConnection c, boolean ok) {
        if (!ok) {
            stats.connectFailed++;
        }
        connecting--;
        setupFinished++;
        if (setupFinished == connections.size()) {
            publish();
            setupDone.tryComplete();
        }
        connectMore();
    }

    void onReady(LoadConnection c) {
        if (wheel == null) {
            long interval = c.heartbeatIntervalMs;
            long tick = Math.max(1, Math.min(MAX_WHEEL_TICK_MS, interval));
            int slots = (int) Math.max(1, interval / tick);
            wheel = new ArrayList<>(slots);
            for (int i = 0; i < slots; i++) {
                wheel.add(new ArrayList<>());
            }
            wheelTickNanos = tick * 1_000_000L;
            wheelStart = System.nanoTime();
            vertx.setPeriodic(tick, id -> heartbeatTick());
        }
        wheel.get(readyCount++ % wheel.size()).add(c);
        if (cycling) {
            for (int i = 0; i < opts.pipeline(); i++) {
                slotFreed(c);
            }
        }
    }

    /**
     * Heartbeats every slot that has come due since the last run. Driven by the clock, not by the
     * number of timer firings: a late or busy event loop must not stretch the interval past the
     * lease timeout (a timer that fires late fires once, not once per missed period).
     */
    private void heartbeatTick() {
        long due = (System.nanoTime() - wheelStart) / wheelTickNanos;
        if (due - slotsDone > wheel.size()) {
            slotsDone = due - wheel.size(); // more than a whole turn late: one turn heartbeats everybody once
        }
        while (slotsDone < due) {
            slotsDone++;
            List<LoadConnection> slot = wheel.get((int) (slotsDone % wheel.size()));
            for (int i = slot.size() - 1; i >= 0; i--) {
                LoadConnection c = slot.get(i);
                if (c.isClosed()) {
                    slot.set(i, slot.get(slot.size() - 1));
                    slot.remove(slot.size() - 1);
                } else {
                    c.heartbeat();
                }
            }
        }
    }

    void onClosed(LoadConnection c) {
        if (allClosed != null && --open <= 0) {
            allClosed.tryComplete();
        }
    }

    // ------------------------------------------------------------------ cycles

    void startCycles() {
        cycling = true;
        long now = System.nanoTime();
        if (opts.flatOut()) {
            for (LoadConnection c : connections) {
                if (c.isReady()) {
                    for (int i = 0; i < opts.pipeline(); i++) {
                        c.startCycle(now);
                    }
                }
            }
            return;
        }
        for (LoadConnection c : connections) {
            if (c.isReady()) {
                for (int i = 0; i < opts.pipeline(); i++) {
                    freeSlots.add(c);
                }
            }
        }
    }

    /**
     * Rate mode: starts the cycles the {@link Pacer} planned for this worker, each at its planned
     * time (latency counts from there), on a free slot or, when none is free, from the backlog as
     * soon as one frees.
     */
    void startPlanned(long[] planned, int count) {
        if (!cycling) {
            return;
        }
        for (int i = 0; i < count; i++) {
            LoadConnection c = pollFree();
            if (c != null) {
                c.startCycle(planned[i]);
            } else if (backlog.size() < LoadOptions.MAX_BACKLOG) {
                backlog.add(planned[i]);
                stats.backlogMax = Math.max(stats.backlogMax, backlog.size());
            } else {
                stats.droppedCycles++;
            }
        }
    }

    private LoadConnection pollFree() {
        while (!freeSlots.isEmpty()) {
            LoadConnection c = freeSlots.poll();
            if (c.isReady()) {
                return c;
            }
        }
        return null;
    }

    /** A cycle on {@code c} ended (or failed): start the next one, or park the slot. */
    void slotFreed(LoadConnection c) {
        if (!cycling || !c.isReady()) {
            return;
        }
        if (opts.flatOut()) {
            c.startCycle(System.nanoTime());
        } else if (!backlog.isEmpty()) {
            c.startCycle(backlog.poll());
        } else {
            freeSlots.add(c);
        }
    }

    void stopCycles() {
        cycling = false;
        freeSlots.clear();
        backlog.clear();
    }

    void setRecording(boolean on) {
        long now = System.nanoTime();
        if (on && !recording) {
            recordStart = now;
        } else if (!on && recording) {
            stats.windowNanos += now - recordStart;
        }
        recording = on;
    }

    WorkerStats snapshot() {
        long held = 0;
        for (LoadConnection c : connections) {
            if (!c.isClosed()) {
                held += c.held.size();
            }
        }
        stats.heldLeases = held;
        publish();
        return stats.copy();
    }

    /** GOODBYE on every open connection; completes when all are closed. */
    Future<Void> goodbyeAll() {
        allClosed = Promise.promise();
        open = 0;
        for (LoadConnection c : connections) {
            if (c.isOpen()) {
                open++;
            }
        }
        if (open == 0) {
            allClosed.complete();
            return allClosed.future();
        }
        for (LoadConnection c : connections) {
            if (c.isOpen()) {
                c.goodbye();
            }
        }
        vertx.setTimer(5_000, id -> {
            for (LoadConnection c : connections) {
                c.forceClose();
            }
            vertx.setTimer(2_000, id2 -> allClosed.tryComplete());
        });
        return allClosed.future();
    }

    /** Runs {@code action} on this worker's event loop, without waiting. */
    void post(Runnable action) {
        context.runOnContext(v -> action.run());
    }

    /** Runs {@code action} on this worker's event loop and hands back its result. */
    <T> Future<T> call(java.util.function.Supplier<T> action) {
        Promise<T> p = Promise.promise();
        context.runOnContext(v -> {
            try {
                p.complete(action.get());
            } catch (RuntimeException e) {
                p.fail(e);
            }
        });
        return p.future();
    }
}
