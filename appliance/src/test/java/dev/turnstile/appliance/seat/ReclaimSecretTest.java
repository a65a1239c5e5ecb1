package dev.turnstile.appliance.seat;

import static dev.turnstile.appliance.seat.LedgerFixture.T0;
import static dev.turnstile.appliance.seat.LedgerFixture.client;
import static dev.turnstile.appliance.seat.LedgerFixture.co;
import static dev.turnstile.appliance.seat.LedgerFixture.id;
import static dev.turnstile.appliance.seat.LedgerFixture.seats;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Secrets;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Protocol 1.1 proof of ownership in the ledger (PROTOCOL.md 10.5, 10.6): a lease granted with a secret hash
 * answers only to that secret; a lease without one follows {@code legacy_reclaim}.
 */
class ReclaimSecretTest {
    private static final long GRACE = 10_000;
    private final ClientRef holder = client(1, "press-7", "hw-press-7");
    /** Same client_id and hw_id, another connection: the holder after a reconnect, or anyone who read the admin API. */
    private final ClientRef sameIdentity = client(2, "press-7", "hw-press-7");
    private final LedgerFixture.Recorder rec = new LedgerFixture.Recorder();
    private final byte[] secret = Secrets.fresh();

    private SeatLedger ledger(LegacyReclaim legacy) {
        SeatLedger l = new SeatLedger(LedgerFixture.settings(GRACE, legacy), rec);
        l.upsertEntitlement(seats("ent-cad", "cad", 5), T0);
        return l;
    }

    /** GIVEN the holder has lease 1, granted on a 1.1 connection with {@link #secret}. */
    private SeatLedger withSecretLease(LegacyReclaim legacy) {
        SeatLedger l = ledger(legacy);
        assertInstanceOf(CheckoutOutcome.Granted.class, l.checkout(co(holder, "cad").id(1).drawing(secret).build()));
        return l;
    }

    /** GIVEN the holder has lease 1, granted on a 1.0 connection (no secret). */
    private SeatLedger withLegacyLease(LegacyReclaim legacy) {
        SeatLedger l = ledger(legacy);
        assertInstanceOf(CheckoutOutcome.Granted.class, l.checkout(co(holder, "cad").id(1).build()));
        return l;
    }

    private static ErrorCode denial(CheckoutOutcome o) {
        return assertInstanceOf(CheckoutOutcome.Denied.class, o).code();
    }

    @Test
    void a_reclaim_with_the_identifiers_alone_cannot_take_a_live_lease_in_any_mode() {
        for (LegacyReclaim legacy : LegacyReclaim.values()) {
            SeatLedger l = withSecretLease(legacy);
            assertEquals(ErrorCode.RECLAIM_SECRET_MISMATCH,
                    denial(l.checkout(co(sameIdentity, "cad").reclaim(id(1)).id(2).at(T0 + 1).build())), legacy.name());
            assertEquals(ErrorCode.RECLAIM_SECRET_MISMATCH, denial(l.checkout(co(sameIdentity, "cad").reclaim(id(1))
                    .presenting(Secrets.fresh()).id(2).at(T0 + 2).build())), legacy.name());
            assertTrue(l.heartbeat(holder, List.of(id(1)), T0 + 3).get(0).ok(), "the holder keeps its lease");
            assertEquals(1, l.leasesOf(holder.sessionId()).size());
        }
    }

    @Test
    void the_secret_takes_the_lease_back_after_a_reconnect_and_from_a_half_open_socket() {
        SeatLedger l = withSecretLease(LegacyReclaim.REFUSE);
        // half-open: the old socket is still open, the same program reconnected
        CheckoutOutcome.Granted g = assertInstanceOf(CheckoutOutcome.Granted.class, l.checkout(co(sameIdentity, "cad")
                .reclaim(id(1)).presenting(secret).drawing(Secrets.fresh()).id(2).at(T0 + 1).build()));
        assertTrue(g.reclaimed());
        assertEquals(id(1), g.lease().leaseId());
        assertTrue(SecretHash.of(secret).matches(g.lease().secretHash()), "a reclaim keeps the lease's secret");
        // and after a socket loss
        l.sessionLost(sameIdentity.sessionId(), T0 + 2);
        ClientRef third = client(3, "press-7", "hw-press-7");
        g = assertInstanceOf(CheckoutOutcome.Granted.class,
                l.checkout(co(third, "cad").reclaim(id(1)).presenting(secret).id(3).at(T0 + 3).build()));
        assertEquals(third.sessionId(), g.lease().sessionId());
    }

    @Test
    void the_right_secret_does_not_lift_the_identity_rules() {
        SeatLedger l = withSecretLease(LegacyReclaim.REFUSE);
        ClientRef otherMachine = client(5, "press-7", "hw-other");
        assertEquals(ErrorCode.CLIENT_HW_ID_MISMATCH,
                denial(l.checkout(co(otherMachine, "cad").reclaim(id(1)).presenting(secret).id(2).build())));
        ClientRef otherProgram = client(6, "lathe-2", "hw-press-7");
        assertEquals(ErrorCode.CLIENT_HW_ID_MISMATCH,
                denial(l.checkout(co(otherProgram, "cad").reclaim(id(1)).presenting(secret).id(2).build())),
                "a live lease of another client_id stays its own");
    }

    @Test
    void refuse_denies_every_reclaim_and_orphan_checkin_of_a_lease_without_a_secret() {
        SeatLedger l = withLegacyLease(LegacyReclaim.REFUSE);
        assertEquals(ErrorCode.RECLAIM_SECRET_MISMATCH,
                denial(l.checkout(co(sameIdentity, "cad").reclaim(id(1)).id(2).at(T0 + 1).build())));
        l.sessionLost(holder.sessionId(), T0 + 2);
        assertEquals(ErrorCode.RECLAIM_SECRET_MISMATCH,
                denial(l.checkout(co(sameIdentity, "cad").reclaim(id(1)).id(2).at(T0 + 3).build())));
        assertEquals(ErrorCode.RECLAIM_SECRET_MISMATCH, l.checkin(sameIdentity, id(1), T0 + 4));
        // the orphaned lease ends with its grace, as usual
        l.tick(T0 + 2 + GRACE);
        assertEquals(0, l.leaseCount());
    }

    @Test
    void orphaned_allows_the_same_identity_to_reclaim_an_orphaned_legacy_lease_but_never_a_live_one() {
        SeatLedger l = withLegacyLease(LegacyReclaim.ORPHANED);
        assertEquals(ErrorCode.RECLAIM_SECRET_MISMATCH,
                denial(l.checkout(co(sameIdentity, "cad").reclaim(id(1)).id(2).at(T0 + 1).build())),
                "never from a live holder");
        l.sessionLost(holder.sessionId(), T0 + 2);
        ClientRef otherProgram = client(7, "lathe-2", "hw-press-7");
        assertEquals(ErrorCode.RECLAIM_SECRET_MISMATCH,
                denial(l.checkout(co(otherProgram, "cad").reclaim(id(1)).id(2).at(T0 + 3).build())),
                "only the same client_id and hw_id");
        CheckoutOutcome.Granted g = assertInstanceOf(CheckoutOutcome.Granted.class,
                l.checkout(co(sameIdentity, "cad").reclaim(id(1)).id(2).at(T0 + 4).build()));
        assertNull(g.lease().secretHash(), "a 1.0 reclaim leaves the lease without a secret");
    }

    @Test
    void orphaned_still_requires_the_secret_of_a_lease_that_has_one() {
        SeatLedger l = withSecretLease(LegacyReclaim.ORPHANED);
        l.sessionLost(holder.sessionId(), T0 + 1);
        assertEquals(ErrorCode.RECLAIM_SECRET_MISMATCH,
                denial(l.checkout(co(sameIdentity, "cad").reclaim(id(1)).id(2).at(T0 + 2).build())));
        assertEquals(ErrorCode.RECLAIM_SECRET_MISMATCH, l.checkin(sameIdentity, id(1), T0 + 3));
        assertEquals(ErrorCode.OK, l.checkin(sameIdentity, id(1), SecretHash.of(secret), T0 + 4));
    }

    @Test
    void identity_keeps_the_1_0_rules_for_legacy_leases_only() {
        SeatLedger l = withLegacyLease(LegacyReclaim.IDENTITY);
        CheckoutOutcome.Granted g = assertInstanceOf(CheckoutOutcome.Granted.class,
                l.checkout(co(sameIdentity, "cad").reclaim(id(1)).id(2).at(T0 + 1).build()));
        assertEquals(sameIdentity.sessionId(), g.lease().sessionId(), "1.0: taken even from the live holder");
        SeatLedger withSecret = withSecretLease(LegacyReclaim.IDENTITY);
        assertEquals(ErrorCode.RECLAIM_SECRET_MISMATCH,
                denial(withSecret.checkout(co(sameIdentity, "cad").reclaim(id(1)).id(2).at(T0 + 1).build())));
    }

    @Test
    void a_1_1_reclaim_of_a_legacy_lease_that_the_mode_allows_gives_it_the_new_secret_which_it_then_requires() {
        SeatLedger l = withLegacyLease(LegacyReclaim.ORPHANED);
        l.sessionLost(holder.sessionId(), T0 + 1);
        byte[] fresh = Secrets.fresh();
        CheckoutOutcome.Granted g = assertInstanceOf(CheckoutOutcome.Granted.class,
                l.checkout(co(sameIdentity, "cad").reclaim(id(1)).drawing(fresh).id(2).at(T0 + 2).build()));
        assertTrue(SecretHash.of(fresh).matches(g.lease().secretHash()));
        l.sessionLost(sameIdentity.sessionId(), T0 + 3);
        ClientRef third = client(3, "press-7", "hw-press-7");
        assertEquals(ErrorCode.RECLAIM_SECRET_MISMATCH,
                denial(l.checkout(co(third, "cad").reclaim(id(1)).id(3).at(T0 + 4).build())));
        assertInstanceOf(CheckoutOutcome.Granted.class,
                l.checkout(co(third, "cad").reclaim(id(1)).presenting(fresh).id(3).at(T0 + 5).build()));
    }

    @Test
    void an_orphan_checkin_from_another_connection_needs_the_secret_and_a_live_lease_answers_only_its_connection() {
        SeatLedger l = withSecretLease(LegacyReclaim.REFUSE);
        assertEquals(ErrorCode.LEASE_ID_NOT_FOUND, l.checkin(sameIdentity, id(1), SecretHash.of(secret), T0 + 1),
                "a HELD lease is checked in by its own connection only");
        l.sessionLost(holder.sessionId(), T0 + 2);
        assertEquals(ErrorCode.RECLAIM_SECRET_MISMATCH,
                l.checkin(sameIdentity, id(1), SecretHash.of(Secrets.fresh()), T0 + 3));
        assertEquals(ErrorCode.OK, l.checkin(sameIdentity, id(1), SecretHash.of(secret), T0 + 4));
    }

    @Test
    void a_queued_checkout_gets_the_secret_it_was_queued_with() {
        SeatLedger l = new SeatLedger(LedgerFixture.settings(GRACE, LegacyReclaim.REFUSE), rec);
        l.upsertEntitlement(seats("ent-cad", "cad", 1), T0);
        l.checkout(co(client(9, "x", "hw-x"), "cad").id(9).build());
        byte[] waiting = Secrets.fresh();
        assertInstanceOf(CheckoutOutcome.Queued.class,
                l.checkout(co(holder, "cad").waiting(5_000).drawing(waiting).id(1).at(T0 + 1).build()));
        assertEquals(ErrorCode.OK, l.checkin(client(9, "x", "hw-x"), id(9), T0 + 2));
        assertTrue(SecretHash.of(waiting).matches(l.lease(id(1)).orElseThrow().secretHash()));
    }

    @Test
    void the_hash_never_shows_in_a_view_or_event_text_and_only_lease_starting_events_carry_it() {
        SeatLedger l = withSecretLease(LegacyReclaim.REFUSE);
        l.heartbeat(holder, List.of(id(1)), T0 + 1);
        l.checkin(holder, id(1), T0 + 2);
        String hashHex = HexFormat.of().formatHex(SecretHash.of(secret).bytes());
        String secretHex = HexFormat.of().formatHex(secret);
        for (LedgerEvent e : rec.journal) {
            String text = e.toString();
            assertFalse(text.contains(hashHex) || text.contains(secretHex), text);
            assertEquals(e.kind() == LedgerEvent.Kind.CHECKOUT, e.secretHash() != null, e.kind().name());
        }
        SeatLedger again = withSecretLease(LegacyReclaim.REFUSE);
        String view = again.lease(id(1)).orElseThrow().toString();
        assertFalse(view.contains(hashHex) || view.contains(secretHex), view);
        assertTrue(view.contains("secretHash=***"), view);
    }
}
