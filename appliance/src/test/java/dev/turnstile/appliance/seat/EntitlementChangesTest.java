package dev.turnstile.appliance.seat;

import static dev.turnstile.appliance.seat.LedgerFixture.LEASE_TIMEOUT;
import static dev.turnstile.appliance.seat.LedgerFixture.T0;
import static dev.turnstile.appliance.seat.LedgerFixture.WINDOW_START;
import static dev.turnstile.appliance.seat.LedgerFixture.client;
import static dev.turnstile.appliance.seat.LedgerFixture.co;
import static dev.turnstile.appliance.seat.LedgerFixture.id;
import static dev.turnstile.appliance.seat.LedgerFixture.seats;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.seat.LedgerFixture.Recorder.Call;
import dev.turnstile.protocol.Enforcement;
import dev.turnstile.protocol.ErrorCode;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Entitlements created, resized, replaced, removed, ending; leases restored after a restart. */
class EntitlementChangesTest {

    private final ClientRef alice = client(1, "a", "hw-a");
    private final ClientRef bob = client(2, "b", "hw-b");
    private final ClientRef carol = client(3, "c", "hw-c");
    private LedgerFixture.Recorder rec;
    private SeatLedger ledger;

    @BeforeEach
    void setUp() {
        rec = new LedgerFixture.Recorder();
        ledger = new SeatLedger(LedgerFixture.settings(10_000), rec);
        ledger.upsertEntitlement(seats("ent-cad", "cad", 4), T0);
    }

    private PoolView pool() {
        return ledger.pools().get(0);
    }

    @Test
    void a_new_entitlement_is_journaled_and_shows_as_an_empty_pool() {
        assertEquals(new PoolView("ent-cad", "acme", "cad", Enforcement.SEATS, 4, 0, 0, 0, WINDOW_START,
                LedgerFixture.WINDOW_END), pool());
        LedgerEvent e = rec.last();
        assertEquals(LedgerEvent.Kind.ENTITLEMENT_CHANGED, e.kind());
        assertEquals(null, e.leaseId());
        assertEquals(4, e.quantity());
    }

    @Test
    void a_pool_shrunk_below_its_use_keeps_its_leases_and_grants_nothing_until_use_is_below_the_new_max() {
        ledger.checkout(co(alice, "cad").qty(2).id(1).build());
        ledger.checkout(co(bob, "cad").qty(2).id(2).build());
        ledger.upsertEntitlement(seats("ent-cad", "cad", 2), T0 + 1);
        assertEquals(2, ledger.leaseCount());
        assertEquals(4, pool().used());
        assertEquals(ErrorCode.NO_SEATS_AVAILABLE, assertInstanceOf(CheckoutOutcome.Denied.class,
                ledger.checkout(co(carol, "cad").id(3).at(T0 + 2).build())).code());
        ledger.checkin(alice, id(1), T0 + 3);
        assertEquals(ErrorCode.NO_SEATS_AVAILABLE, assertInstanceOf(CheckoutOutcome.Denied.class,
                ledger.checkout(co(carol, "cad").id(3).at(T0 + 4).build())).code());
        ledger.checkin(bob, id(2), T0 + 5);
        assertInstanceOf(CheckoutOutcome.Granted.class, ledger.checkout(co(carol, "cad").id(3).at(T0 + 6).build()));
    }

    @Test
    void a_pool_that_grows_serves_its_waiters_at_once() {
        ledger.checkout(co(alice, "cad").qty(4).id(1).build());
        ledger.checkout(co(bob, "cad").req(8).qty(2).waiting(0).id(2).build());
        ledger.upsertEntitlement(seats("ent-cad", "cad", 6), T0 + 1);
        assertEquals(List.of(new Call("granted", 2, 8, id(2), ErrorCode.OK)), rec.calls);
        assertEquals(6, pool().used());
        assertEquals(6, pool().highWater());
    }

    @Test
    void removing_an_entitlement_revokes_its_leases_and_denies_its_waiters_with_entitlementDeleted() {
        ledger.checkout(co(alice, "cad").qty(4).id(1).build());
        ledger.checkout(co(bob, "cad").req(8).waiting(0).id(2).build());
        ledger.removeEntitlement("ent-cad", T0 + 1);
        assertEquals(List.of(new Call("denied", 2, 8, null, ErrorCode.ENTITLEMENT_DELETED),
                new Call("ended", 1, 0, id(1), ErrorCode.ENTITLEMENT_DELETED)), rec.calls);
        assertEquals(0, ledger.leaseCount());
        assertEquals(0, ledger.waiterCount());
        assertEquals(List.of(), ledger.pools());
        assertEquals(List.of(), ledger.leasesOf(1));
        assertEquals(LedgerEvent.Kind.ENTITLEMENT_CHANGED, rec.last().kind());
        assertEquals(ErrorCode.ENTITLEMENT_DELETED, rec.last().reason());
        assertEquals(ErrorCode.UNKNOWN_PRODUCT, assertInstanceOf(CheckoutOutcome.Denied.class,
                ledger.checkout(co(carol, "cad").id(3).at(T0 + 2).build())).code());
        // AND removing it again is harmless
        ledger.removeEntitlement("ent-cad", T0 + 3);
    }

    @Test
    void when_an_entitlement_window_ends_its_leases_end_with_entitlementEnded_and_its_waiters_are_denied() {
        Instant end = Instant.ofEpochMilli(T0 + 1_000);
        ledger.upsertEntitlement(new Entitlement("ent-cad", "acme", "cad", Enforcement.SEATS, 1, null, end), T0);
        ledger.checkout(co(alice, "cad").id(1).build());
        ledger.checkout(co(bob, "cad").req(4).waiting(10_000).id(2).build());
        assertEquals(T0 + 1_000, ledger.nextDeadlineMs());
        ledger.heartbeat(alice, List.of(id(1)), T0 + 900);
        ledger.tick(T0 + 1_000);
        assertEquals(List.of(new Call("denied", 2, 4, null, ErrorCode.ENTITLEMENT_ENDED),
                new Call("ended", 1, 0, id(1), ErrorCode.ENTITLEMENT_ENDED)), rec.calls);
        assertEquals(0, pool().used());
        assertEquals(ErrorCode.ENTITLEMENT_NOT_ACTIVE, assertInstanceOf(CheckoutOutcome.Denied.class,
                ledger.checkout(co(carol, "cad").id(3).at(T0 + 1_001).build())).code());
    }

    @Test
    void moving_a_window_end_into_the_past_ends_the_leases_at_once() {
        ledger.checkout(co(alice, "cad").id(1).build());
        ledger.upsertEntitlement(new Entitlement("ent-cad", "acme", "cad", Enforcement.SEATS, 4, null,
                Instant.ofEpochMilli(T0 - 1)), T0 + 10);
        assertEquals(0, ledger.leaseCount());
        assertEquals(List.of(new Call("ended", 1, 0, id(1), ErrorCode.ENTITLEMENT_ENDED)), rec.calls);
        assertEquals(T0 + 10, rec.last().atMs());
    }

    @Test
    void changing_an_entitlements_product_revokes_its_leases() {
        ledger.checkout(co(alice, "cad").id(1).build());
        ledger.upsertEntitlement(seats("ent-cad", "cam", 4), T0 + 1);
        assertEquals(List.of(new Call("ended", 1, 0, id(1), ErrorCode.ENTITLEMENT_DELETED)), rec.calls);
        assertEquals(ErrorCode.UNKNOWN_PRODUCT, assertInstanceOf(CheckoutOutcome.Denied.class,
                ledger.checkout(co(carol, "cad").id(3).at(T0 + 2).build())).code());
        assertInstanceOf(CheckoutOutcome.Granted.class, ledger.checkout(co(carol, "cam").id(3).at(T0 + 2).build()));
    }

    @Test
    void a_restored_lease_is_orphaned_until_its_grace_and_can_be_reclaimed() {
        LeaseView stored = new LeaseView(id(1), "ent-cad", "cad", 77, "a", "hw-a", "10.0.0.1:1", 3, T0 - 5_000,
                T0 - 1_000, T0 + 2_000, LeaseState.HELD);
        ledger.restoreLease(stored, T0 + 30_000);
        LeaseView l = ledger.lease(id(1)).orElseThrow();
        assertEquals(LeaseState.ORPHANED, l.state());
        assertEquals(T0 + 30_000, l.deadlineMs());
        assertEquals(3, pool().used());
        CheckoutOutcome.Granted g = assertInstanceOf(CheckoutOutcome.Granted.class,
                ledger.checkout(co(alice, "cad").reclaim(id(1)).at(T0 + 100).build()));
        assertTrue(g.reclaimed());
        assertEquals(T0 + 100 + LEASE_TIMEOUT, g.lease().deadlineMs());
        assertEquals(T0 - 5_000, g.lease().checkedOutAtMs());
    }

    @Test
    void a_restored_lease_not_reclaimed_in_time_is_released_with_serverRestart() {
        LeaseView stored = new LeaseView(id(1), "ent-cad", "cad", 77, "a", "hw-a", "10.0.0.1:1", 3, T0 - 5_000,
                T0 - 1_000, T0 + 2_000, LeaseState.HELD);
        ledger.restoreLease(stored, T0 + 30_000);
        ledger.tick(T0 + 30_000);
        assertEquals(List.of(new Call("ended", 77, 0, id(1), ErrorCode.SERVER_RESTART)), rec.calls);
        assertEquals(ErrorCode.SERVER_RESTART, rec.last().reason());
        assertEquals(0, pool().used());
    }

    @Test
    void a_restored_lease_of_a_vanished_entitlement_is_dropped_and_journaled_as_released() {
        LeaseView stored = new LeaseView(id(1), "ent-gone", "cad", 77, "a", "hw-a", "10.0.0.1:1", 3, T0 - 5_000,
                T0 - 1_000, T0 + 2_000, LeaseState.HELD);
        ledger.restoreLease(stored, T0 + 30_000);
        assertEquals(0, ledger.leaseCount());
        assertEquals(LedgerEvent.Kind.RELEASE, rec.last().kind());
        assertEquals(ErrorCode.ENTITLEMENT_DELETED, rec.last().reason());
    }

    @Test
    void re_sending_an_unchanged_entitlement_changes_and_journals_nothing() {
        ledger.checkout(co(alice, "cad").id(1).build());
        int events = rec.journal.size();
        ledger.upsertEntitlement(seats("ent-cad", "cad", 4), T0 + 1);
        assertEquals(events, rec.journal.size());
        assertEquals(1, ledger.leaseCount());
    }

    @Test
    void window_bounds_far_outside_the_millisecond_range_behave_as_open() {
        ledger.upsertEntitlement(new Entitlement("ent-far", "acme", "far", Enforcement.SEATS, 1, Instant.MIN,
                Instant.MAX), T0);
        assertInstanceOf(CheckoutOutcome.Granted.class, ledger.checkout(co(alice, "far").id(1).build()));
    }
}
