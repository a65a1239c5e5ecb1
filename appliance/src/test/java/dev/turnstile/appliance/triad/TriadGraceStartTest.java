package dev.turnstile.appliance.triad;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.seat.LeaseState;
import dev.turnstile.appliance.seat.LeaseView;
import java.nio.file.Path;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12, finding 4 in a triad: the reclaim grace of the previous leader's leases counts from the moment the new
 * leader leads with quorum and its clients can connect (the appliance opens its client listener after joining).
 */
@Tag("slow") // a triad and a leader change
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TriadGraceStartTest {
    @TempDir
    Path dir;
    TriadFixture triad;

    @AfterEach
    void stop() {
        if (triad != null) {
            triad.close();
        }
    }

    @Test
    @DisplayName("GIVEN a lease granted by a leader that dies, and survivors whose client listeners do not accept yet WHEN "
            + "one of them leads with quorum THEN the lease keeps its seat, HELD; once the listener accepts its reclaim "
            + "grace starts, ending a full grace later")
    void a_new_leaders_reclaim_grace_starts_when_its_clients_can_connect() throws Exception {
        triad = new TriadFixture(dir);
        triad.startAll(3);
        int leader = triad.awaitLeader(15_000);
        assertTrue(leader >= 0, "a leader is elected");
        triad.nodes[leader].checkout(TriadReplicationTest.checkout(triad.nodes[leader], "c1", null)).get(10, TimeUnit.SECONDS);
        UUID leaseId = triad.ledgers[leader].leases().get(0).leaseId();
        for (int i = 0; i < 3; i++) {
            int m = i;
            assertTrue(TriadFixture.await(() -> triad.ledgers[m].lease(leaseId).isPresent(), 10_000),
                    "member " + m + " applied the checkout");
        }
        AtomicBoolean listening = new AtomicBoolean(false);
        for (int i = 0; i < 3; i++) {
            if (i != leader) {
                triad.nodes[i].clientsCanConnect(listening::get);
            }
        }

        triad.kill(leader);
        int next = triad.awaitLeader(30_000);
        assertTrue(next >= 0 && next != leader, "a new leader with quorum");
        // the new leader's duties run every 100 ms; over two seconds of them the lease stays HELD (no sessionLost)
        long lookUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        while (System.nanoTime() < lookUntil) {
            Optional<LeaseView> l = triad.ledgers[next].lease(leaseId);
            assertTrue(l.isPresent(), "the lease keeps its seat");
            assertEquals(LeaseState.HELD, l.get().state(), "no grace runs while clients cannot connect");
            Thread.sleep(100); // the behaviour under test: two seconds pass and nothing happens to the lease
        }

        long openedAt = System.currentTimeMillis();
        listening.set(true);
        assertTrue(TriadFixture.await(() -> triad.ledgers[next].lease(leaseId)
                .map(l -> l.state() == LeaseState.ORPHANED).orElse(false), 10_000), "the grace starts");
        long graceEnd = triad.ledgers[next].lease(leaseId).orElseThrow().deadlineMs();
        assertTrue(graceEnd >= openedAt + TriadFixture.RECLAIM_GRACE_MS, "the grace ends a full "
                + TriadFixture.RECLAIM_GRACE_MS + " ms after the listener accepted (" + (graceEnd - openedAt) + " ms)");
    }
}
