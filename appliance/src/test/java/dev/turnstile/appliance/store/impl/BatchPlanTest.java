package dev.turnstile.appliance.store.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.turnstile.appliance.seat.LedgerEvent;
import dev.turnstile.appliance.seat.LedgerEvent.Kind;
import dev.turnstile.protocol.ErrorCode;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** How a batch of events becomes rows, without a database: journal rows, coalesced leases, snapshots. */
class BatchPlanTest {
    private static final UUID RUN = UUID.randomUUID();
    private static final long T0 = 1_800_000_000_000L;
    private long seq;

    private QueuedEvent q(Kind kind, long at, UUID lease, long used) {
        ErrorCode reason = kind == Kind.RELEASE ? ErrorCode.SESSION_LOST : ErrorCode.OK;
        return new QueuedEvent(new LedgerEvent(kind, at, lease, "ent", "prod", 7, "client", "hw", 1, reason, used,
                3), at, RUN, ++seq);
    }

    @Test
    @DisplayName("GIVEN 100 heartbeats of one lease in a batch WHEN planned THEN they become one lease update with the latest time and no journal row")
    void heartbeats_coalesce_into_one_update_per_lease() {
        UUID a = UUID.randomUUID();
        List<QueuedEvent> batch = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            batch.add(q(Kind.HEARTBEAT, T0 + 1_000L * (100 - i), a, 1)); // out of order on purpose
        }
        BatchPlan plan = BatchPlan.of(batch, 60_000);
        assertEquals(0, plan.journal.size());
        assertEquals(1, plan.leaseUpdates.size());
        assertEquals(0, plan.leaseUpserts.size());
        assertEquals(T0 + 100_000L, plan.leaseUpdates.get(0, 1));
        assertNull(plan.leaseUpdates.get(0, 2), "not released");
        assertEquals(100, plan.heartbeats);
        assertEquals(1, plan.heartbeatLeases);
        assertEquals(0, plan.snapshots.size(), "heartbeats do not move pool figures");
    }

    @Test
    @DisplayName("GIVEN a checkout, heartbeats and its checkin in one batch WHEN planned THEN both reach the journal and the lease is one upsert, already released")
    void a_checkout_and_its_checkin_are_one_lease_row_and_two_journal_rows() {
        UUID a = UUID.randomUUID();
        BatchPlan plan = BatchPlan.of(List.of(q(Kind.CHECKOUT, T0, a, 1), q(Kind.HEARTBEAT, T0 + 5, a, 1),
                q(Kind.CHECKIN, T0 + 9, a, 0)), 60_000);
        assertEquals(2, plan.journal.size());
        assertEquals("checkout", plan.journal.get(0, 2));
        assertEquals("checkin", plan.journal.get(1, 2));
        assertEquals(RUN, plan.journal.get(0, 0));
        assertEquals(1L, plan.journal.get(0, 1));
        assertEquals(1, plan.leaseUpserts.size());
        assertEquals(0, plan.leaseUpdates.size());
        assertEquals(T0, plan.leaseUpserts.get(0, 7), "checked out at");
        assertEquals(T0 + 5, plan.leaseUpserts.get(0, 8), "last heartbeat");
        assertEquals(T0 + 9, plan.leaseUpserts.get(0, 9), "released at");
        assertEquals("checkedIn", plan.leaseUpserts.get(0, 10));
    }

    @Test
    @DisplayName("GIVEN lease ends without the client asking WHEN planned THEN the release reason is the ledger's stable error name")
    void release_reasons_are_the_protocols_names() {
        UUID a = UUID.randomUUID();
        UUID b = UUID.randomUUID();
        BatchPlan plan = BatchPlan.of(List.of(q(Kind.EXPIRY, T0, a, 0), q(Kind.RELEASE, T0, b, 0)), 60_000);
        assertEquals(2, plan.leaseUpdates.size());
        assertEquals("licenseCheckoutExpired", plan.leaseUpdates.get(0, 3));
        assertEquals("sessionLost", plan.leaseUpdates.get(1, 3));
        assertNull(plan.leaseUpdates.get(0, 1), "an end is not a heartbeat");
    }

    @Test
    @DisplayName("GIVEN pool activity across two snapshot periods WHEN planned THEN there is one snapshot row per pool and period with the last use and the peak")
    void pool_figures_fold_into_one_row_per_period() {
        BatchPlan plan = BatchPlan.of(List.of(q(Kind.CHECKOUT, T0, UUID.randomUUID(), 1),
                q(Kind.CHECKOUT, T0 + 1, UUID.randomUUID(), 2), q(Kind.CHECKIN, T0 + 2, UUID.randomUUID(), 1),
                q(Kind.DENIAL, T0 + 60_000, null, 1)), 60_000);
        assertEquals(2, plan.snapshots.size());
        long period = Math.floorDiv(T0, 60_000L) * 60_000L;
        assertEquals(period, plan.snapshots.get(0, 1));
        assertEquals(1L, plan.snapshots.get(0, 3), "used after the last event");
        assertEquals(2L, plan.snapshots.get(0, 5), "peak");
        assertEquals(3L, plan.snapshots.get(0, 4), "high-water");
    }
}
