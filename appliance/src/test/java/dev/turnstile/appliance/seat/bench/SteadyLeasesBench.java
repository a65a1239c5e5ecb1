package dev.turnstile.appliance.seat.bench;

import dev.turnstile.appliance.seat.CheckoutCommand;
import dev.turnstile.appliance.seat.ClientRef;
import dev.turnstile.appliance.seat.Entitlement;
import dev.turnstile.appliance.seat.LedgerListener;
import dev.turnstile.appliance.seat.LedgerSettings;
import dev.turnstile.appliance.seat.SeatLedger;
import dev.turnstile.protocol.Enforcement;
import java.util.List;
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
 * Steady state with {@code leases} live leases: one heartbeat of one lease (it moves the lease to a
 * later deadline bucket), in deadline order, the simulated clock advancing 1 ms per 10 heartbeats so
 * that every lease is renewed well before it expires; and one tick with nothing due, which must not
 * depend on how many leases are live.
 */
@State(Scope.Thread)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class SteadyLeasesBench {

    private static final long T0 = 1_780_000_000_000L;
    private static final long TIMEOUT = 30_000;

    @Param({"100000"})
    public int leases;

    SeatLedger ledger;
    ClientRef[] clients;
    UUID[] ids;
    long clock;
    int next;

    @Setup(Level.Trial)
    public void fill() {
        ledger = new SeatLedger(new LedgerSettings(TIMEOUT, 0, 1_000, 1_000, 1_000, 1_000, 60_000, 100_000),
                LedgerListener.NONE);
        ledger.upsertEntitlement(new Entitlement("e", "acme", "p", Enforcement.SEATS, leases, null, null), T0);
        clients = new ClientRef[leases];
        ids = new UUID[leases];
        for (int i = 0; i < leases; i++) {
            clients[i] = new ClientRef(i, "c" + i, "hw" + i, "10.0.0.1:1");
            ids[i] = new UUID(7, i);
            ledger.checkout(new CheckoutCommand(clients[i], 1, "p", "", 1, 1, false, 0, null, ids[i],
                    T0 + (long) i * TIMEOUT / leases));
        }
        clock = T0 + TIMEOUT - 1;
    }

    @Benchmark
    public Object heartbeatOneLease() {
        int i = next;
        next = i + 1 == ids.length ? 0 : i + 1;
        if (i % 10 == 0) {
            clock++;
        }
        return ledger.heartbeat(clients[i], List.of(ids[i]), clock);
    }

    @Benchmark
    public long tickNothingDue() {
        ledger.tick(clock);
        return ledger.nextDeadlineMs();
    }
}
