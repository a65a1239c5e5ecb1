package dev.turnstile.appliance.seat;

import static dev.turnstile.appliance.seat.LedgerFixture.LEASE_TIMEOUT;
import static dev.turnstile.appliance.seat.LedgerFixture.T0;
import static dev.turnstile.appliance.seat.LedgerFixture.TOMBSTONE_AGE;
import static dev.turnstile.appliance.seat.LedgerFixture.client;
import static dev.turnstile.appliance.seat.LedgerFixture.co;
import static dev.turnstile.appliance.seat.LedgerFixture.id;
import static dev.turnstile.appliance.seat.LedgerFixture.seats;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.seat.LedgerFixture.Recorder.Call;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Message.LeaseStatus;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** HEARTBEAT, CHECKIN and expiry of leases whose heartbeats stopped. */
class HeartbeatCheckinExpiryTest {

    private final ClientRef alice = client(1, "cad-ws-1", "hw-alice");
    /** Same machine as alice, another socket. */
    private final ClientRef alice2 = client(2, "cad-ws-1", "hw-alice");
    private final ClientRef bob = client(3, "cad-ws-2", "hw-bob");
    private LedgerFixture.Recorder rec;
    private SeatLedger ledger;

    @BeforeEach
    void setUp() {
        rec = new LedgerFixture.Recorder();
        ledger = new SeatLedger(LedgerFixture.settings(10_000), rec);
        ledger.upsertEntitlement(seats("ent-cad", "cad", 5), T0);
        ledger.checkout(co(alice, "cad").qty(2).id(1).build());
    }

    private static LeaseStatus ok(long remaining) {
        return new LeaseStatus(id(1), 0, remaining);
    }

    private static LeaseStatus status(long n, ErrorCode code) {
        return new LeaseStatus(id(n), code.code(), 0);
    }

    private long used() {
        return ledger.pools().get(0).used();
    }

    @Test
    void a_heartbeat_renews_the_lease_until_now_plus_the_lease_timeout() {
        assertEquals(List.of(ok(LEASE_TIMEOUT)), ledger.heartbeat(alice, List.of(id(1)), T0 + 2_000));
        LeaseView l = ledger.lease(id(1)).orElseThrow();
        assertEquals(T0 + 2_000 + LEASE_TIMEOUT, l.deadlineMs());
        assertEquals(T0 + 2_000, l.lastHeartbeatMs());
        // AND the lease outlives its first deadline
        ledger.tick(T0 + LEASE_TIMEOUT + 500);
        assertEquals(1, ledger.leaseCount());
        LedgerEvent hb = rec.last();
        assertEquals(LedgerEvent.Kind.HEARTBEAT, hb.kind());
        assertEquals(id(1), hb.leaseId());
    }

    @Test
    void a_heartbeat_with_no_leases_is_a_keepalive_with_an_empty_answer() {
        assertEquals(List.of(), ledger.heartbeat(alice, List.of(), T0 + 1));
    }

    @Test
    void a_heartbeat_naming_another_sessions_lease_answers_clientHwIdMismatch_for_another_machine_else_leaseIdNotFound() {
        assertEquals(List.of(status(1, ErrorCode.CLIENT_HW_ID_MISMATCH)), ledger.heartbeat(bob, List.of(id(1)), T0 + 1));
        assertEquals(List.of(status(1, ErrorCode.LEASE_ID_NOT_FOUND)), ledger.heartbeat(alice2, List.of(id(1)), T0 + 1));
        // AND neither renewed the lease
        assertEquals(T0 + LEASE_TIMEOUT, ledger.lease(id(1)).orElseThrow().deadlineMs());
    }

    @Test
    void a_heartbeat_answers_every_id_in_request_order() {
        ledger.checkout(co(alice, "cad").id(2).at(T0 + 100).build());
        ledger.tick(T0 + LEASE_TIMEOUT); // lease 1 expires, lease 2 does not
        List<LeaseStatus> r = ledger.heartbeat(alice, List.of(id(9), id(2), id(1)), T0 + LEASE_TIMEOUT + 1);
        assertEquals(List.of(status(9, ErrorCode.LEASE_ID_NOT_FOUND), new LeaseStatus(id(2), 0, LEASE_TIMEOUT),
                status(1, ErrorCode.LICENSE_CHECKOUT_EXPIRED)), r);
    }

    @Test
    void a_lease_whose_heartbeats_stop_expires_exactly_at_its_deadline_and_its_seats_return() {
        ledger.tick(T0 + LEASE_TIMEOUT - 1);
        assertEquals(1, ledger.leaseCount());
        ledger.tick(T0 + LEASE_TIMEOUT);
        assertEquals(0, ledger.leaseCount());
        assertEquals(0, used());
        assertEquals(List.of(new Call("ended", 1, 0, id(1), ErrorCode.LICENSE_CHECKOUT_EXPIRED)), rec.calls);
        LedgerEvent e = rec.last();
        assertEquals(LedgerEvent.Kind.EXPIRY, e.kind());
        assertEquals(T0 + LEASE_TIMEOUT, e.atMs());
        assertEquals(ErrorCode.LICENSE_CHECKOUT_EXPIRED, e.reason());
        assertEquals(0, e.poolUsed());
        assertEquals(2, e.poolHighWater());
        assertEquals(List.of(), ledger.leasesOf(1));
    }

    @Test
    void a_late_heartbeat_does_not_revive_an_expired_lease_even_before_any_tick() {
        assertEquals(List.of(status(1, ErrorCode.LICENSE_CHECKOUT_EXPIRED)),
                ledger.heartbeat(alice, List.of(id(1)), T0 + LEASE_TIMEOUT));
        assertEquals(0, used());
    }

    @Test
    void an_expired_lease_id_is_remembered_for_the_tombstone_age_then_forgotten() {
        ledger.tick(T0 + LEASE_TIMEOUT);
        long expired = T0 + LEASE_TIMEOUT;
        assertEquals(List.of(status(1, ErrorCode.LICENSE_CHECKOUT_EXPIRED)),
                ledger.heartbeat(alice, List.of(id(1)), expired + TOMBSTONE_AGE - 1));
        assertEquals(List.of(status(1, ErrorCode.LEASE_ID_NOT_FOUND)),
                ledger.heartbeat(alice, List.of(id(1)), expired + TOMBSTONE_AGE));
    }

    @Test
    void the_number_of_remembered_expired_ids_is_bounded_and_the_oldest_are_forgotten_first() {
        SeatLedger small = new SeatLedger(new LedgerSettings(LEASE_TIMEOUT, 0, 10, 10, 1000, 1000, TOMBSTONE_AGE, 2),
                LedgerListener.NONE);
        small.upsertEntitlement(seats("e", "p", 10), T0);
        for (int i = 1; i <= 3; i++) {
            small.checkout(co(client(i, "c", "h"), "p").id(i).at(T0 + i).build());
        }
        small.tick(T0 + 10 + LEASE_TIMEOUT);
        assertEquals(List.of(status(1, ErrorCode.LEASE_ID_NOT_FOUND), status(2, ErrorCode.LICENSE_CHECKOUT_EXPIRED),
                        status(3, ErrorCode.LICENSE_CHECKOUT_EXPIRED)),
                small.heartbeat(client(1, "c", "h"), List.of(id(1), id(2), id(3)), T0 + 20 + LEASE_TIMEOUT));
    }

    @Test
    void a_checkin_frees_the_seats_and_a_second_checkin_answers_leaseIdNotFound() {
        assertEquals(ErrorCode.OK, ledger.checkin(alice, id(1), T0 + 5));
        assertEquals(0, used());
        assertEquals(LedgerEvent.Kind.CHECKIN, rec.last().kind());
        assertEquals(ErrorCode.OK, rec.last().reason());
        assertTrue(rec.calls.isEmpty(), "a client's own checkin is not a lease end to notify");
        assertEquals(ErrorCode.LEASE_ID_NOT_FOUND, ledger.checkin(alice, id(1), T0 + 6));
        assertEquals(List.of(status(1, ErrorCode.LEASE_ID_NOT_FOUND)), ledger.heartbeat(alice, List.of(id(1)), T0 + 7));
    }

    @Test
    void a_checkin_of_another_sessions_lease_is_refused_and_keeps_the_lease() {
        assertEquals(ErrorCode.CLIENT_HW_ID_MISMATCH, ledger.checkin(bob, id(1), T0 + 1));
        assertEquals(ErrorCode.LEASE_ID_NOT_FOUND, ledger.checkin(alice2, id(1), T0 + 1));
        assertEquals(2, used());
    }

    @Test
    void a_checkin_of_an_expired_lease_answers_licenseCheckoutExpired() {
        assertEquals(ErrorCode.LICENSE_CHECKOUT_EXPIRED, ledger.checkin(alice, id(1), T0 + LEASE_TIMEOUT + 1));
        assertEquals(ErrorCode.LEASE_ID_NOT_FOUND, ledger.checkin(alice, id(404), T0 + LEASE_TIMEOUT + 1));
    }

    @Test
    void a_heartbeat_of_an_orphaned_lease_answers_leaseIdNotFound_because_it_must_be_reclaimed() {
        ledger.sessionLost(1, T0 + 1);
        assertEquals(List.of(status(1, ErrorCode.LEASE_ID_NOT_FOUND)), ledger.heartbeat(alice2, List.of(id(1)), T0 + 2));
        assertEquals(List.of(status(1, ErrorCode.LEASE_ID_NOT_FOUND)), ledger.heartbeat(alice, List.of(id(1)), T0 + 2));
    }

    @Test
    void the_same_program_on_a_new_socket_may_check_in_its_orphaned_lease() {
        ledger.sessionLost(1, T0 + 1);
        assertEquals(ErrorCode.CLIENT_HW_ID_MISMATCH, ledger.checkin(bob, id(1), T0 + 2));
        assertEquals(ErrorCode.OK, ledger.checkin(alice2, id(1), T0 + 2));
        assertEquals(0, used());
    }

    @Test
    void the_next_deadline_is_the_earliest_pending_one_or_max_when_nothing_is_pending() {
        assertEquals(T0 + LEASE_TIMEOUT, ledger.nextDeadlineMs());
        ledger.heartbeat(alice, List.of(id(1)), T0 + 1_000);
        assertEquals(T0 + 1_000 + LEASE_TIMEOUT, ledger.nextDeadlineMs());
        ledger.checkin(alice, id(1), T0 + 1_001);
        // only the entitlement's window end is left
        assertEquals(LedgerFixture.WINDOW_END.toEpochMilli(), ledger.nextDeadlineMs());
        SeatLedger empty = new SeatLedger(LedgerSettings.defaults(), LedgerListener.NONE);
        assertEquals(Long.MAX_VALUE, empty.nextDeadlineMs());
    }
}
