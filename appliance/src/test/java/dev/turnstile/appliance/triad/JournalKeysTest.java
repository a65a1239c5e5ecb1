package dev.turnstile.appliance.triad;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.seat.CheckoutCommand;
import dev.turnstile.appliance.seat.ClientRef;
import dev.turnstile.appliance.seat.ConcurrentLedger;
import dev.turnstile.appliance.seat.LeaseView;
import dev.turnstile.appliance.seat.LedgerEvent;
import dev.turnstile.appliance.seat.LedgerListener;
import dev.turnstile.appliance.seat.LedgerSettings;
import dev.turnstile.protocol.ErrorCode;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The deterministic keys of a triad's journal events (issue 8), at the state-machine level. */
class JournalKeysTest {

    /** A ledger whose listener records the key of every journal event, as the store's TriadJournal asks for it. */
    static final class Member implements LedgerListener {
        final List<String> keyed = new ArrayList<>();
        final List<Long> others = new ArrayList<>();
        LedgerStateMachine sm;
        final ConcurrentLedger ledger = new ConcurrentLedger(LedgerSettings.defaults()
                .withLeaseTimeoutMs(TriadNode.REPLICATED_LEASE_TIMEOUT_MS), this);

        Member() {
            sm = new LedgerStateMachine(ledger);
        }

        void apply(LedgerCommand c) throws Exception {
            byte[] b = LedgerCommand.encode(1, c);
            sm.apply(b, 0, b.length, false);
        }

        @Override
        public void journal(LedgerEvent e) {
            long seq = sm.journal().nextSeq();
            if (seq >= 0) {
                keyed.add(seq + ":" + e.kind() + ":" + e.leaseId());
            } else {
                others.add(seq);
            }
        }

        @Override
        public void queuedGranted(long sessionId, int requestId, LeaseView lease) {
        }

        @Override
        public void queuedDenied(long sessionId, int requestId, ErrorCode code, String message) {
        }

        @Override
        public void leaseEnded(long sessionId, LeaseView lease, ErrorCode reason) {
        }
    }

    static List<LedgerCommand> log(long now, UUID journalId) {
        ClientRef c1 = new ClientRef(1, "c1", "hw1", "x");
        ClientRef c2 = new ClientRef(2, "c2", "hw2", "x");
        UUID l1 = new UUID(1, 1);
        List<LedgerCommand> log = new ArrayList<>();
        log.add(new LedgerCommand.UpsertEntitlement(TriadFixture.entitlement(1), now));
        log.add(new LedgerCommand.Checkout(new CheckoutCommand(c1, 1, "cad-pro", "", 1, 1, false, 0, null, l1, now)));
        log.add(new LedgerCommand.JournalMark(journalId, -1, now));
        log.add(new LedgerCommand.Checkout(new CheckoutCommand(c2, 1, "cad-pro", "", 1, 1, false, 0, null,
                new UUID(2, 2), now))); // denied: one seat
        log.add(new LedgerCommand.Checkin(c1, l1, now + 5));
        return log;
    }

    @Test
    @DisplayName("GIVEN two members applying the same log WHEN the ledger journals THEN every event has the same key (index * 2^20 + k) on both, and an event outside apply is local")
    void two_members_key_the_same_log_the_same_way() throws Exception {
        long now = 1_800_000_000_000L;
        UUID id = UUID.randomUUID();
        Member a = new Member();
        Member b = new Member();
        for (LedgerCommand c : log(now, id)) {
            a.apply(c);
            b.apply(c);
        }
        assertEquals(a.keyed, b.keyed);
        assertTrue(a.keyed.size() >= 4, a.keyed.toString());
        assertTrue(a.keyed.get(1).startsWith(JournalKeys.seq(2, 0) + ":CHECKOUT"), a.keyed.toString());
        assertTrue(a.keyed.get(a.keyed.size() - 1).startsWith(JournalKeys.seq(5, 0) + ":CHECKIN"), a.keyed.toString());
        assertEquals(id, a.sm.journal().journalId());
        a.ledger.upsertEntitlement(TriadFixture.entitlement(2), now); // not a log entry: local
        assertEquals(List.of(JournalKeys.LOCAL), a.others);
    }

    @Test
    @DisplayName("GIVEN a journal id fixed by the first mark WHEN a mark with another id or a lower position is applied THEN the id stays and the confirmed position only grows")
    void the_first_mark_fixes_the_journal_id() throws Exception {
        Member a = new Member();
        assertNull(a.sm.journal().journalId());
        UUID first = UUID.randomUUID();
        a.apply(new LedgerCommand.JournalMark(first, -1, 1));
        a.apply(new LedgerCommand.JournalMark(UUID.randomUUID(), 99, 2)); // a racing leader's: ignored
        assertEquals(first, a.sm.journal().journalId());
        assertEquals(-1, a.sm.journal().writtenUpTo());
        a.apply(new LedgerCommand.JournalMark(first, 40, 3));
        a.apply(new LedgerCommand.JournalMark(first, 30, 4));
        assertEquals(40, a.sm.journal().writtenUpTo());
    }

    @Test
    @DisplayName("GIVEN a member with a journal id WHEN its snapshot (version 3) is installed on an empty member THEN the id and the confirmed position come back and restoring journals nothing as a change")
    void the_journal_id_survives_a_snapshot() throws Exception {
        long now = 1_800_000_000_000L;
        UUID id = UUID.randomUUID();
        Member a = new Member();
        for (LedgerCommand c : log(now, id)) {
            a.apply(c);
        }
        a.apply(new LedgerCommand.JournalMark(id, JournalKeys.seq(4, 0), now));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        a.sm.writeContentTo(new DataOutputStream(out));
        Member b = new Member();
        b.sm.readContentFrom(new DataInputStream(new ByteArrayInputStream(out.toByteArray())));
        assertEquals(id, b.sm.journal().journalId());
        assertEquals(JournalKeys.seq(4, 0), b.sm.journal().writtenUpTo());
        assertEquals(a.sm.index(), b.sm.index());
        assertTrue(b.keyed.isEmpty());
        assertTrue(b.others.stream().allMatch(s -> s == JournalKeys.SUPPRESSED), b.others.toString());
        // the next command is keyed the same on both
        LedgerCommand next = new LedgerCommand.Checkout(new CheckoutCommand(new ClientRef(3, "c3", "hw3", "x"), 1,
                "cad-pro", "", 1, 1, false, 0, null, new UUID(3, 3), now + 9));
        a.keyed.clear();
        a.apply(next);
        b.apply(next);
        assertEquals(a.keyed, b.keyed);
    }
}
