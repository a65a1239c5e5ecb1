package dev.turnstile.appliance.triad;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.seat.CheckoutOutcome;
import dev.turnstile.appliance.seat.ClientRef;
import dev.turnstile.appliance.seat.LeaseState;
import dev.turnstile.protocol.Message;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A leader that does not run for a while (SIGSTOP, a long GC pause) must not expire, when it resumes, the leases
 * whose heartbeats arrived on time and wait unread in its sockets. Found by {@code bench/triad-chaos.sh}: the
 * leader SIGSTOPped for 2,944 ms (lease timeout 3 s) kept leading (no election finished meanwhile), and on
 * SIGCONT its duty thread committed expiries for four leases before its event loop read their heartbeats: four
 * clients were told licenseCheckoutExpired. Here the pause is a jump of the members' clock (what the duty thread
 * sees after a pause), with three members in this JVM.
 */
@Tag("slow") // a triad whose leader is paused past the failure detector
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class TriadLeaderPauseTest {
    static final long LEASE_TIMEOUT_MS = 3_000;

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
    @DisplayName("GIVEN a leader holding a heartbeated lease WHEN it does not run for longer than the lease timeout THEN it does not expire that lease, the next heartbeat renews it, and a lease nobody heartbeats still expires")
    void a_paused_leader_does_not_expire_leases_whose_heartbeats_wait_unread() throws Exception {
        AtomicLong skew = new AtomicLong();
        triad = new TriadFixture(dir);
        triad.clock = () -> System.currentTimeMillis() + skew.get();
        triad.leaseTimeoutMs = LEASE_TIMEOUT_MS;
        triad.reclaimGraceMs = 2_000;
        triad.startAll(3);
        int leader = triad.awaitLeader(15_000);
        assertTrue(leader >= 0, "a leader is elected");
        TriadNode l = triad.nodes[leader];
        ClientRef ref = new ClientRef(l.sessionIdBase() + 1, "c1", "hw-c1", "127.0.0.1:1");
        LedgerStateMachine.Applied a = l.checkout(TriadReplicationTest.checkout(l, "c1", null)).get(10, TimeUnit.SECONDS);
        UUID id = assertInstanceOf(CheckoutOutcome.Granted.class, a.value()).lease().leaseId();

        // a running leader and a client heartbeating every 300 ms, past the hold a new leader gives every lease
        long end = System.currentTimeMillis() + LEASE_TIMEOUT_MS + 1_000;
        while (System.currentTimeMillis() < end) {
            assertEquals(0, l.heartbeat(ref, List.of(id), triad.clock.getAsLong()).get(0).code());
            Thread.sleep(300); // the behaviour under test: a client heartbeating every 300 ms for a while
        }

        // the leader does not run for 3.5 s (its clock jumps), the client's heartbeat waits unread meanwhile
        skew.addAndGet(LEASE_TIMEOUT_MS + 500);
        Thread.sleep(600); // the behaviour under test: several duty runs (every 100 ms) see the jump; nothing may expire
        assertTrue(triad.ledgers[leader].lease(id).map(v -> v.state() == LeaseState.HELD).orElse(false),
                "the lease is still held after the leader's pause");
        Message.LeaseStatus renewed = l.heartbeat(ref, List.of(id), triad.clock.getAsLong()).get(0);
        assertEquals(0, renewed.code(), "the heartbeat that waited is answered OK");

        // nobody heartbeats any more: the lease expires after the lease timeout, pause or not
        assertTrue(TriadFixture.await(() -> triad.ledgers[leader].lease(id).map(v -> v.state() != LeaseState.HELD)
                .orElse(true), 10_000), "a lease nobody heartbeats still expires");
    }

    @Test
    @DisplayName("GIVEN a member alone (no quorum) WHEN it does not run for 10 s THEN that pause does not count as time "
            + "without quorum for the quorum-loss rule")
    void a_pause_does_not_count_as_time_without_quorum() throws Exception {
        AtomicLong skew = new AtomicLong();
        triad = new TriadFixture(dir);
        triad.clock = () -> System.currentTimeMillis() + skew.get();
        triad.start(0, 3);
        TriadNode lone = triad.nodes[0];
        Thread.sleep(300); // a few duty runs alone (every 100 ms) before the pause: time without quorum starts counting
        long before = lone.withoutQuorumMs(triad.clock.getAsLong());
        skew.addAndGet(10_000);
        // the next duty run (every 100 ms) takes the pause out; without that it only grows past 10 s
        long[] after = new long[1];
        assertTrue(TriadFixture.await(() -> (after[0] = lone.withoutQuorumMs(triad.clock.getAsLong())) - before < 5_000,
                5_000), "without quorum " + before + " ms before the pause, " + after[0] + " ms after");
    }
}
