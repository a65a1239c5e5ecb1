package dev.turnstile.appliance.seat;

import static dev.turnstile.appliance.seat.LedgerFixture.DEFAULT_WAIT;
import static dev.turnstile.appliance.seat.LedgerFixture.LEASE_TIMEOUT;
import static dev.turnstile.appliance.seat.LedgerFixture.MAX_LEASES_PER_SESSION;
import static dev.turnstile.appliance.seat.LedgerFixture.MAX_QUEUE;
import static dev.turnstile.appliance.seat.LedgerFixture.MAX_WAIT;
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
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Waiting checkouts: FIFO per pool, queue limit, wait timeouts, and who gets freed seats. */
class WaitingQueueTest {

    private final ClientRef alice = client(1, "a", "hw-a");
    private final ClientRef bob = client(2, "b", "hw-b");
    private final ClientRef carol = client(3, "c", "hw-c");
    private final ClientRef dave = client(4, "d", "hw-d");
    private LedgerFixture.Recorder rec;
    private SeatLedger ledger;

    @BeforeEach
    void setUp() {
        rec = new LedgerFixture.Recorder();
        ledger = new SeatLedger(LedgerFixture.settings(0), rec);
        ledger.upsertEntitlement(seats("ent-cad", "cad", 2), T0);
    }

    private static CheckoutOutcome.Queued queued(CheckoutOutcome o) {
        return assertInstanceOf(CheckoutOutcome.Queued.class, o);
    }

    private static ErrorCode denial(CheckoutOutcome o) {
        return assertInstanceOf(CheckoutOutcome.Denied.class, o).code();
    }

    private long used() {
        return ledger.pools().get(0).used();
    }

    @Test
    void a_waiting_checkout_without_a_free_seat_is_queued_with_its_position_and_the_default_timeout() {
        ledger.checkout(co(alice, "cad").qty(2).id(1).build());
        CheckoutOutcome.Queued q1 = queued(ledger.checkout(co(bob, "cad").waiting(0).id(2).build()));
        CheckoutOutcome.Queued q2 = queued(ledger.checkout(co(carol, "cad").waiting(0).id(3).build()));
        assertEquals(1, q1.position());
        assertEquals(2, q2.position());
        assertEquals(DEFAULT_WAIT, q1.waitTimeoutMs());
        assertEquals(2, ledger.waiterCount());
        assertEquals(2, ledger.pools().get(0).waiting());
        assertEquals(LedgerEvent.Kind.QUEUE, rec.last().kind());
    }

    @Test
    void a_wait_timeout_above_the_maximum_is_capped() {
        ledger.checkout(co(alice, "cad").qty(2).id(1).build());
        assertEquals(MAX_WAIT, queued(ledger.checkout(co(bob, "cad").waiting(MAX_WAIT * 10).id(2).build()))
                .waitTimeoutMs());
        assertEquals(1234, queued(ledger.checkout(co(carol, "cad").waiting(1234).id(3).build())).waitTimeoutMs());
    }

    @Test
    void waiters_are_served_in_arrival_order_when_seats_free() {
        // GIVEN a full pool and two waiters
        ledger.checkout(co(alice, "cad").qty(2).id(1).build());
        queued(ledger.checkout(co(bob, "cad").req(11).waiting(0).id(2).build()));
        queued(ledger.checkout(co(carol, "cad").req(12).waiting(0).id(3).build()));
        // WHEN alice checks in
        assertEquals(ErrorCode.OK, ledger.checkin(alice, id(1), T0 + 10));
        // THEN bob then carol get their seats, with the lease ids they asked with, checked out now
        assertEquals(List.of(new Call("granted", 2, 11, id(2), ErrorCode.OK),
                new Call("granted", 3, 12, id(3), ErrorCode.OK)), rec.calls);
        LeaseView bobs = ledger.lease(id(2)).orElseThrow();
        assertEquals(T0 + 10, bobs.checkedOutAtMs());
        assertEquals(T0 + 10 + LEASE_TIMEOUT, bobs.deadlineMs());
        assertEquals(2, used());
        assertEquals(0, ledger.waiterCount());
    }

    @Test
    void a_non_waiting_checkout_never_jumps_a_non_empty_queue() {
        // GIVEN one free seat and bob waiting for two
        ledger.checkout(co(alice, "cad").qty(1).id(1).build());
        queued(ledger.checkout(co(bob, "cad").qty(2).waiting(0).id(2).build()));
        // WHEN carol asks for the one free seat without waiting
        assertEquals(ErrorCode.NO_SEATS_AVAILABLE, denial(ledger.checkout(co(carol, "cad").id(3).build())));
        // AND dave asks for it waiting: he queues behind bob
        assertEquals(2, queued(ledger.checkout(co(dave, "cad").waiting(0).id(4).build())).position());
        assertEquals(1, used());
    }

    @Test
    void a_queue_at_its_limit_answers_queueFull() {
        ledger.checkout(co(alice, "cad").qty(2).id(1).build());
        for (int i = 0; i < MAX_QUEUE; i++) {
            queued(ledger.checkout(co(client(10 + i, "w", "hw"), "cad").waiting(0).id(10 + i).build()));
        }
        assertEquals(ErrorCode.QUEUE_FULL, denial(ledger.checkout(co(bob, "cad").waiting(0).id(99).build())));
    }

    @Test
    void a_quantity_no_pool_could_ever_hold_is_not_queued() {
        assertEquals(ErrorCode.NO_SEATS_AVAILABLE, denial(ledger.checkout(co(bob, "cad").qty(3).waiting(0).build())));
        assertEquals(0, ledger.waiterCount());
    }

    @Test
    void a_waiter_is_denied_with_queueTimeout_exactly_when_its_wait_ends() {
        ledger.checkout(co(alice, "cad").qty(2).id(1).build());
        queued(ledger.checkout(co(bob, "cad").req(5).waiting(1000).id(2).at(T0 + 100).build()));
        assertEquals(T0 + 1100, ledger.nextDeadlineMs());
        ledger.tick(T0 + 1099);
        assertEquals(1, ledger.waiterCount());
        ledger.tick(T0 + 1100);
        assertEquals(0, ledger.waiterCount());
        assertEquals(List.of(new Call("denied", 2, 5, null, ErrorCode.QUEUE_TIMEOUT)), rec.calls);
        LedgerEvent e = rec.last();
        assertEquals(LedgerEvent.Kind.QUEUE_TIMEOUT, e.kind());
        assertEquals(T0 + 1100, e.atMs());
        assertEquals(ErrorCode.QUEUE_TIMEOUT, e.reason());
    }

    @Test
    void a_head_waiter_that_times_out_lets_a_smaller_waiter_behind_it_through() {
        // GIVEN one free seat, bob waiting for two (short wait), carol for one
        ledger.checkout(co(alice, "cad").qty(1).id(1).build());
        queued(ledger.checkout(co(bob, "cad").req(1).qty(2).waiting(500).id(2).build()));
        queued(ledger.checkout(co(carol, "cad").req(2).waiting(5000).id(3).build()));
        // WHEN bob's wait ends
        ledger.tick(T0 + 500);
        // THEN carol gets the free seat at that moment
        assertEquals(List.of(new Call("denied", 2, 1, null, ErrorCode.QUEUE_TIMEOUT),
                new Call("granted", 3, 2, id(3), ErrorCode.OK)), rec.calls);
        assertEquals(T0 + 500, ledger.lease(id(3)).orElseThrow().checkedOutAtMs());
    }

    @Test
    void a_seat_freed_by_expiry_goes_to_the_waiter_at_the_moment_of_expiry_even_when_the_tick_comes_later() {
        // GIVEN alice holds both seats and bob waits long enough
        ledger.checkout(co(alice, "cad").qty(2).id(1).build());
        queued(ledger.checkout(co(bob, "cad").waiting(MAX_WAIT).id(2).build()));
        // WHEN the next command comes long after alice's lease expired
        ledger.tick(T0 + LEASE_TIMEOUT + 700);
        // THEN bob's lease started when alice's ended
        LeaseView bobs = ledger.lease(id(2)).orElseThrow();
        assertEquals(T0 + LEASE_TIMEOUT, bobs.checkedOutAtMs());
        assertEquals(T0 + 2 * LEASE_TIMEOUT, bobs.deadlineMs());
    }

    @Test
    void a_lost_sessions_waiters_leave_the_queue_silently() {
        ledger.checkout(co(alice, "cad").qty(2).id(1).build());
        queued(ledger.checkout(co(bob, "cad").waiting(0).id(2).build()));
        ledger.sessionLost(2, T0 + 1);
        assertEquals(0, ledger.waiterCount());
        assertTrue(rec.calls.isEmpty());
        assertEquals(ErrorCode.SESSION_LOST, rec.last().reason());
        assertEquals(T0 + LEASE_TIMEOUT, ledger.nextDeadlineMs(), "only alice's lease deadline is left");
    }

    @Test
    void a_client_goodbye_withdraws_its_waiters_so_nothing_is_granted_to_it_afterwards() {
        ledger.checkout(co(alice, "cad").qty(1).id(1).build());
        ledger.checkout(co(bob, "cad").qty(1).id(2).build());
        queued(ledger.checkout(co(bob, "cad").waiting(0).id(3).build()));
        assertEquals(1, ledger.releaseAllOf(bob, T0 + 1));
        assertEquals(0, ledger.waiterCount());
        assertEquals(1, used());
        assertTrue(rec.calls.isEmpty());
    }

    @Test
    void waiting_checkouts_count_towards_the_session_lease_limit() {
        ledger.upsertEntitlement(seats("ent-big", "big", 100), T0);
        ledger.checkout(co(alice, "cad").qty(2).id(1).build());
        for (int i = 0; i < MAX_LEASES_PER_SESSION - 1; i++) {
            ledger.checkout(co(bob, "big").id(10 + i).build());
        }
        queued(ledger.checkout(co(bob, "cad").waiting(0).id(20).build()));
        assertEquals(ErrorCode.TOO_MANY_LEASES, denial(ledger.checkout(co(bob, "big").id(21).build())));
    }

    @Test
    void a_keyless_waiter_gets_a_seat_freed_in_another_entitlement_of_its_product() {
        // GIVEN two full entitlements of "cam"; bob waits without a key (queued on cam-a), carol with key cam-a
        ledger.upsertEntitlement(seats("cam-a", "cam", 1), T0);
        ledger.upsertEntitlement(seats("cam-b", "cam", 1), T0);
        ledger.checkout(co(alice, "cam").id(1).build());
        ledger.checkout(co(alice, "cam").id(2).build());
        queued(ledger.checkout(co(bob, "cam").req(7).waiting(0).id(3).build()));
        queued(ledger.checkout(co(carol, "cam").key("cam-a").req(8).waiting(0).id(4).build()));
        // WHEN the seat of cam-b frees
        assertEquals(ErrorCode.OK, ledger.checkin(alice, id(2), T0 + 1));
        // THEN bob gets it; carol, bound to cam-a, keeps waiting
        assertEquals(List.of(new Call("granted", 2, 7, id(3), ErrorCode.OK)), rec.calls);
        assertEquals("cam-b", ledger.lease(id(3)).orElseThrow().entitlementId());
        assertEquals(1, ledger.waiterCount());
        // AND a further seat of cam-b does not go to carol
        assertEquals(ErrorCode.OK, ledger.checkin(bob, id(3), T0 + 2));
        assertEquals(1, ledger.waiterCount());
        // WHEN cam-a frees THEN carol gets it
        assertEquals(ErrorCode.OK, ledger.checkin(alice, id(1), T0 + 3));
        assertEquals("cam-a", ledger.lease(id(4)).orElseThrow().entitlementId());
    }
}
