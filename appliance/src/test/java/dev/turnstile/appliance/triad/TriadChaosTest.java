package dev.turnstile.appliance.triad;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A handful of {@link TriadChaos} schedules (fixed seeds, one per kind of fault that moves or removes the leader,
 * plus a follower restart) over one triad of three processes under 8 SDK clients and 7 seats. The full run of
 * 200 randomised schedules is {@code bench/triad-chaos.sh}.
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class TriadChaosTest {
    @TempDir
    Path dir;

    @Test
    @DisplayName("GIVEN one triad of three processes under 8 SDK clients and 7 seats WHEN seeded schedules kill the leader, pause the leader, restart a follower and kill two of three THEN the checker finds no grant over max_seats and no lease id lost across a failover")
    void seeded_fault_schedules_leave_no_checker_violation() throws Exception {
        List<String> violations = new ArrayList<>();
        List<TriadChaos.Outcome> outs = new ArrayList<>();
        long start = System.nanoTime();
        try (TriadProcessCluster cluster = TriadChaos.startCluster(dir)) {
            TriadChaos chaos = new TriadChaos(cluster);
            TriadChaos.Fault[] faults = {TriadChaos.Fault.KILL_LEADER, TriadChaos.Fault.STOP_LEADER,
                    TriadChaos.Fault.RESTART_FOLLOWER, TriadChaos.Fault.KILL_TWO};
            for (int n = 0; n < faults.length; n++) {
                TriadChaos.Outcome o = chaos.runSchedule(n, 4200 + n, faults[n]);
                outs.add(o);
                System.out.println("triad chaos: " + o.line());
                for (String v : o.result().violations) {
                    violations.add("schedule " + n + " (" + faults[n] + ", seed " + o.seed() + "): " + v);
                }
                assertTrue(o.leaderBack(), "a leader with quorum after the heal: " + o.line());
            }
        }
        System.out.print(TriadChaos.summary(outs, (System.nanoTime() - start) / 1_000_000));
        assertTrue(violations.isEmpty(), "checker violations: " + violations);
    }
}
