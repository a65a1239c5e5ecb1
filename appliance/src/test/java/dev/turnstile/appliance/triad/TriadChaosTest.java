package dev.turnstile.appliance.triad;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A handful of {@link TriadChaos} schedules (fixed seeds, one per kind of fault that moves or removes the leader,
 * plus a follower restart) over one triad of three processes under 8 SDK clients and 7 seats. The full run of
 * 200 randomised schedules is {@code bench/triad-chaos.sh}. Timings (TriadAppliancesTest): lease timeout 10 s >
 * failure detection 4.5 s + election + the SDK's failover and reclaim + a heartbeat interval, so the SDKs' local
 * expiry never ends a lease in a failover that keeps a majority (a violation if it did); KILL_TWO_LONG keeps the
 * majority away for longer than the lease timeout, where expiredLocally is the right outcome and counted apart.
 */
@Tag("slow") // triad chaos: processes killed, paused and partitioned for minutes
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class TriadChaosTest {
    @TempDir
    Path dir;

    @Test
    @DisplayName("GIVEN one triad of three processes under 8 SDK clients and 7 seats WHEN seeded schedules kill the leader, pause the leader, restart a follower, kill two of three briefly, kill two of three for longer than the lease timeout and cut the leader's triad traffic (DROP or RESET) THEN the checker finds no grant over max_seats, no lease id lost across a failover and no local expiry while a majority was reachable")
    void seeded_fault_schedules_leave_no_checker_violation() throws Exception {
        List<String> violations = new ArrayList<>();
        List<TriadChaos.Outcome> outs = new ArrayList<>();
        long start = System.nanoTime();
        try (TriadProcessCluster cluster = TriadChaos.startCluster(dir)) {
            TriadChaos chaos = new TriadChaos(cluster);
            List<TriadChaos.Fault> faults = new ArrayList<>(List.of(TriadChaos.Fault.KILL_LEADER,
                    TriadChaos.Fault.STOP_LEADER, TriadChaos.Fault.RESTART_FOLLOWER, TriadChaos.Fault.KILL_TWO,
                    TriadChaos.Fault.KILL_TWO_LONG));
            if (cluster.net != null) { // behind the proxy (127.0.0.2-4 bindable): a partition of the leader too
                faults.add(TriadChaos.Fault.CUT_LEADER);
            }
            for (int n = 0; n < faults.size(); n++) {
                TriadChaos.Outcome o = chaos.runSchedule(n, 4200 + n, faults.get(n));
                outs.add(o);
                System.out.println("triad chaos: " + o.line());
                for (String v : o.result().violations) {
                    violations.add("schedule " + n + " (" + faults.get(n) + ", seed " + o.seed() + "): " + v);
                }
                for (String j : o.result().justifications) {
                    System.out.println("triad chaos:   justified loss " + j);
                }
                for (String x : o.result().expiries) {
                    System.out.println("triad chaos:   expired locally without a majority " + x);
                }
                assertTrue(o.leaderBack(), "a leader with quorum after the heal: " + o.line());
            }
        }
        System.out.print(TriadChaos.summary(outs, (System.nanoTime() - start) / 1_000_000));
        assertTrue(violations.isEmpty(), "checker violations: " + violations);
    }
}
