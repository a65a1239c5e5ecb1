package dev.turnstile.appliance.triad;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.seat.CheckoutCommand;
import dev.turnstile.appliance.seat.ClientRef;
import dev.turnstile.appliance.seat.ConcurrentLedger;
import dev.turnstile.appliance.seat.LeaseState;
import dev.turnstile.appliance.seat.LeaseView;
import dev.turnstile.appliance.seat.LedgerListener;
import dev.turnstile.appliance.seat.LedgerSettings;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Tag("slow") // triad members stopped and rejoining from their logs
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TriadRecoveryTest {
    @TempDir
    Path dir;
    TriadFixture triad;

    @AfterEach
    void stop() {
        if (triad != null) {
            triad.close();
        }
    }

    static ConcurrentLedger emptyLedger() {
        return new ConcurrentLedger(LedgerSettings.defaults().withLeaseTimeoutMs(TriadNode.REPLICATED_LEASE_TIMEOUT_MS)
                .withReclaimGraceMs(TriadFixture.RECLAIM_GRACE_MS), LedgerListener.NONE);
    }

    @Test
    @DisplayName("GIVEN a ledger with held and orphaned leases WHEN it is snapshotted and the snapshot installed on an empty ledger THEN both hold the same leases, index and time")
    void a_snapshot_restores_the_ledger() throws Exception {
        ConcurrentLedger source = emptyLedger();
        LedgerStateMachine sm = new LedgerStateMachine(source);
        long now = System.currentTimeMillis();
        byte[] ent = bytes(new LedgerCommand.UpsertEntitlement(TriadFixture.entitlement(5), now));
        sm.apply(ent, 0, ent.length, false);
        ClientRef s1 = new ClientRef(1, "c1", "hw1", "x");
        ClientRef s2 = new ClientRef(2, "c2", "hw2", "x");
        for (ClientRef c : List.of(s1, s2)) {
            byte[] b = LedgerCommand.encode(1, new LedgerCommand.Checkout(new CheckoutCommand(c, 1, "cad-pro", "", 1, 1,
                    false, 0, null, UUID.randomUUID(), now)));
            sm.apply(b, 0, b.length, true);
        }
        byte[] lost = LedgerCommand.encode(1, new LedgerCommand.SessionLost(2, now + 10));
        sm.apply(lost, 0, lost.length, false);

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        sm.writeContentTo(new DataOutputStream(out));
        ConcurrentLedger target = emptyLedger();
        LedgerStateMachine restored = new LedgerStateMachine(target);
        restored.readContentFrom(new DataInputStream(new ByteArrayInputStream(out.toByteArray())));

        assertEquals(source.leases(), target.leases());
        assertEquals(source.pools(), target.pools());
        assertEquals(sm.index(), restored.index());
        assertEquals(sm.latestMs(), restored.latestMs());
        assertEquals(List.of(LeaseState.HELD, LeaseState.ORPHANED),
                target.leases().stream().map(LeaseView::state).toList());
    }

    @Test
    @DisplayName("GIVEN a one-seat pool with two checkouts waiting WHEN the ledger is snapshotted and installed elsewhere THEN the same waiters are queued in the same order and the next checkin grants the first of them on both")
    void a_snapshot_restores_the_waiting_checkouts_in_order() throws Exception {
        ConcurrentLedger source = emptyLedger();
        LedgerStateMachine sm = new LedgerStateMachine(source);
        long now = System.currentTimeMillis();
        byte[] ent = bytes(new LedgerCommand.UpsertEntitlement(TriadFixture.entitlement(1), now));
        sm.apply(ent, 0, ent.length, false);
        ClientRef holder = new ClientRef(1, "c1", "hw1", "x");
        UUID held = UUID.randomUUID();
        UUID first = UUID.randomUUID();
        UUID second = UUID.randomUUID();
        byte[] h = bytes(new LedgerCommand.Checkout(new CheckoutCommand(holder, 1, "cad-pro", "", 1, 1, false, 0, null,
                held, now)));
        sm.apply(h, 0, h.length, true);
        int n = 2;
        for (UUID id : List.of(first, second)) {
            byte[] b = bytes(new LedgerCommand.Checkout(new CheckoutCommand(new ClientRef(n, "c" + n, "hw" + n, "x"), 1,
                    "cad-pro", "", 1, 1, true, 60_000, null, id, now + n)));
            n++;
            LedgerStateMachine.Applied a = LedgerStateMachine.decodeResult(sm.apply(b, 0, b.length, true));
            assertTrue(a.value() instanceof dev.turnstile.appliance.seat.CheckoutOutcome.Queued, String.valueOf(a.value()));
        }

        ByteArrayOutputStream out = new ByteArrayOutputStream();
        sm.writeContentTo(new DataOutputStream(out));
        ConcurrentLedger target = emptyLedger();
        LedgerStateMachine restored = new LedgerStateMachine(target);
        restored.readContentFrom(new DataInputStream(new ByteArrayInputStream(out.toByteArray())));

        assertEquals(2, target.waiterCount());
        List<dev.turnstile.appliance.seat.SeatLedger.SnapshotWaiter> before = source.locked(l -> l.snapshotWaiters());
        List<dev.turnstile.appliance.seat.SeatLedger.SnapshotWaiter> after = target.locked(l -> l.snapshotWaiters());
        assertEquals(before, after);
        assertEquals(List.of(first, second), after.stream().map(w -> w.newLeaseId()).toList());
        byte[] in = bytes(new LedgerCommand.Checkin(holder, held, now + 100));
        sm.apply(in, 0, in.length, false);
        restored.apply(in, 0, in.length, false);
        assertTrue(source.lease(first).isPresent(), "the first waiter is granted on the source");
        assertEquals(source.leases(), target.leases(), "and identically on the restored ledger");
        assertEquals(1, target.waiterCount());
    }

    private static byte[] bytes(LedgerCommand c) {
        return LedgerCommand.encode(1, c);
    }

    @Test
    @DisplayName("GIVEN a follower that was down while leases were granted WHEN it restarts from its state directory THEN it catches up with the leader's leases")
    void a_restarted_follower_catches_up() throws Exception {
        triad = new TriadFixture(dir);
        triad.startAll(2_000);
        int leader = triad.awaitLeader(15_000);
        int follower = (leader + 1) % 3;
        TriadNode l = triad.nodes[leader];
        ClientRef ref = new ClientRef(l.sessionIdBase() + 1, "c1", "hw1", "x");
        List<UUID> granted = new ArrayList<>();
        granted.add(grant(l, ref));
        TriadFixture.await(() -> triad.ledgers[follower].leaseCount() == 1, 10_000);
        triad.kill(follower);

        for (int i = 0; i < 1_200; i++) { // about 180 KB of log, above the fixture's 64 KB max_log_bytes: the log is snapshotted
            granted.add(grant(l, new ClientRef(l.sessionIdBase() + 2 + i / 200, "c" + i, "hw" + i, "x")));
        }
        triad.start(follower, 2_000);

        assertTrue(TriadFixture.await(() -> triad.ledgers[follower].leaseCount() == granted.size(), 30_000),
                "follower holds " + triad.ledgers[follower].leaseCount() + " of " + granted.size());
        assertEquals(triad.ledgers[leader].leases(), triad.ledgers[follower].leases());
    }

    private static UUID grant(TriadNode n, ClientRef ref) throws Exception {
        UUID id = UUID.randomUUID();
        LedgerStateMachine.Applied a = n.checkout(new CheckoutCommand(ref, 1, "cad-pro", "", 1, 1, false, 0, null, id,
                System.currentTimeMillis())).get(10, TimeUnit.SECONDS);
        assertTrue(a.value() instanceof dev.turnstile.appliance.seat.CheckoutOutcome.Granted, String.valueOf(a.value()));
        return id;
    }
}
