package dev.turnstile.appliance.seat;

import static dev.turnstile.appliance.seat.LedgerFixture.CHECKOUTS;
import static dev.turnstile.appliance.seat.LedgerFixture.LEASE_TIMEOUT;
import static dev.turnstile.appliance.seat.LedgerFixture.MAX_LEASES_PER_SESSION;
import static dev.turnstile.appliance.seat.LedgerFixture.T0;
import static dev.turnstile.appliance.seat.LedgerFixture.client;
import static dev.turnstile.appliance.seat.LedgerFixture.co;
import static dev.turnstile.appliance.seat.LedgerFixture.id;
import static dev.turnstile.appliance.seat.LedgerFixture.seats;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.seat.LedgerFixture.Recorder.Call;
import dev.turnstile.protocol.ErrorCode;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Socket loss, the reclaim grace, RECLAIM checkouts and client GOODBYE. */
class ReclaimAndSessionLossTest {

    private static final long GRACE = 10_000;
    private final ClientRef alice = client(1, "cad-ws-1", "hw-alice");
    /** Same program, same machine, new socket. */
    private final ClientRef aliceAgain = client(2, "cad-ws-1", "hw-alice");
    /** Another program on alice's machine. */
    private final ClientRef aliceOther = client(3, "cad-ws-9", "hw-alice");
    private final ClientRef bob = client(4, "cad-ws-2", "hw-bob");
    private final LedgerFixture.Recorder rec = new LedgerFixture.Recorder();

    private SeatLedger ledgerWithAliceHolding2Seats(long grace) {
        SeatLedger ledger = new SeatLedger(LedgerFixture.settings(grace), rec);
        ledger.upsertEntitlement(seats("ent-cad", "cad", 5), T0);
        ledger.upsertEntitlement(seats("ent-cad2", "cad", 5), T0);
        ledger.upsertEntitlement(seats("ent-cam", "cam", 5), T0);
        ledger.checkout(co(alice, "cad").qty(2).id(1).build());
        return ledger;
    }

    private static ErrorCode denial(CheckoutOutcome o) {
        return assertInstanceOf(CheckoutOutcome.Denied.class, o).code();
    }

    @Test
    void without_a_reclaim_grace_a_lost_sessions_leases_are_released_at_once() {
        SeatLedger ledger = ledgerWithAliceHolding2Seats(0);
        ledger.sessionLost(1, T0 + 5);
        assertEquals(0, ledger.leaseCount());
        assertEquals(0, ledger.pools().get(0).used());
        assertEquals(List.of(new Call("ended", 1, 0, id(1), ErrorCode.SESSION_LOST)), rec.calls);
        assertEquals(LedgerEvent.Kind.RELEASE, rec.last().kind());
        assertEquals(ErrorCode.SESSION_LOST, rec.last().reason());
        assertEquals(ErrorCode.LEASE_ID_NOT_FOUND,
                denial(ledger.checkout(co(aliceAgain, "cad").reclaim(id(1)).at(T0 + 6).build())));
    }

    @Test
    void with_a_grace_a_lost_sessions_leases_are_orphaned_and_keep_their_seats_until_the_grace_ends() {
        SeatLedger ledger = ledgerWithAliceHolding2Seats(GRACE);
        ledger.sessionLost(1, T0 + 5);
        LeaseView l = ledger.lease(id(1)).orElseThrow();
        assertEquals(LeaseState.ORPHANED, l.state());
        assertEquals(T0 + 5 + GRACE, l.deadlineMs());
        assertEquals(2, ledger.pools().get(0).used());
        assertEquals(List.of(), ledger.leasesOf(1));
        // WHEN the grace ends
        ledger.tick(T0 + 5 + GRACE);
        // THEN the seats return, reason sessionLost, and the id is remembered as expired
        assertEquals(0, ledger.pools().get(0).used());
        assertEquals(List.of(new Call("ended", 1, 0, id(1), ErrorCode.SESSION_LOST)), rec.calls);
        assertEquals(ErrorCode.LICENSE_CHECKOUT_EXPIRED,
                denial(ledger.checkout(co(aliceAgain, "cad").reclaim(id(1)).at(T0 + 6 + GRACE).build())));
    }

    @Test
    void a_reclaim_moves_an_orphaned_lease_to_the_new_session_with_the_same_id_and_seats_and_a_fresh_deadline() {
        SeatLedger ledger = ledgerWithAliceHolding2Seats(GRACE);
        ledger.sessionLost(1, T0 + 5);
        // WHEN another program of alice's machine reclaims it (client_id may differ for an orphan)
        CheckoutOutcome o = ledger.checkout(co(aliceOther, "cad").qty(1).reclaim(id(1)).id(77).at(T0 + 100).build());
        CheckoutOutcome.Granted g = assertInstanceOf(CheckoutOutcome.Granted.class, o);
        assertTrue(g.reclaimed());
        LeaseView l = g.lease();
        assertEquals(id(1), l.leaseId());
        assertEquals(2, l.quantity());
        assertEquals(3, l.sessionId());
        assertEquals("cad-ws-9", l.clientId());
        assertEquals(LeaseState.HELD, l.state());
        assertEquals(T0, l.checkedOutAtMs());
        assertEquals(T0 + 100 + LEASE_TIMEOUT, l.deadlineMs());
        assertEquals(2, ledger.pools().get(0).used());
        assertEquals(List.of(l), ledger.leasesOf(3));
        assertEquals(LedgerEvent.Kind.RECLAIM, rec.last().kind());
        // AND heartbeats work again on the new session
        assertEquals(0, ledger.heartbeat(aliceOther, List.of(id(1)), T0 + 200).get(0).code());
    }

    @Test
    void a_reclaim_of_an_unknown_lease_answers_leaseIdNotFound() {
        SeatLedger ledger = ledgerWithAliceHolding2Seats(GRACE);
        assertEquals(ErrorCode.LEASE_ID_NOT_FOUND, denial(ledger.checkout(co(aliceAgain, "cad").reclaim(id(9)).build())));
    }

    @Test
    void a_reclaim_of_an_expired_lease_answers_licenseCheckoutExpired() {
        SeatLedger ledger = ledgerWithAliceHolding2Seats(GRACE);
        assertEquals(ErrorCode.LICENSE_CHECKOUT_EXPIRED, denial(ledger.checkout(
                co(aliceAgain, "cad").reclaim(id(1)).at(T0 + LEASE_TIMEOUT).build())));
    }

    @Test
    void a_reclaim_from_another_machine_answers_clientHwIdMismatch() {
        SeatLedger ledger = ledgerWithAliceHolding2Seats(GRACE);
        ledger.sessionLost(1, T0 + 5);
        assertEquals(ErrorCode.CLIENT_HW_ID_MISMATCH, denial(ledger.checkout(co(bob, "cad").reclaim(id(1)).build())));
        assertEquals(LeaseState.ORPHANED, ledger.lease(id(1)).orElseThrow().state());
    }

    @Test
    void a_reclaim_naming_another_product_or_key_answers_licenseKeyVsLeaseIdMismatch() {
        SeatLedger ledger = ledgerWithAliceHolding2Seats(GRACE);
        ledger.sessionLost(1, T0 + 5);
        assertEquals(ErrorCode.LICENSE_KEY_VS_LEASE_ID_MISMATCH,
                denial(ledger.checkout(co(aliceAgain, "cam").reclaim(id(1)).build())));
        assertEquals(ErrorCode.LICENSE_KEY_VS_LEASE_ID_MISMATCH,
                denial(ledger.checkout(co(aliceAgain, "cad").key("ent-cad2").reclaim(id(1)).build())));
        // AND the right key works
        assertInstanceOf(CheckoutOutcome.Granted.class,
                ledger.checkout(co(aliceAgain, "cad").key("ent-cad").reclaim(id(1)).build()));
    }

    @Test
    void a_reclaim_naming_another_enforcement_answers_the_enforcement_type_mismatch() {
        SeatLedger ledger = ledgerWithAliceHolding2Seats(GRACE);
        ledger.sessionLost(1, T0 + 5);
        assertEquals(ErrorCode.LICENSE_CONSUMPTION_QTY_ENFORCEMENT_TYPE_MISMATCH,
                denial(ledger.checkout(co(aliceAgain, "cad").enforcement(CHECKOUTS).reclaim(id(1)).build())));
    }

    @Test
    void a_held_lease_moves_to_a_new_socket_only_for_the_same_client_id_and_hw_id() {
        // GIVEN alice's old socket is not yet noticed dead
        SeatLedger ledger = ledgerWithAliceHolding2Seats(GRACE);
        // THEN another program on the same machine cannot take it
        assertEquals(ErrorCode.CLIENT_HW_ID_MISMATCH,
                denial(ledger.checkout(co(aliceOther, "cad").reclaim(id(1)).build())));
        // AND the same program reconnecting can
        CheckoutOutcome.Granted g = assertInstanceOf(CheckoutOutcome.Granted.class,
                ledger.checkout(co(aliceAgain, "cad").reclaim(id(1)).at(T0 + 10).build()));
        assertTrue(g.reclaimed());
        assertEquals(2, g.lease().sessionId());
        assertEquals(List.of(), ledger.leasesOf(1));
        assertEquals(2, ledger.pools().get(0).used());
        // AND when the old socket is finally noticed dead, the moved lease stays
        ledger.sessionLost(1, T0 + 20);
        assertEquals(LeaseState.HELD, ledger.lease(id(1)).orElseThrow().state());
    }

    @Test
    void a_reclaim_into_a_session_at_its_lease_limit_answers_tooManyLeases() {
        SeatLedger ledger = ledgerWithAliceHolding2Seats(GRACE);
        ledger.sessionLost(1, T0 + 5);
        for (int i = 0; i < MAX_LEASES_PER_SESSION; i++) {
            ledger.checkout(co(aliceAgain, "cam").id(10 + i).at(T0 + 6).build());
        }
        assertEquals(ErrorCode.TOO_MANY_LEASES,
                denial(ledger.checkout(co(aliceAgain, "cad").reclaim(id(1)).at(T0 + 7).build())));
    }

    @Test
    void a_client_goodbye_checks_in_all_its_leases_and_answers_how_many() {
        SeatLedger ledger = ledgerWithAliceHolding2Seats(GRACE);
        ledger.checkout(co(alice, "cam").id(2).build());
        ledger.checkout(co(bob, "cam").id(3).build());
        assertEquals(2, ledger.releaseAllOf(alice, T0 + 9));
        assertEquals(1, ledger.leaseCount());
        assertEquals(List.of(LedgerEvent.Kind.CHECKIN, LedgerEvent.Kind.CHECKIN),
                rec.kinds().subList(rec.journal.size() - 2, rec.journal.size()));
        assertTrue(rec.calls.isEmpty());
        // AND the following socket close releases nothing more
        ledger.sessionLost(1, T0 + 10);
        assertEquals(1, ledger.leaseCount());
        assertEquals(0, ledger.releaseAllOf(alice, T0 + 11));
    }

    @Test
    void an_admin_force_release_ends_a_lease_with_forcedRelease_and_serves_waiters() {
        SeatLedger ledger = ledgerWithAliceHolding2Seats(GRACE);
        ledger.checkout(co(alice, "cad").key("ent-cad").qty(3).id(2).build());
        assertInstanceOf(CheckoutOutcome.Queued.class,
                ledger.checkout(co(bob, "cad").key("ent-cad").req(5).waiting(0).id(3).build()));
        assertEquals(ErrorCode.OK, ledger.forceRelease(id(1), T0 + 50));
        assertEquals(List.of(new Call("ended", 1, 0, id(1), ErrorCode.FORCED_RELEASE),
                new Call("granted", 4, 5, id(3), ErrorCode.OK)), rec.calls);
        assertEquals(ErrorCode.LEASE_ID_NOT_FOUND, ledger.forceRelease(id(1), T0 + 51));
    }
}
