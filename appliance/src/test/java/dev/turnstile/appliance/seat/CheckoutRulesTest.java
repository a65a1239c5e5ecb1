package dev.turnstile.appliance.seat;

import static dev.turnstile.appliance.seat.LedgerFixture.CHECKOUTS;
import static dev.turnstile.appliance.seat.LedgerFixture.LEASE_TIMEOUT;
import static dev.turnstile.appliance.seat.LedgerFixture.MAX_LEASES_PER_SESSION;
import static dev.turnstile.appliance.seat.LedgerFixture.T0;
import static dev.turnstile.appliance.seat.LedgerFixture.checkouts;
import static dev.turnstile.appliance.seat.LedgerFixture.client;
import static dev.turnstile.appliance.seat.LedgerFixture.co;
import static dev.turnstile.appliance.seat.LedgerFixture.id;
import static dev.turnstile.appliance.seat.LedgerFixture.seats;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.turnstile.protocol.Enforcement;
import dev.turnstile.protocol.ErrorCode;
import java.time.Instant;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** CHECKOUT without waiting and without reclaim: PROTOCOL.md section 8 and the order of the checks. */
class CheckoutRulesTest {

    private final ClientRef alice = client(1, "cad-ws-1", "hw-alice");
    private final ClientRef bob = client(2, "cad-ws-2", "hw-bob");
    private LedgerFixture.Recorder rec;
    private SeatLedger ledger;

    @BeforeEach
    void setUp() {
        rec = new LedgerFixture.Recorder();
        ledger = new SeatLedger(LedgerFixture.settings(0), rec);
        ledger.upsertEntitlement(seats("ent-cad", "cad-pro", 5), T0);
        ledger.upsertEntitlement(checkouts("ent-sim", "sim", 2), T0);
    }

    private static ErrorCode denial(CheckoutOutcome o) {
        return assertInstanceOf(CheckoutOutcome.Denied.class, o).code();
    }

    private static LeaseView granted(CheckoutOutcome o) {
        CheckoutOutcome.Granted g = assertInstanceOf(CheckoutOutcome.Granted.class, o);
        assertFalse(g.reclaimed());
        return g.lease();
    }

    @Test
    void a_checkout_with_free_seats_is_granted_with_the_callers_lease_id_and_a_deadline_of_now_plus_the_lease_timeout() {
        // WHEN alice checks out 2 seats
        LeaseView l = granted(ledger.checkout(co(alice, "cad-pro").qty(2).id(7).at(T0 + 5).build()));
        // THEN the lease carries the chosen id, the pool's entitlement and the client's identity
        assertEquals(id(7), l.leaseId());
        assertEquals("ent-cad", l.entitlementId());
        assertEquals("cad-pro", l.productId());
        assertEquals(1, l.sessionId());
        assertEquals("cad-ws-1", l.clientId());
        assertEquals("hw-alice", l.hwId());
        assertEquals(2, l.quantity());
        assertEquals(T0 + 5, l.checkedOutAtMs());
        assertEquals(T0 + 5 + LEASE_TIMEOUT, l.deadlineMs());
        assertEquals(LeaseState.HELD, l.state());
        // AND the pool counts the seats
        assertEquals(2, ledger.pools().get(0).used());
        assertEquals(1, ledger.leasesOf(1).size());
    }

    @Test
    void a_checkout_of_an_unknown_product_is_denied_with_unknownProduct() {
        assertEquals(ErrorCode.UNKNOWN_PRODUCT, denial(ledger.checkout(co(alice, "nope").build())));
    }

    @Test
    void a_license_key_that_is_not_an_entitlement_of_the_product_is_denied_with_unknownLicenseKey() {
        // GIVEN "ent-sim" is an entitlement, but of another product
        assertEquals(ErrorCode.UNKNOWN_LICENSE_KEY, denial(ledger.checkout(co(alice, "cad-pro").key("ent-sim").build())));
        assertEquals(ErrorCode.UNKNOWN_LICENSE_KEY, denial(ledger.checkout(co(alice, "cad-pro").key("nope").build())));
        // AND the right key works
        granted(ledger.checkout(co(alice, "cad-pro").key("ent-cad").build()));
    }

    @Test
    void an_enforcement_byte_other_than_the_pools_is_denied_with_the_enforcement_type_mismatch() {
        assertEquals(ErrorCode.LICENSE_CONSUMPTION_QTY_ENFORCEMENT_TYPE_MISMATCH,
                denial(ledger.checkout(co(alice, "cad-pro").enforcement(CHECKOUTS).build())));
        assertEquals(ErrorCode.LICENSE_CONSUMPTION_QTY_ENFORCEMENT_TYPE_MISMATCH,
                denial(ledger.checkout(co(alice, "sim").build())));
    }

    @Test
    void an_unknown_enforcement_byte_is_denied_with_the_enforcement_type_mismatch() {
        assertEquals(ErrorCode.LICENSE_CONSUMPTION_QTY_ENFORCEMENT_TYPE_MISMATCH,
                denial(ledger.checkout(co(alice, "cad-pro").enforcement(0).build())));
        assertEquals(ErrorCode.LICENSE_CONSUMPTION_QTY_ENFORCEMENT_TYPE_MISMATCH,
                denial(ledger.checkout(co(alice, "cad-pro").enforcement(9).build())));
    }

    @Test
    void a_checkouts_pool_takes_quantity_one_only_and_its_lease_holds_one_seat() {
        assertEquals(ErrorCode.INVALID_QUANTITY,
                denial(ledger.checkout(co(alice, "sim").enforcement(CHECKOUTS).qty(2).build())));
        LeaseView l = granted(ledger.checkout(co(alice, "sim").enforcement(CHECKOUTS).build()));
        assertEquals(1, l.quantity());
        assertEquals(1, ledger.pools().get(1).used());
    }

    @Test
    void a_quantity_outside_one_to_ten_thousand_is_denied_with_invalidQuantity() {
        assertEquals(ErrorCode.INVALID_QUANTITY, denial(ledger.checkout(co(alice, "cad-pro").qty(0).build())));
        assertEquals(ErrorCode.INVALID_QUANTITY, denial(ledger.checkout(co(alice, "cad-pro").qty(10_001).build())));
    }

    @Test
    void a_checkout_outside_the_entitlement_window_is_denied_with_entitlementNotActive() {
        // GIVEN an entitlement valid from T0+1000 (inclusive) to T0+2000 (exclusive)
        ledger.upsertEntitlement(new Entitlement("ent-w", "acme", "win", Enforcement.SEATS, 5,
                Instant.ofEpochMilli(T0 + 1000), Instant.ofEpochMilli(T0 + 2000)), T0);
        assertEquals(ErrorCode.ENTITLEMENT_NOT_ACTIVE, denial(ledger.checkout(co(alice, "win").at(T0 + 999).build())));
        granted(ledger.checkout(co(alice, "win").id(2).at(T0 + 1000).build()));
        assertEquals(ErrorCode.ENTITLEMENT_NOT_ACTIVE, denial(ledger.checkout(co(bob, "win").id(3).at(T0 + 2000).build())));
    }

    @Test
    void open_window_bounds_never_make_an_entitlement_inactive() {
        ledger.upsertEntitlement(new Entitlement("ent-open", "acme", "open", Enforcement.SEATS, 2, null, null), 0);
        granted(ledger.checkout(co(alice, "open").id(1).at(0).build()));
        granted(ledger.checkout(co(alice, "open").id(2).at(Long.MAX_VALUE / 2).build()));
    }

    @Test
    void a_session_at_its_lease_limit_is_denied_with_tooManyLeases_while_other_sessions_are_not() {
        for (int i = 0; i < MAX_LEASES_PER_SESSION; i++) {
            granted(ledger.checkout(co(alice, "cad-pro").id(10 + i).build()));
        }
        assertEquals(ErrorCode.TOO_MANY_LEASES, denial(ledger.checkout(co(alice, "cad-pro").id(20).build())));
        granted(ledger.checkout(co(bob, "cad-pro").id(21).build()));
    }

    @Test
    void the_checks_run_in_the_documented_order() {
        // GIVEN alice at her lease limit and an entitlement that is not active yet
        ledger.upsertEntitlement(seats("ent-big", "big", 100), T0);
        for (int i = 0; i < MAX_LEASES_PER_SESSION; i++) {
            granted(ledger.checkout(co(alice, "big").id(10 + i).build()));
        }
        ledger.upsertEntitlement(new Entitlement("ent-late", "acme", "late", Enforcement.CHECKOUTS, 5,
                Instant.ofEpochMilli(T0 + 1000), null), T0);
        // THEN every failing check shadows the ones after it
        assertEquals(ErrorCode.UNKNOWN_PRODUCT,
                denial(ledger.checkout(co(alice, "nope").key("bad").qty(0).enforcement(9).build())));
        assertEquals(ErrorCode.UNKNOWN_LICENSE_KEY,
                denial(ledger.checkout(co(alice, "late").key("bad").qty(0).enforcement(9).build())));
        assertEquals(ErrorCode.LICENSE_CONSUMPTION_QTY_ENFORCEMENT_TYPE_MISMATCH,
                denial(ledger.checkout(co(alice, "late").qty(0).enforcement(9).build())));
        assertEquals(ErrorCode.INVALID_QUANTITY,
                denial(ledger.checkout(co(alice, "late").qty(2).enforcement(CHECKOUTS).build())));
        assertEquals(ErrorCode.ENTITLEMENT_NOT_ACTIVE,
                denial(ledger.checkout(co(alice, "late").enforcement(CHECKOUTS).build())));
        assertEquals(ErrorCode.TOO_MANY_LEASES,
                denial(ledger.checkout(co(alice, "late").enforcement(CHECKOUTS).at(T0 + 1000).build())));
    }

    @Test
    void seats_are_granted_only_while_used_plus_quantity_stays_within_max_seats() {
        granted(ledger.checkout(co(alice, "cad-pro").qty(3).id(1).build()));
        assertEquals(ErrorCode.NO_SEATS_AVAILABLE, denial(ledger.checkout(co(bob, "cad-pro").qty(3).id(2).build())));
        granted(ledger.checkout(co(bob, "cad-pro").qty(2).id(3).build()));
        assertEquals(ErrorCode.NO_SEATS_AVAILABLE, denial(ledger.checkout(co(bob, "cad-pro").qty(1).id(4).build())));
        assertEquals(5, ledger.pools().get(0).used());
        assertEquals(5, ledger.pools().get(0).highWater());
    }

    @Test
    void without_a_key_the_first_active_entitlement_by_id_with_room_grants() {
        // GIVEN three entitlements of "cam": b (1 seat), a (not active yet), c (5 seats)
        ledger.upsertEntitlement(seats("cam-b", "cam", 1), T0);
        ledger.upsertEntitlement(new Entitlement("cam-a", "acme", "cam", Enforcement.SEATS, 9,
                Instant.ofEpochMilli(T0 + 1), null), T0);
        ledger.upsertEntitlement(seats("cam-c", "cam", 5), T0);
        // WHEN three keyless checkouts arrive
        assertEquals("cam-b", granted(ledger.checkout(co(alice, "cam").id(1).build())).entitlementId());
        assertEquals("cam-c", granted(ledger.checkout(co(alice, "cam").id(2).build())).entitlementId());
        // THEN a key picks its entitlement only
        assertEquals(ErrorCode.NO_SEATS_AVAILABLE, denial(ledger.checkout(co(bob, "cam").key("cam-b").id(3).build())));
        assertEquals(ErrorCode.ENTITLEMENT_NOT_ACTIVE,
                denial(ledger.checkout(co(bob, "cam").key("cam-a").id(4).build())));
        assertEquals("cam-c", granted(ledger.checkout(co(bob, "cam").key("cam-c").id(5).build())).entitlementId());
    }

    @Test
    void a_lease_id_that_is_already_live_is_refused_with_internalError() {
        granted(ledger.checkout(co(alice, "cad-pro").id(1).build()));
        assertEquals(ErrorCode.INTERNAL_ERROR, denial(ledger.checkout(co(bob, "cad-pro").id(1).build())));
        assertEquals(1, ledger.leaseCount());
    }

    @Test
    void every_grant_and_refusal_is_journaled_with_the_pools_use_after_it() {
        granted(ledger.checkout(co(alice, "cad-pro").qty(4).id(1).at(T0 + 1).build()));
        denial(ledger.checkout(co(bob, "cad-pro").qty(2).id(2).at(T0 + 2).build()));
        LedgerEvent grant = rec.journal.get(rec.journal.size() - 2);
        assertEquals(new LedgerEvent(LedgerEvent.Kind.CHECKOUT, T0 + 1, id(1), "ent-cad", "cad-pro", 1, "cad-ws-1",
                "hw-alice", 4, ErrorCode.OK, 4, 4), grant);
        assertEquals(new LedgerEvent(LedgerEvent.Kind.DENIAL, T0 + 2, null, "ent-cad", "cad-pro", 2, "cad-ws-2",
                "hw-bob", 2, ErrorCode.NO_SEATS_AVAILABLE, 4, 4), rec.last());
    }
}
