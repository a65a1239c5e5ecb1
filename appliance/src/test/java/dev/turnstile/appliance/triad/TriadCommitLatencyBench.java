package dev.turnstile.appliance.triad;

import dev.turnstile.appliance.seat.CheckoutCommand;
import dev.turnstile.appliance.seat.ClientRef;
import java.nio.file.Files;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** Sequential commits per second on a three-member triad in this JVM (no clients, no sockets). Prints only. */
class TriadCommitLatencyBench {
    @Test
    void prints_sequential_commit_rate() throws Exception {
        Assumptions.assumeTrue(Boolean.getBoolean("triad.bench"), "a benchmark: run with -Dtriad.bench=true");
        try (TriadFixture t = new TriadFixture(Files.createTempDirectory("triad-lat"))) {
            t.startAll(1_000_000);
            int leader = t.awaitLeader(15_000);
            TriadNode n = t.nodes[leader];
            ClientRef ref = new ClientRef(n.sessionIdBase() + 1, "bench", "hw", "x");
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(4);
            long count = 0;
            long start = System.nanoTime();
            while (System.nanoTime() < end && count < 10_000_000) {
                UUID id = UUID.randomUUID();
                n.checkout(new CheckoutCommand(ref, 1, "cad-pro", "", 1, 1, false, 0, null, id, System.currentTimeMillis()))
                        .get(10, TimeUnit.SECONDS);
                n.checkin(ref, id, System.currentTimeMillis()).get(10, TimeUnit.SECONDS);
                count += 2;
            }
            double secs = (System.nanoTime() - start) / 1e9;
            System.out.printf("triad figure: sequential commits %.0f/s (%.2f ms each), stack %s%n", count / secs,
                    secs * 1000 / count, System.getProperty("triad.bench.label", "default"));
        }
    }
}
