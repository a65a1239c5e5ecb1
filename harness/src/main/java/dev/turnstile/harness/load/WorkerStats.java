package dev.turnstile.harness.load;

import java.util.Map;
import java.util.TreeMap;
import org.HdrHistogram.Histogram;

/**
 * What one worker (one event loop) counted. Touched only on that worker's event loop; copied out
 * with {@link #copy()} on the same loop, then merged on the caller's thread.
 */
final class WorkerStats {
    /** Latencies in microseconds, up to one minute, 3 significant digits. */
    static final long MAX_TRACKED_MICROS = 60_000_000L;

    /** From the cycle's planned start (rate mode) or its send (flat out) to GRANTED. */
    final Histogram checkoutMicros = new Histogram(MAX_TRACKED_MICROS, 3);
    /** From the CHECKOUT's actual send to GRANTED: the server's service time, queueing in the generator excluded. */
    final Histogram checkoutServiceMicros = new Histogram(MAX_TRACKED_MICROS, 3);
    final Histogram checkinMicros = new Histogram(MAX_TRACKED_MICROS, 3);
    final Histogram heartbeatMicros = new Histogram(MAX_TRACKED_MICROS, 3);
    final Map<String, Long> errors = new TreeMap<>();
    long cycles;
    long requests;
    long heartbeats;
    long windowNanos;
    int connected;
    int ready;
    int connectFailed;
    int closedEarly;
    long heldLeases;
    long leasesGranted;
    long lostLeases;
    long backlogMax;
    long droppedCycles;
    long wantedLeases;

    void error(String name) {
        errors.merge(name, 1L, Long::sum);
    }

    void error(String name, long n) {
        errors.merge(name, n, Long::sum);
    }

    static void record(Histogram h, long nanos) {
        long us = Math.max(0, nanos / 1_000);
        h.recordValue(Math.min(us, MAX_TRACKED_MICROS));
    }

    WorkerStats copy() {
        WorkerStats s = new WorkerStats();
        s.mergeFrom(this);
        return s;
    }

    void mergeFrom(WorkerStats o) {
        checkoutMicros.add(o.checkoutMicros);
        checkoutServiceMicros.add(o.checkoutServiceMicros);
        checkinMicros.add(o.checkinMicros);
        heartbeatMicros.add(o.heartbeatMicros);
        o.errors.forEach((k, v) -> errors.merge(k, v, Long::sum));
        cycles += o.cycles;
        requests += o.requests;
        heartbeats += o.heartbeats;
        windowNanos = Math.max(windowNanos, o.windowNanos);
        connected += o.connected;
        ready += o.ready;
        connectFailed += o.connectFailed;
        closedEarly += o.closedEarly;
        heldLeases += o.heldLeases;
        leasesGranted += o.leasesGranted;
        lostLeases += o.lostLeases;
        backlogMax = Math.max(backlogMax, o.backlogMax);
        droppedCycles += o.droppedCycles;
        wantedLeases += o.wantedLeases;
    }
}
