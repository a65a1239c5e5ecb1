package dev.turnstile.appliance.store;

import dev.turnstile.appliance.seat.CheckoutCommand;
import dev.turnstile.appliance.seat.CheckoutOutcome;
import dev.turnstile.appliance.seat.ClientRef;
import dev.turnstile.appliance.seat.ConcurrentLedger;
import dev.turnstile.appliance.seat.Entitlement;
import dev.turnstile.appliance.seat.LedgerListener;
import dev.turnstile.appliance.seat.LedgerSettings;
import dev.turnstile.protocol.Enforcement;
import dev.turnstile.testsupport.TestPostgres;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * Ledger checkout throughput with the store behind it, measured in one run (figures, never pass/fail).
 * Throughput is the median of bursts of checkout+checkin cycles driven flat out on the ledger; a burst
 * fits in the store's queue, as a peak would, so the figure is what the store adds to a checkout:
 * <ol>
 *   <li>baseline: the ledger with no store;</li>
 *   <li>write-behind, Postgres connected (each burst is written before the next: that time is reported);</li>
 *   <li>write-behind, Postgres stopped (events are held, then spilled to disk);</li>
 *   <li>write-through: each checkout waits for its own commit (one transaction per event);</li>
 *   <li>lag at a paced 50,000 events/s (25,000 checkout+checkin cycles/s) with Postgres connected,
 *       against the bound of one flush interval plus one batch.</li>
 * </ol>
 * Needs the local PostgreSQL that {@code scripts/local-postgres.sh} sets up (it stops and starts the
 * cluster for phase 3). Run from the project root:
 * <pre>
 * eval "$(scripts/local-postgres.sh)"
 * mvn -o -q -B -pl appliance -Dturnstile.target=target-store test-compile exec:java \
 *     -Dexec.classpathScope=test -Dexec.mainClass=dev.turnstile.appliance.store.StoreBenchmark \
 *     [-Dbench.rounds=5] [-Dbench.burstCycles=100000] [-Dbench.threads=1] [-Dbench.seconds=5]
 * </pre>
 */
public final class StoreBenchmark {
    private static final int SEATS = 1_000_000;

    private StoreBenchmark() {
    }

    public static void main(String[] args) throws Exception {
        int rounds = Integer.getInteger("bench.rounds", 5);
        int burst = Integer.getInteger("bench.burstCycles", 100_000);
        int threads = Integer.getInteger("bench.threads", 1);
        int seconds = Integer.getInteger("bench.seconds", 5);
        Vertx vertx = Vertx.vertx();
        TestDatabase db = TestDatabase.create(vertx);
        TestPostgres.Control pg = TestPostgres.control();
        Path spill = Files.createTempDirectory("turnstile-bench-spill");
        List<String> report = new ArrayList<>();
        report.add(String.format(Locale.ROOT, "StoreBenchmark %s, nproc %d, %d ledger thread(s); throughput: median "
                        + "of %d bursts of %,d checkout+checkin cycles (%,d events); Java %s", Instant.now(),
                Runtime.getRuntime().availableProcessors(), threads, rounds, burst, 2L * burst,
                System.getProperty("java.version")));
        try {
            JsonObject section = new JsonObject().put("url", db.url).put("spill_dir", spill.toString())
                    .put("batch_size", Integer.getInteger("bench.batchSize", StoreConfig.DEFAULT_BATCH_SIZE))
                    .put("flush_interval", System.getProperty("bench.flushInterval",
                            StoreConfig.DEFAULT_FLUSH_INTERVAL_MS + "ms"));
            if (Boolean.getBoolean("bench.fenceCompare")) {
                // triad fencing (V101): the same bursts into a plain store and into a fenced one (every batch runs
                // triad_fence_check first), alternating, on one database; batch sizes: the default and a small one
                for (int bs : new int[] {StoreConfig.DEFAULT_BATCH_SIZE, 50}) {
                    JsonObject sec = section.copy().put("batch_size", bs).put("spill_dir", spill.resolve("f" + bs)
                            .toString());
                    PersistenceService plain = TestDatabase.await(PersistenceService.start(vertx, sec));
                    PersistenceService fenced = TestDatabase.await(PersistenceService.start(vertx,
                            sec.copy().put("spill_dir", spill.resolve("g" + bs).toString())));
                    TestDatabase.await(fenced.raiseFence(UUID.randomUUID(), 1, "bench"));
                    drainRate(plain, 40_000); // warm-up
                    drainRate(fenced, 40_000);
                    for (int i = 0; i < rounds; i++) {
                        report.add("batch_size " + bs + " plain  " + drainRate(plain, 40_000));
                        report.add("batch_size " + bs + " fenced " + drainRate(fenced, 40_000));
                    }
                    TestDatabase.await(plain.stop());
                    TestDatabase.await(fenced.stop());
                }
                return;
            }
            if (Boolean.getBoolean("bench.lagOnly")) {
                PersistenceService only = TestDatabase.await(PersistenceService.start(vertx, section));
                report.add(drainRate(only, 40_000));
                report.add(drainRate(only, 40_000));
                report.add(lagAt50k(only, seconds));
                TestDatabase.await(only.stop());
                return;
            }
            for (int i = 0; i < 3; i++) {
                burst(LedgerListener.NONE, threads, burst); // warm-up, not reported
            }
            double[] b = new double[rounds];
            for (int i = 0; i < rounds; i++) {
                b[i] = burst(LedgerListener.NONE, threads, burst);
            }
            double base = median(b);
            report.add(row("1 baseline: ledger, no store", base, base));

            // A burst fits in memory (the queue holds 4 bursts), as a peak would: this measures what the
            // store adds to a checkout, not how fast Postgres can take a sustained flood (see 5 and "drain").
            JsonObject behindSection = section.copy().put("queue_capacity", 8 * burst);
            PersistenceService wb = TestDatabase.await(PersistenceService.start(vertx, behindSection));
            double[] c = new double[rounds];
            long drainEvents = 0;
            double drainS = 0;
            for (int i = 0; i < rounds; i++) {
                c[i] = burst(wb.asLedgerListener(), threads, burst);
                long held = wb.status().getLong("lag_events");
                long t0 = System.nanoTime();
                awaitLong(wb.flush());
                drainS += (System.nanoTime() - t0) / 1e9;
                drainEvents += held;
            }
            double behind = median(c);
            report.add(row("2 write-behind, Postgres connected", behind, base) + String.format(Locale.ROOT,
                    "   each burst written %.1f s after it (%,.0f events/s); %d spilled, %d dropped",
                    drainS / rounds, drainEvents / Math.max(drainS, 1e-9), wb.status().getLong("spilled_events"),
                    wb.status().getLong("dropped_events")));

            pg.stop();
            double stopped;
            try {
                waitDisconnected(wb);
                double[] d = new double[rounds];
                for (int i = 0; i < rounds; i++) {
                    d[i] = burst(wb.asLedgerListener(), threads, burst);
                }
                stopped = median(d);
                Thread.sleep(1_000); // let the writer spill what exceeds the queue
                JsonObject down = wb.status();
                report.add(row("3 write-behind, Postgres stopped", stopped, base) + String.format(Locale.ROOT,
                        "   held %,d events: %,d in memory, %,d spilled (%d MiB); %d dropped",
                        down.getLong("lag_events"), down.getLong("queue_depth"), down.getLong("spilled_events"),
                        down.getLong("spilled_bytes") >> 20, down.getLong("dropped_events")));
            } finally {
                pg.start();
            }
            long t0 = System.nanoTime();
            long held = wb.status().getLong("lag_events");
            awaitLong(wb.flush());
            double replayS = (System.nanoTime() - t0) / 1e9;
            report.add(String.format(Locale.ROOT, "  after Postgres returned: the %,d held events written in %.1f s "
                    + "(%,.0f events/s, reconnect and replay included)", held, replayS, held / Math.max(replayS, 1e-9)));
            TestDatabase.await(wb.stop());

            PersistenceService wt = TestDatabase.await(PersistenceService.start(vertx,
                    section.copy().put("write_mode", "write_through")));
            double through;
            try {
                through = cycles(wt.asLedgerListener(), threads, Math.max(2, seconds / 2), true, wt);
            } finally {
                TestDatabase.await(wt.stop());
            }
            report.add(row("4 write-through, one commit per checkout", through, base));
            report.add(String.format(Locale.ROOT, "  write-behind (connected) / write-through = %,.0fx; "
                    + "write-behind (Postgres stopped) / (connected) = %.2f", behind / Math.max(through, 1e-9),
                    stopped / behind));

            // a fresh database, so that autovacuum and checkpoints after the millions of rows above do not count
            try (TestDatabase fresh = TestDatabase.create(vertx)) {
                PersistenceService lag = TestDatabase.await(PersistenceService.start(vertx,
                        section.copy().put("url", fresh.url)));
                report.add(drainRate(lag, 40_000));
                report.add(lagAt50k(lag, Math.max(seconds, 10)));
                TestDatabase.await(lag.stop());
            }
        } catch (Throwable t) {
            report.add("benchmark failed: " + t);
            t.printStackTrace();
        } finally {
            System.out.println();
            report.forEach(System.out::println);
            try {
                db.close();
                TestDatabase.await(vertx.close());
            } catch (Exception e) {
                System.out.println("cleanup: " + e);
            }
        }
        System.exit(0);
    }

    private static <T> T awaitLong(io.vertx.core.Future<T> f) throws Exception {
        return f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.MINUTES);
    }

    private static double median(double[] a) {
        double[] s = a.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    /** {@code cycles} checkout + checkin cycles as fast as {@code threads} threads go; cycles per second. */
    private static double burst(LedgerListener listener, int threads, int cycles) throws InterruptedException {
        ConcurrentLedger ledger = ledger(listener);
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            final int id = t;
            final int n = cycles / threads;
            ts.add(new Thread(() -> {
                ClientRef c = new ClientRef(id + 1, "bench-" + id, "hw-" + id, "127.0.0.1:1");
                for (int i = 0; i < n; i++) {
                    UUID lease = UUID.randomUUID();
                    long now = System.currentTimeMillis();
                    CheckoutOutcome o = ledger.checkout(new CheckoutCommand(c, 1, "bench-product", "", 1,
                            Enforcement.SEATS.code(), false, 0, null, lease, now));
                    if (!(o instanceof CheckoutOutcome.Granted)) {
                        throw new IllegalStateException("not granted: " + o);
                    }
                    ledger.checkin(c, lease, now);
                }
            }, "bench-" + t));
        }
        long t0 = System.nanoTime();
        ts.forEach(Thread::start);
        for (Thread th : ts) {
            th.join(600_000);
        }
        return (cycles / threads) * threads / ((System.nanoTime() - t0) / 1e9);
    }

    private static String row(String name, double cyclesPerS, double base) {
        return String.format(Locale.ROOT, "%-44s %,12.0f checkouts/s  (%5.1f%% of baseline)", name, cyclesPerS,
                100.0 * cyclesPerS / base);
    }

    private static void waitDisconnected(PersistenceService s) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        // Postgres notices only when the writer next talks to it: feed it an event now and then
        while (s.status().getBoolean("connected") && System.nanoTime() < deadline) {
            s.journal(StoreTestKit.denial(System.currentTimeMillis(), 0));
            Thread.sleep(20);
        }
    }

    private static ConcurrentLedger ledger(LedgerListener listener) {
        ConcurrentLedger l = new ConcurrentLedger(LedgerSettings.defaults(), listener);
        l.upsertEntitlement(new Entitlement("bench-ent", "bench", "bench-product", Enforcement.SEATS, SEATS,
                Instant.parse("2026-01-01T00:00:00Z"), Instant.parse("2036-01-01T00:00:00Z")), System.currentTimeMillis());
        return l;
    }

    /**
     * Checkout + checkin cycles per second on {@code threads} threads for {@code seconds}; with
     * {@code waitCommit}, each checkout waits for the store's commit of its event before going on.
     */
    private static double cycles(LedgerListener listener, int threads, int seconds, boolean waitCommit,
                                 PersistenceService store) throws InterruptedException {
        ConcurrentLedger ledger = ledger(listener);
        LongAdder done = new LongAdder();
        AtomicBoolean run = new AtomicBoolean(true);
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            final int id = t;
            Thread th = new Thread(() -> {
                ClientRef c = new ClientRef(id + 1, "bench-" + id, "hw-" + id, "127.0.0.1:1");
                while (run.get()) {
                    UUID lease = UUID.randomUUID();
                    long now = System.currentTimeMillis();
                    CheckoutOutcome o = ledger.checkout(new CheckoutCommand(c, 1, "bench-product", "", 1,
                            Enforcement.SEATS.code(), false, 0, null, lease, now));
                    if (!(o instanceof CheckoutOutcome.Granted)) {
                        throw new IllegalStateException("not granted: " + o);
                    }
                    if (waitCommit) {
                        try {
                            store.flush().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    }
                    ledger.checkin(c, lease, now);
                    done.increment();
                }
            }, "bench-" + t);
            ts.add(th);
        }
        long t0 = System.nanoTime();
        ts.forEach(Thread::start);
        Thread.sleep(seconds * 1000L);
        run.set(false);
        for (Thread th : ts) {
            th.join(60_000);
        }
        double s = (System.nanoTime() - t0) / 1e9;
        return done.sum() / s;
    }

    /** Journals {@code events} (checkout + checkin pairs) at once, below the queue's capacity; times the flush. */
    private static String drainRate(PersistenceService store, int events) throws Exception {
        ConcurrentLedger ledger = ledger(store.asLedgerListener());
        TestDatabase.await(store.flush());
        long b0 = store.status().getLong("batches_written");
        ClientRef c = new ClientRef(9, "burst", "hw-burst", "127.0.0.1:1");
        long t0 = System.nanoTime();
        for (int i = 0; i < events / 2; i++) {
            UUID lease = UUID.randomUUID();
            long now = System.currentTimeMillis();
            ledger.checkout(new CheckoutCommand(c, 1, "bench-product", "", 1, Enforcement.SEATS.code(), false, 0,
                    null, lease, now));
            ledger.checkin(c, lease, now);
        }
        long t1 = System.nanoTime();
        TestDatabase.await(store.flush());
        long t2 = System.nanoTime();
        return String.format(Locale.ROOT, "  burst of %d events: journaled in %.0f ms, all written %.0f ms later "
                        + "(%.0f events/s, %d batches)", events, (t1 - t0) / 1e6, (t2 - t1) / 1e6,
                events / ((t2 - t0) / 1e9), store.status().getLong("batches_written") - b0);
    }

    /** Paced 25,000 cycles/s = 50,000 events/s; samples the store's lag every 50 ms. */
    private static String lagAt50k(PersistenceService store, int seconds) throws Exception {
        ConcurrentLedger ledger = ledger(store.asLedgerListener());
        ClientRef c = new ClientRef(7, "paced", "hw-paced", "127.0.0.1:1");
        TestDatabase.await(store.flush());
        JsonObject st0 = store.status();
        long flushMs = st0.getLong("flush_interval_ms");
        long batch = st0.getLong("batch_size");
        int perTick = 25; // cycles per ms
        List<Long> lagEvents = new ArrayList<>();
        List<Long> lagMs = new ArrayList<>();
        long start = System.nanoTime();
        long end = start + TimeUnit.SECONDS.toNanos(Math.max(seconds, 5));
        long nextSample = start;
        long cycles = 0;
        while (System.nanoTime() < end) {
            long elapsedMs = (System.nanoTime() - start) / 1_000_000;
            long due = (elapsedMs + 1) * perTick;
            while (cycles < due) {
                UUID lease = UUID.randomUUID();
                long now = System.currentTimeMillis();
                ledger.checkout(new CheckoutCommand(c, 1, "bench-product", "", 1, Enforcement.SEATS.code(), false, 0,
                        null, lease, now));
                ledger.checkin(c, lease, now);
                cycles++;
            }
            if (System.nanoTime() >= nextSample) {
                JsonObject st = store.status();
                lagEvents.add(st.getLong("lag_events"));
                lagMs.add(st.getLong("lag_ms"));
                nextSample += 50_000_000L;
            }
            java.util.concurrent.locks.LockSupport.parkNanos(200_000); // a paced source leaves the CPU to the others
        }
        double s = (System.nanoTime() - start) / 1e9;
        long[] le = lagEvents.stream().mapToLong(Long::longValue).sorted().toArray();
        long[] lm = lagMs.stream().mapToLong(Long::longValue).sorted().toArray();
        long boundEvents = 50_000 * flushMs / 1000 + batch;
        return String.format(Locale.ROOT, "5 lag at %.0f events/s for %.0f s (flush %d ms, batch %d; bound = %d events):"
                        + " events p50 %d / p99 %d / max %d; ms p50 %d / p99 %d / max %d; %s",
                2.0 * cycles / s, s, flushMs, batch, boundEvents, pct(le, 50), pct(le, 99), le[le.length - 1],
                pct(lm, 50), pct(lm, 99), lm[lm.length - 1],
                le[le.length - 1] <= boundEvents ? "within the bound" : "OVER the bound at max");
    }

    private static long pct(long[] sorted, int p) {
        if (sorted.length == 0) {
            return 0;
        }
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p / 100.0 * sorted.length) - 1)];
    }

}
