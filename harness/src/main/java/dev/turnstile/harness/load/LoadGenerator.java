package dev.turnstile.harness.load;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Drives a server with N persistent connections spread over the event loops of one Vert.x
 * instance (one {@link LoadWorker} per loop). Blocking: call it from a plain thread. Every phase is
 * bounded in time: setup by the setup timeout, the run by warmup + duration, teardown by a few
 * seconds.
 */
public final class LoadGenerator {
    private LoadGenerator() {
    }

    public static LoadReport run(LoadOptions opts, PrintStream log) throws InterruptedException {
        opts.validate();
        int workers = Math.min(opts.eventLoops(), opts.connections());
        Vertx vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(opts.eventLoops()));
        List<LoadWorker> ws = new ArrayList<>();
        try {
            for (int i = 0; i < workers; i++) {
                LoadWorker w = new LoadWorker(i, workers, opts);
                await(vertx.deployVerticle(w), Duration.ofSeconds(30), "deploying worker " + i);
                ws.add(w);
            }
            long setupStart = System.nanoTime();
            log.printf(Locale.ROOT, "# opening %d connections (%d event loops%s)%n", opts.connections(), workers,
                    opts.bindAddresses().isEmpty() ? "" : ", source addresses " + String.join(",", opts.bindAddresses()));
            log.flush();
            long setupDeadline = setupStart + opts.setupTimeout().toNanos();
            boolean setupComplete = false;
            long lastProgress = System.nanoTime();
            while (System.nanoTime() < setupDeadline) {
                if (ws.stream().allMatch(w -> w.setupFuture().isComplete())) {
                    setupComplete = true;
                    break;
                }
                Thread.sleep(50);
                if (System.nanoTime() - lastProgress > 5_000_000_000L) {
                    lastProgress = System.nanoTime();
                    log.printf(Locale.ROOT, "# setup: %d of %d connections ready after %.0f s%n", ready(ws), opts.connections(),
                            (System.nanoTime() - setupStart) / 1e9);
                    log.flush();
                }
            }
            Thread.sleep(1_100); // let the workers publish their final setup counts
            log.printf(Locale.ROOT, "# setup %s: %d of %d connections ready in %.1f s%n", setupComplete ? "done" : "timed out",
                    ready(ws), opts.connections(), (System.nanoTime() - setupStart) / 1e9);
            log.flush();

            if (opts.holdOnly()) {
                forAll(ws, w -> {
                    w.setRecording(true);
                    return null;
                });
                holdFor(ws, opts.measuredTime(), opts, log);
                forAll(ws, w -> {
                    w.setRecording(false);
                    return null;
                });
            } else {
                forAll(ws, w -> {
                    w.startCycles();
                    return null;
                });
                Pacer pacer = null;
                if (!opts.flatOut()) {
                    pacer = new Pacer(ws, opts.rate());
                    pacer.start();
                }
                if (!opts.warmup().isZero()) {
                    Thread.sleep(opts.warmup().toMillis());
                }
                forAll(ws, w -> {
                    w.setRecording(true);
                    return null;
                });
                holdFor(ws, opts.measuredTime(), opts, log);
                if (pacer != null) {
                    pacer.stop();
                }
                forAll(ws, w -> {
                    w.setRecording(false);
                    w.stopCycles();
                    return null;
                });
            }
            List<WorkerStats> snaps = forAll(ws, LoadWorker::snapshot);
            WorkerStats total = new WorkerStats();
            double cyclesPerSecond = 0;
            double windowSum = 0;
            for (WorkerStats s : snaps) {
                total.mergeFrom(s);
                if (s.windowNanos > 0) {
                    cyclesPerSecond += s.cycles / (s.windowNanos / 1e9);
                    windowSum += s.windowNanos / 1e9;
                }
            }
            double window = snaps.isEmpty() ? 0 : windowSum / snaps.size();
            LoadReport report = new LoadReport(opts, total, cyclesPerSecond, window);
            try {
                List<Future<Void>> closes = new ArrayList<>();
                for (LoadWorker w : ws) {
                    closes.add(w.call(w::goodbyeAll).compose(f -> f));
                }
                await(Future.join(closes), Duration.ofSeconds(15), "closing the connections");
            } catch (RuntimeException e) {
                log.println("# teardown: " + e.getMessage());
            }
            return report;
        } finally {
            try {
                await(vertx.close(), Duration.ofSeconds(30), "closing Vert.x");
            } catch (RuntimeException e) {
                log.println("# " + e.getMessage());
            }
        }
    }

    private static int ready(List<LoadWorker> ws) {
        int n = 0;
        for (LoadWorker w : ws) {
            n += w.readyPublished;
        }
        return n;
    }

    private static void holdFor(List<LoadWorker> ws, Duration d, LoadOptions opts, PrintStream log) throws InterruptedException {
        long end = System.nanoTime() + d.toNanos();
        boolean progress = d.compareTo(Duration.ofSeconds(60)) > 0;
        long progressEvery = 30_000_000_000L;
        long nextProgress = System.nanoTime() + progressEvery;
        while (true) {
            long left = end - System.nanoTime();
            if (left <= 0) {
                return;
            }
            Thread.sleep(Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMillis(left), 200)));
            if (progress && System.nanoTime() - nextProgress >= 0) {
                nextProgress += progressEvery;
                long lost = 0;
                long errors = 0;
                for (LoadWorker w : ws) {
                    lost += w.lostPublished;
                    errors += w.errorsPublished;
                }
                log.printf(Locale.ROOT, "# %.0f s left: %d connections ready, %d lost leases, %d errors so far%n",
                        left / 1e9, ready(ws), lost, errors);
                log.flush();
            }
        }
    }

    private static <T> List<T> forAll(List<LoadWorker> ws, java.util.function.Function<LoadWorker, T> action) {
        List<Future<T>> fs = new ArrayList<>();
        for (LoadWorker w : ws) {
            fs.add(w.call(() -> action.apply(w)));
        }
        List<T> out = new ArrayList<>();
        for (Future<T> f : fs) {
            out.add(await(f, Duration.ofSeconds(30), "a worker step"));
        }
        return out;
    }

    static <T> T await(Future<T> f, Duration timeout, String what) {
        try {
            return f.toCompletionStage().toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new IllegalStateException(what + " did not finish within " + timeout.toSeconds() + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while " + what);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException(what + " failed: " + e.getCause(), e.getCause());
        }
    }
}
