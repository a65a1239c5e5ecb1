package dev.turnstile.appliance.metrics;

import dev.turnstile.appliance.seat.LeaseState;
import dev.turnstile.appliance.seat.LeaseView;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * A shared, briefly cached copy of every live lease, for the leases table and the heartbeat meters.
 * Copying the leases costs O(leases) under the ledger's lock (a few milliseconds at 100,000), so it
 * is taken at most once per {@code maxAgeMs} however many pages poll, on a worker thread (never an
 * event loop), and every caller in that window shares the copy. A forced release through the API
 * {@link #invalidate}s it so that the admin sees the seat go at once.
 */
public final class LeaseSnapshots {
    /** Heartbeat age of the HELD leases at the moment of the copy (appliance clock). */
    public record HeartbeatStats(int held, long maxAgeMs, double meanAgeMs, int overdue) {
    }

    /** One copy of the leases (in the ledger's order: oldest grant first) and when it was taken. */
    public record Snapshot(long takenAtMs, long takenAtNanos, long generation, List<LeaseView> leases,
                           HeartbeatStats heartbeats) {
    }

    private final Vertx vertx;
    private final Supplier<List<LeaseView>> source;
    private final LongSupplier nowMs;
    private final long overdueAfterMs;
    private final long maxAgeNanos;
    private volatile Snapshot current;
    private long generation;
    private Future<Snapshot> inFlight;
    private long inFlightGeneration = -1;

    /**
     * @param overdueAfterMs a HELD lease whose last heartbeat is older than this counts as overdue
     * @param maxAgeMs       how long one copy serves
     */
    public LeaseSnapshots(Vertx vertx, Supplier<List<LeaseView>> source, LongSupplier nowMs, long overdueAfterMs,
                          long maxAgeMs) {
        this.vertx = vertx;
        this.source = source;
        this.nowMs = nowMs;
        this.overdueAfterMs = overdueAfterMs;
        this.maxAgeNanos = maxAgeMs * 1_000_000L;
    }

    /** A copy at most {@code maxAgeMs} old, taken on a worker thread when needed. */
    public Future<Snapshot> get() {
        Snapshot s = current;
        synchronized (this) {
            if (s != null && fresh(s)) {
                return Future.succeededFuture(s);
            }
            if (inFlight != null && inFlightGeneration == generation) {
                return inFlight;
            }
            long gen = generation;
            Future<Snapshot> f = vertx.executeBlocking(() -> take(gen), false);
            inFlight = f;
            inFlightGeneration = gen;
            f.onComplete(ar -> {
                synchronized (this) {
                    if (inFlight == f) {
                        inFlight = null;
                    }
                }
            });
            return f;
        }
    }

    /** As {@link #get}, on the calling thread (which must not be an event loop). */
    public Snapshot getBlocking() {
        Snapshot s = current;
        long gen;
        synchronized (this) {
            if (s != null && fresh(s)) {
                return s;
            }
            gen = generation;
        }
        return take(gen);
    }

    /** The next {@link #get} takes a new copy. */
    public synchronized void invalidate() {
        generation++;
        current = null;
    }

    private boolean fresh(Snapshot s) {
        return s.generation() == generation && System.nanoTime() - s.takenAtNanos() < maxAgeNanos;
    }

    private Snapshot take(long gen) {
        long now = nowMs.getAsLong();
        List<LeaseView> leases = source.get();
        int held = 0;
        int overdue = 0;
        long maxAge = 0;
        double sum = 0;
        for (LeaseView l : leases) {
            if (l.state() != LeaseState.HELD) {
                continue;
            }
            long age = Math.max(0, now - l.lastHeartbeatMs());
            held++;
            sum += age;
            maxAge = Math.max(maxAge, age);
            if (age > overdueAfterMs) {
                overdue++;
            }
        }
        Snapshot s = new Snapshot(now, System.nanoTime(), gen, leases,
                new HeartbeatStats(held, maxAge, held == 0 ? 0 : sum / held, overdue));
        synchronized (this) {
            if (gen == generation) {
                current = s;
            }
        }
        return s;
    }
}
