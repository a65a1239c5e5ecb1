package dev.turnstile.appliance.seat;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.turnstile.protocol.Enforcement;
import dev.turnstile.protocol.ErrorCode;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** 100,000 leases expire through tick() alone; only due leases are touched. Times are printed, never asserted. */
class ExpiryAtScaleTest {

    private static final int LEASES = 100_000;
    private static final int SESSIONS = 1_000;
    private static final long TIMEOUT = 30_000;
    private static final long T0 = LedgerFixture.T0;

    /** Counts instead of recording: 100,000 events stay cheap. */
    private static final class Counter implements LedgerListener {
        int expiries;
        int ended;
        int journal;

        @Override
        public void queuedGranted(long sessionId, int requestId, LeaseView lease) {
        }

        @Override
        public void queuedDenied(long sessionId, int requestId, ErrorCode code, String message) {
        }

        @Override
        public void leaseEnded(long sessionId, LeaseView lease, ErrorCode reason) {
            if (reason == ErrorCode.LICENSE_CHECKOUT_EXPIRED) {
                ended++;
            }
        }

        @Override
        public void journal(LedgerEvent event) {
            journal++;
            if (event.kind() == LedgerEvent.Kind.EXPIRY) {
                expiries++;
            }
        }
    }

    @Test
    void one_hundred_thousand_leases_expire_through_tick_and_leave_every_pool_empty() {
        // GIVEN 100,000 leases of 1,000 sessions granted over one second
        Counter counter = new Counter();
        SeatLedger ledger = new SeatLedger(new LedgerSettings(TIMEOUT, 0, 1_000, 10, 1_000, 1_000, 60_000, LEASES),
                counter);
        ledger.upsertEntitlement(new Entitlement("e", "acme", "p", Enforcement.SEATS, LEASES, null, null), T0);
        List<ClientRef> clients = new ArrayList<>();
        for (int i = 0; i < SESSIONS; i++) {
            clients.add(new ClientRef(i, "c" + i, "hw" + i, "10.0.0.1:" + i));
        }
        for (int i = 0; i < LEASES; i++) {
            CheckoutOutcome o = ledger.checkout(new CheckoutCommand(clients.get(i % SESSIONS), 1, "p", "", 1, 1, false,
                    0, null, new UUID(3, i), T0 + i / 100));
            assertEquals(CheckoutOutcome.Granted.class, o.getClass());
        }
        assertEquals(LEASES, ledger.pools().get(0).used());

        // WHEN half of the sessions heartbeat just before the first deadline
        long hb = T0 + TIMEOUT - 1;
        for (int s = 0; s < SESSIONS; s += 2) {
            List<UUID> ids = new ArrayList<>();
            for (LeaseView l : ledger.leasesOf(s)) {
                ids.add(l.leaseId());
            }
            ledger.heartbeat(clients.get(s), ids, hb);
        }
        // AND a tick comes after every original deadline
        long start = System.nanoTime();
        ledger.tick(T0 + TIMEOUT + 1_000);
        long halfNanos = System.nanoTime() - start;

        // THEN exactly the leases that missed their heartbeat expired
        assertEquals(LEASES / 2, ledger.leaseCount());
        assertEquals(LEASES / 2, counter.expiries);
        assertEquals(LEASES / 2, counter.ended);

        // WHEN the heartbeats stop too
        start = System.nanoTime();
        ledger.tick(hb + TIMEOUT);
        long restNanos = System.nanoTime() - start;

        // THEN every lease is gone and every seat is back
        assertEquals(0, ledger.leaseCount());
        assertEquals(LEASES, counter.expiries);
        assertEquals(0, ledger.pools().get(0).used());
        assertEquals(LEASES, ledger.pools().get(0).highWater());
        assertEquals(List.of(), ledger.leasesOf(0));
        assertEquals(Long.MAX_VALUE, ledger.nextDeadlineMs());
        System.out.printf("expired %,d leases in %.1f ms, then %,d in %.1f ms (not a pass/fail figure)%n",
                LEASES / 2, halfNanos / 1e6, LEASES / 2, restNanos / 1e6);
    }
}
