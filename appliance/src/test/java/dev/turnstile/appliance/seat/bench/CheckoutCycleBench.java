package dev.turnstile.appliance.seat.bench;

import dev.turnstile.appliance.seat.CheckoutCommand;
import dev.turnstile.appliance.seat.CheckoutOutcome;
import dev.turnstile.appliance.seat.ClientRef;
import dev.turnstile.appliance.seat.Entitlement;
import dev.turnstile.appliance.seat.LedgerSettings;
import dev.turnstile.protocol.Enforcement;
import dev.turnstile.protocol.ErrorCode;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Checkout + checkin cycles per second through each way of sharing the ledger between threads
 * (see {@link Candidates}), with 1 and 2 threads. {@code products=shared}: every thread checks out
 * the same product (one pool); {@code products=disjoint}: each thread its own product (the best case
 * for striping). Every thread is its own client session. Run: see package-info of the seat package.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class CheckoutCycleBench {

    private static final List<String> PRODUCTS = List.of("p0", "p1");

    @Param({"synchronized", "reentrantLock", "stripedByProduct", "ownerThread", "concurrentLedger"})
    public String candidate;

    @Param({"shared", "disjoint"})
    public String products;

    Candidates.Facade ledger;
    final AtomicInteger threadIds = new AtomicInteger();

    @Setup(Level.Trial)
    public void setUp() {
        ledger = Candidates.create(candidate, LedgerSettings.defaults(), PRODUCTS);
        long now = System.currentTimeMillis();
        for (String p : PRODUCTS) {
            ledger.upsertEntitlement(new Entitlement("ent-" + p, "acme", p, Enforcement.SEATS, 1_000_000, null, null),
                    now);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        ledger.close();
    }

    @State(Scope.Thread)
    public static class Client {
        ClientRef ref;
        String product;
        long hi;
        long seq;

        @Setup(Level.Trial)
        public void setUp(CheckoutCycleBench bench) {
            int t = bench.threadIds.getAndIncrement();
            ref = new ClientRef(1_000 + t, "bench-" + t, "hw-" + t, "127.0.0.1:" + (40_000 + t));
            product = "disjoint".equals(bench.products) ? PRODUCTS.get(t % PRODUCTS.size()) : PRODUCTS.get(0);
            hi = 0xBE7C_0000L + t;
        }
    }

    private static ErrorCode cycle(Candidates.Facade ledger, Client c) {
        long now = System.currentTimeMillis();
        UUID id = new UUID(c.hi, ++c.seq);
        CheckoutOutcome o = ledger.checkout(new CheckoutCommand(c.ref, 1, c.product, "", 1,
                Enforcement.SEATS.code(), false, 0, null, id, now));
        if (!(o instanceof CheckoutOutcome.Granted)) {
            throw new IllegalStateException("not granted: " + o);
        }
        return ledger.checkin(c.ref, id, now);
    }

    @Benchmark
    @Threads(1)
    public ErrorCode cycle1Thread(Client c) {
        return cycle(ledger, c);
    }

    @Benchmark
    @Threads(2)
    public ErrorCode cycle2Threads(Client c) {
        return cycle(ledger, c);
    }
}
