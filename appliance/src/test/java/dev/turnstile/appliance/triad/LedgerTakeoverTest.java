package dev.turnstile.appliance.triad;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.seat.CheckoutCommand;
import dev.turnstile.appliance.seat.CheckoutOutcome;
import dev.turnstile.appliance.seat.ClientRef;
import dev.turnstile.appliance.seat.ConcurrentLedger;
import dev.turnstile.appliance.seat.LeaseState;
import java.io.IOException;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** A new leader's first entry of its term ({@link LedgerCommand.Takeover}), decided when it is applied. */
class LedgerTakeoverTest {
    static final long NOW = 1_800_000_000_000L;

    static long session(int member, int n) {
        return ((long) member << TriadNode.SESSION_ID_SHIFT) + n;
    }

    static ClientRef client(long sessionId, String id) {
        return new ClientRef(sessionId, id, "hw-" + id, "x");
    }

    static Object apply(LedgerStateMachine sm, LedgerCommand c) throws Exception {
        byte[] b = LedgerCommand.encode(3, c);
        return LedgerStateMachine.decodeResult(sm.apply(b, 0, b.length, true)).value();
    }

    static LedgerCommand checkout(long sessionId, String id, int n, boolean wait) {
        return new LedgerCommand.Checkout(new CheckoutCommand(client(sessionId, id), n, "cad-pro", "", 1, 1, wait,
                wait ? 60_000 : 0, null, new UUID(0, n), NOW + n));
    }

    @Test
    @DisplayName("GIVEN the old leader's (member 1) lease and waiting checkout, applied after the new leader proposed its "
            + "takeover WHEN the takeover of member 2 is applied and a seat is then checked in THEN the old sessions are "
            + "lost (lease ORPHANED, waiter gone, the named own session too) and a seat freed next goes to no dead waiter")
    void a_takeover_ends_every_session_of_another_member_when_it_is_applied() throws Exception {
        ConcurrentLedger ledger = TriadRecoveryTest.emptyLedger();
        LedgerStateMachine sm = new LedgerStateMachine(ledger);
        apply(sm, new LedgerCommand.UpsertEntitlement(TriadFixture.entitlement(2), NOW));
        long oldHolder = session(1, 1);
        long oldWaiter = session(1, 2);
        long ownEarlier = session(2, 7); // member 2's own, from an earlier term of its own
        assertTrue(apply(sm, checkout(oldHolder, "holder", 1, false)) instanceof CheckoutOutcome.Granted);
        assertTrue(apply(sm, checkout(ownEarlier, "earlier", 2, false)) instanceof CheckoutOutcome.Granted);
        assertTrue(apply(sm, checkout(oldWaiter, "waiter", 3, true)) instanceof CheckoutOutcome.Queued);
        assertEquals(1, ledger.waiterCount());

        apply(sm, new LedgerCommand.Takeover(2, List.of(ownEarlier), NOW + 10));

        assertEquals(0, ledger.waiterCount(), "the dead session's waiter left the queue");
        assertEquals(LeaseState.ORPHANED, ledger.lease(new UUID(0, 1)).orElseThrow().state());
        assertEquals(LeaseState.ORPHANED, ledger.lease(new UUID(0, 2)).orElseThrow().state(), "named own session");
        // a seat given back now (here released by the admin) is free: it goes to no dead waiter
        apply(sm, new LedgerCommand.ForceRelease(new UUID(0, 1), NOW + 20));
        assertEquals(1, ledger.pools().get(0).used(), "only the orphaned own lease still counts");
        assertTrue(apply(sm, checkout(session(2, 2), "waiter", 5, true)) instanceof CheckoutOutcome.Granted,
                "the waiter, sent again to the new leader, gets the freed seat");
    }

    @Test
    @DisplayName("GIVEN a takeover entry WHEN encoded and decoded THEN it is the same; one that claims more sessions than "
            + "it carries or than allowed is refused with a named error")
    void a_takeover_round_trips_and_a_malformed_one_is_refused() throws Exception {
        LedgerCommand.Takeover t = new LedgerCommand.Takeover(3, List.of(session(3, 1), session(3, 9)), NOW);
        byte[] b = LedgerCommand.encode(5, t);
        assertEquals(LedgerCommand.TAKEOVER, b[0]);
        assertEquals(t, LedgerCommand.decode(b, 0, b.length).command());
        byte[] lying = b.clone();
        java.nio.ByteBuffer.wrap(lying).putInt(21, 3); // type(1) term(8) now(8) leader(4) count
        IOException e = assertThrows(IOException.class, () -> LedgerCommand.decode(lying, 0, lying.length));
        assertTrue(e.getMessage().contains("takeover naming 3 sessions"), e.getMessage());
        java.nio.ByteBuffer.wrap(lying).putInt(21, LedgerCommand.MAX_TAKEOVER_SESSIONS + 1);
        assertThrows(IOException.class, () -> LedgerCommand.decode(lying, 0, lying.length));
    }
}
