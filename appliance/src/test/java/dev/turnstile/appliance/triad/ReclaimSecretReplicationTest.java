package dev.turnstile.appliance.triad;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.seat.CheckoutCommand;
import dev.turnstile.appliance.seat.CheckoutOutcome;
import dev.turnstile.appliance.seat.ClientRef;
import dev.turnstile.appliance.seat.ConcurrentLedger;
import dev.turnstile.appliance.seat.LeaseState;
import dev.turnstile.appliance.seat.LeaseView;
import dev.turnstile.appliance.seat.SecretHash;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Secrets;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.util.Arrays;
import java.util.UUID;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Protocol 1.1 in the triad's formats: the Raft log entries carry the secret hashes (and entries written before
 * the upgrade still decode), and a snapshot (version 4) carries each lease's and each waiter's hash, so a member
 * restored from it decides a RECLAIM like the others. Older snapshots are still read.
 */
class ReclaimSecretReplicationTest {
    private static final long NOW = 1_800_000_000_000L;
    private final ClientRef holder = new ClientRef(1, "press-7", "hw-press-7", "127.0.0.1:1");
    private final ClientRef waiter = new ClientRef(2, "lathe-1", "hw-lathe-1", "127.0.0.1:2");

    private static byte[] apply(LedgerStateMachine sm, LedgerCommand c) throws Exception {
        byte[] e = LedgerCommand.encode(1, c);
        return sm.apply(e, 0, e.length, true);
    }

    @Test
    @DisplayName("CHECKOUT and CHECKIN log entries carry the secret hashes; an entry written before them decodes with none")
    void log_entries_carry_the_hashes_and_older_entries_still_decode() throws Exception {
        SecretHash presented = SecretHash.of(Secrets.fresh());
        SecretHash fresh = SecretHash.of(Secrets.fresh());
        CheckoutCommand c = new CheckoutCommand(holder, 7, "cad-pro", "", 1, 1, false, 0, UUID.randomUUID(),
                UUID.randomUUID(), NOW, presented, fresh);
        LedgerCommand.Checkout back = (LedgerCommand.Checkout) LedgerCommand.decode(
                LedgerCommand.encode(3, new LedgerCommand.Checkout(c)), 0,
                LedgerCommand.encode(3, new LedgerCommand.Checkout(c)).length).command();
        assertTrue(presented.matches(back.command().presentedSecret()));
        assertTrue(fresh.matches(back.command().newSecret()));
        LedgerCommand.Checkin in = new LedgerCommand.Checkin(holder, UUID.randomUUID(), NOW, presented);
        byte[] inBytes = LedgerCommand.encode(3, in);
        assertTrue(presented.matches(((LedgerCommand.Checkin) LedgerCommand.decode(inBytes, 0, inBytes.length)
                .command()).presentedSecret()));

        // before protocol 1.1 the entries ended right after the lease ids: the presence bytes are the new tail
        byte[] v1 = LedgerCommand.encode(3, new LedgerCommand.Checkout(new CheckoutCommand(holder, 7, "cad-pro", "", 1, 1,
                false, 0, null, UUID.randomUUID(), NOW)));
        byte[] old = Arrays.copyOf(v1, v1.length - 2);
        CheckoutCommand oldC = ((LedgerCommand.Checkout) LedgerCommand.decode(old, 0, old.length).command()).command();
        assertNull(oldC.presentedSecret());
        assertNull(oldC.newSecret());
        byte[] oldIn = LedgerCommand.encode(3, new LedgerCommand.Checkin(holder, UUID.randomUUID(), NOW));
        oldIn = Arrays.copyOf(oldIn, oldIn.length - 1);
        assertNull(((LedgerCommand.Checkin) LedgerCommand.decode(oldIn, 0, oldIn.length).command()).presentedSecret());
    }

    @Test
    @DisplayName("GIVEN a lease and a waiter with secrets WHEN the snapshot is installed on another member THEN that member "
            + "refuses the identifiers alone, takes the secret, and grants the waiter with its own secret's hash")
    void a_snapshot_carries_the_lease_and_waiter_hashes() throws Exception {
        byte[] leaseSecret = Secrets.fresh();
        byte[] waiterSecret = Secrets.fresh();
        ConcurrentLedger ledger = TriadRecoveryTest.emptyLedger();
        LedgerStateMachine sm = new LedgerStateMachine(ledger);
        apply(sm, new LedgerCommand.UpsertEntitlement(TriadFixture.entitlement(1), NOW));
        UUID lease = UUID.randomUUID();
        UUID waiting = UUID.randomUUID();
        apply(sm, new LedgerCommand.Checkout(new CheckoutCommand(holder, 1, "cad-pro", "", 1, 1, false, 0, null, lease,
                NOW + 1, null, SecretHash.of(leaseSecret))));
        apply(sm, new LedgerCommand.Checkout(new CheckoutCommand(waiter, 2, "cad-pro", "", 1, 1, true, 600_000, null,
                waiting, NOW + 2, null, SecretHash.of(waiterSecret))));
        apply(sm, new LedgerCommand.SessionLost(holder.sessionId(), NOW + 3));

        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        sm.writeContentTo(new DataOutputStream(bytes));
        ConcurrentLedger other = TriadRecoveryTest.emptyLedger();
        LedgerStateMachine restored = new LedgerStateMachine(other);
        restored.readContentFrom(new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())));

        LeaseView l = other.lease(lease).orElseThrow();
        assertEquals(LeaseState.ORPHANED, l.state());
        assertTrue(SecretHash.of(leaseSecret).matches(l.secretHash()));
        ClientRef again = new ClientRef(3, "press-7", "hw-press-7", "127.0.0.1:3");
        CheckoutOutcome denied = LedgerStateMachine.decodeResult(apply(restored, new LedgerCommand.Checkout(
                new CheckoutCommand(again, 3, "cad-pro", "", 1, 1, false, 0, lease, UUID.randomUUID(), NOW + 4))))
                .as(CheckoutOutcome.class).value();
        assertEquals(ErrorCode.RECLAIM_SECRET_MISMATCH, assertInstanceOf(CheckoutOutcome.Denied.class, denied).code());
        // the seat frees: the waiter restored from the snapshot is granted with the hash of its own secret
        apply(restored, new LedgerCommand.ForceRelease(lease, NOW + 5));
        assertTrue(SecretHash.of(waiterSecret).matches(other.lease(waiting).orElseThrow().secretHash()));
    }

    @Test
    @DisplayName("GIVEN a version 3 snapshot (before protocol 1.1) WHEN it is installed THEN its leases come back without "
            + "a secret hash")
    void a_version_3_snapshot_is_still_read() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.writeInt(3);
        out.writeLong(5);
        out.writeLong(NOW);
        out.writeInt(1);
        LedgerCommand.entitlement(out, TriadFixture.entitlement(2));
        out.writeInt(1);
        UUID lease = UUID.randomUUID();
        ByteArrayOutputStream one = new ByteArrayOutputStream();
        LedgerCommand.lease(new DataOutputStream(one), new LeaseView(lease, "ent-cad", "cad-pro", 1, "press-7",
                "hw-press-7", "127.0.0.1:1", 1, NOW, NOW, NOW + 30_000, LeaseState.ORPHANED));
        byte[] v4Lease = one.toByteArray();
        out.write(v4Lease, 0, v4Lease.length - 1); // version 3 leases end before the hash's presence byte
        out.writeInt(0); // no waiters
        new JournalKeys().write(out);
        out.flush();

        ConcurrentLedger ledger = TriadRecoveryTest.emptyLedger();
        new LedgerStateMachine(ledger).readContentFrom(new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())));

        LeaseView l = ledger.lease(lease).orElseThrow();
        assertNull(l.secretHash());
        assertEquals(LeaseState.ORPHANED, l.state());
    }
}
