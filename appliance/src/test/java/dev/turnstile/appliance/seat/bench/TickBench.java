package dev.turnstile.appliance.seat.bench;

import dev.turnstile.appliance.seat.CheckoutCommand;
import dev.turnstile.appliance.seat.ClientRef;
import dev.turnstile.appliance.seat.Entitlement;
import dev.turnstile.appliance.seat.LedgerListener;
import dev.turnstile.appliance.seat.LedgerSettings;
import dev.turnstile.appliance.seat.SeatLedger;
import dev.turnstile.protocol.Enforcement;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * What the deadline sweep costs: one tick that expires all {@code leases} live leases. Each
 * invocation gets a freshly filled ledger (the fill is not measured). The cost of a tick with nothing
 * due and of one heartbeat among as many leases: {@link SteadyLeasesBench}.
 * {@code spread=sameMs}: all deadlines in one millisecond; {@code spread=30s}: deadlines spread over
 * the 30 s lease timeout (about 3 leases per millisecond bucket).
 */
@State(Scope.Thread)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
public class TickBench {

    private static final long T0 = 1_780_000_000_000L;
    private static final long TIMEOUT = 30_000;

    @Param({"100000"})
    public int leases;

    @Param({"sameMs", "30s"})
    public String spread;

    SeatLedger ledger;
    ClientRef[] clients;
    long lastGrant;

    @Setup(Level.Invocation)
    public void fill() {
        ledger = new SeatLedger(new LedgerSettings(TIMEOUT, 0, 1_000, 1_000, 1_000, 1_000, 60_000, 100_000),
                LedgerListener.NONE);
        ledger.upsertEntitlement(new Entitlement("e", "acme", "p", Enforcement.SEATS, leases, null, null), T0);
        clients = new ClientRef[leases / 100];
        for (int i = 0; i < clients.length; i++) {
            clients[i] = new ClientRef(i, "c" + i, "hw" + i, "10.0.0.1:1");
        }
        boolean same = "sameMs".equals(spread);
        for (int i = 0; i < leases; i++) {
            long at = same ? T0 : T0 + (long) i * TIMEOUT / leases;
            lastGrant = at;
            ledger.checkout(new CheckoutCommand(clients[i % clients.length], 1, "p", "", 1, 1, false, 0, null,
                    new UUID(7, i), at));
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    @Warmup(iterations = 5)
    @Measurement(iterations = 10)
    public int tickExpiringAll() {
        ledger.tick(lastGrant + TIMEOUT);
        return ledger.leaseCount();
    }
}
