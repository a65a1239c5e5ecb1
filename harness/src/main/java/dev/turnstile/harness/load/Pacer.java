package dev.turnstile.harness.load;

import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * Rate mode's clock: one thread that wakes about every {@value #PERIOD_NANOS} ns, works out which
 * cycles have come due since its last pass (cycle i is due at {@code start + i / rate}), and hands
 * each worker its share (cycle i goes to worker i mod n) with the exact planned times.
 *
 * <p>Why a thread and not an event-loop timer: Vert.x timers on the NIO transport fire with
 * millisecond granularity, and latency counted from a planned start must not include up to a
 * millisecond of the generator's own timer slack. Sleeping is fine here: this thread is not an
 * event loop.
 */
final class Pacer implements Runnable {
    static final long PERIOD_NANOS = 50_000;
    /** Most cycles handed out in one pass, so a long stall does not build one huge batch. */
    static final int MAX_PER_PASS = 100_000;

    private final List<LoadWorker> workers;
    private final double cyclesPerNano;
    private final long start;
    private volatile boolean running = true;
    private long issued;
    private Thread thread;

    Pacer(List<LoadWorker> workers, double cyclesPerSecond) {
        this.workers = workers;
        this.cyclesPerNano = cyclesPerSecond / 1e9;
        this.start = System.nanoTime();
    }

    void start() {
        thread = new Thread(this, "load-pacer");
        thread.setDaemon(true);
        thread.start();
    }

    void stop() throws InterruptedException {
        running = false;
        if (thread != null) {
            thread.join(5_000);
        }
    }

    @Override
    public void run() {
        int n = workers.size();
        while (running) {
            long now = System.nanoTime();
            long due = Math.min((long) ((now - start) * cyclesPerNano) - issued, MAX_PER_PASS);
            if (due > 0) {
                long[][] planned = new long[n][];
                int[] counts = new int[n];
                int per = (int) (due / n) + 1;
                for (int w = 0; w < n; w++) {
                    planned[w] = new long[per];
                }
                for (long k = 0; k < due; k++) {
                    long i = issued + k;
                    int w = (int) (i % n);
                    planned[w][counts[w]++] = start + (long) (i / cyclesPerNano);
                }
                issued += due;
                for (int w = 0; w < n; w++) {
                    if (counts[w] > 0) {
                        LoadWorker worker = workers.get(w);
                        long[] times = planned[w];
                        int count = counts[w];
                        worker.post(() -> worker.startPlanned(times, count));
                    }
                }
            }
            LockSupport.parkNanos(PERIOD_NANOS);
        }
    }
}
