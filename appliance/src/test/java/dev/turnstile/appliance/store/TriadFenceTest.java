package dev.turnstile.appliance.store;

import dev.turnstile.appliance.triad.TriadJournal;

import static dev.turnstile.appliance.store.StoreTestKit.checkout;
import static dev.turnstile.appliance.store.StoreTestKit.event;
import static dev.turnstile.appliance.store.StoreTestKit.waitUntil;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.seat.LeaseState;
import dev.turnstile.appliance.seat.LeaseView;
import dev.turnstile.appliance.seat.LedgerEvent;
import dev.turnstile.appliance.seat.LedgerEvent.Kind;
import dev.turnstile.protocol.ErrorCode;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The triad's fence in the shared Postgres ({@code triad_fence}, V101): two stores on one database play two triad
 * members of one journal, the deposed leader of term 1 and the new leader of term 2 (what {@link TriadJournal} does
 * at a takeover: raise the fence to the term it became leader in, then write). The old leader's store is "paused" by
 * a long flush interval: its batch is still queued when the new leader has written, then it flushes.
 */
@Tag("slow") // a triad and PostgreSQL, leaders fenced
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TriadFenceTest extends PostgresStoreTestBase {
    final UUID journal = UUID.randomUUID();
    final UUID lease = UUID.randomUUID();
    PersistenceService oldLeader;
    PersistenceService newLeader;

    @AfterEach
    void stopStores() throws Exception {
        for (PersistenceService p : new PersistenceService[] {oldLeader, newLeader}) {
            if (p != null) {
                TestDatabase.await(p.stop());
            }
        }
    }

    PersistenceService start(String dir, String flushInterval) throws Exception {
        return TestDatabase.await(PersistenceService.start(vertx,
                StoreTestKit.storeSection(db.url, spill.resolve(dir)).put("flush_interval", flushInterval)));
    }

    static long seq(long index, int k) {
        return (index << 20) + k;
    }

    Row leaseRow() throws Exception {
        return db.rows("SELECT session_id, client_id, hw_id, released_at FROM leases WHERE lease_id = $1", lease)
                .get(0);
    }

    /** The lease is checked out on the old leader (term 1) and written; then the new leader (term 2) takes over. */
    void checkedOutUnderTerm1ThenTakenOverByTerm2() throws Exception {
        oldLeader = start("a", "60s"); // writes only when flushed: a paused or partitioned leader's queue
        newLeader = start("b", "60s");
        assertEquals(1L, TestDatabase.await(oldLeader.raiseFence(journal, 1, "a")));
        long t0 = System.currentTimeMillis() - 10_000;
        oldLeader.journalKeyed(checkout(lease, t0, 1), journal, seq(1, 0));
        TestDatabase.await(oldLeader.flush());
        assertEquals(1L, leaseRow().getLong("session_id"));
    }

    @Test
    @DisplayName("GIVEN a leader of term 1 whose store still holds a batch WHEN a leader of term 2 raises the fence and reclaims the lease and the old store then flushes THEN the late batch is refused whole: the lease keeps the new session, client and hardware id, no row of the batch lands, and the fenced counters show it")
    void a_deposed_leaders_late_batch_is_refused() throws Exception {
        checkedOutUnderTerm1ThenTakenOverByTerm2();
        long t1 = System.currentTimeMillis() - 5_000;
        // the old leader's late batch: a reclaim by an older session (index 2), a denial, and a local event
        oldLeader.journalKeyed(event(Kind.RECLAIM, t1, lease, 11, 1), journal, seq(2, 0));
        oldLeader.journalKeyed(event(Kind.DENIAL, t1, null, 12, 1), journal, seq(2, 1));
        oldLeader.journal(event(Kind.DENIAL, t1, null, 13, 1));

        assertEquals(2L, TestDatabase.await(newLeader.raiseFence(journal, 2, "b")));
        long t2 = System.currentTimeMillis() - 1_000;
        newLeader.journalKeyed(event(Kind.RECLAIM, t2, lease, 2, 1), journal, seq(3, 0));
        TestDatabase.await(newLeader.flush());
        assertEquals(2L, leaseRow().getLong("session_id"));

        try (StoreTestKit.LogCapture log = new StoreTestKit.LogCapture()) {
            long t0 = System.nanoTime();
            TestDatabase.await(oldLeader.flush()); // the late batch: refused, dropped, not retried
            System.out.printf("fence: the refused batch settled in %d ms%n", (System.nanoTime() - t0) / 1_000_000);
            assertTrue(log.has("WARN", "FENCED", "term 1", "term 2", "Dropped 3 event(s)"), log.dump());
        }
        Row r = leaseRow();
        assertEquals(2L, r.getLong("session_id"), "the new leader's session stays");
        assertEquals("client-2", r.getString("client_id"));
        assertEquals("hw-2", r.getString("hw_id"));
        assertEquals(0, db.count("SELECT count(*) FROM usage_journal WHERE seq >> 20 = 2 OR session_id IN (11, 12, 13)"),
                "no row of the late batch landed");
        assertEquals(2, db.count("SELECT count(*) FROM usage_journal"), "the checkout (term 1) and the reclaim (term 2)");
        assertEquals(2, db.count("SELECT term FROM triad_fence WHERE journal_id = $1", journal));

        JsonObject st = oldLeader.status();
        System.out.printf("fence: old leader's store status: %s%n", st.encode());
        assertEquals(1, st.getLong("fenced_batches"));
        assertEquals(3, st.getLong("fenced_events"));
        assertEquals(1, st.getLong("events_written"), "only the checkout written before the takeover");
        assertEquals(2, st.getLong("fence_seen_term"));
        assertEquals(1, st.getLong("fence_term"));

        // later events of term 1 are dropped without a round trip; its reconcile and its raise are refused
        oldLeader.journalKeyed(event(Kind.HEARTBEAT, System.currentTimeMillis(), lease, 11, 1), journal, seq(4, 0));
        TestDatabase.await(oldLeader.flush());
        assertEquals(4, oldLeader.status().getLong("fenced_events"));
        assertEquals(1, oldLeader.status().getLong("fenced_batches"));
        LeaseView stale = new LeaseView(lease, StoreTestKit.ENT, StoreTestKit.PRODUCT, 11, "client-11", "hw-11", "",
                1, t1, t1, t1, LeaseState.HELD);
        ExecutionException ex = assertThrows(ExecutionException.class,
                () -> TestDatabase.await(oldLeader.reconcileLeases(List.of(stale), System.currentTimeMillis())));
        assertInstanceOf(FencedException.class, ex.getCause());
        assertEquals(2, ((FencedException) ex.getCause()).storedTerm());
        ex = assertThrows(ExecutionException.class, () -> TestDatabase.await(oldLeader.raiseFence(journal, 1, "a")));
        assertInstanceOf(FencedException.class, ex.getCause());
        assertEquals(2L, leaseRow().getLong("session_id"));
        assertEquals(1, db.count("SELECT count(*) FROM leases WHERE released_at IS NULL"), "not released by the refused reconcile");

        // the new leader goes on writing, unfenced
        newLeader.journalKeyed(event(Kind.CHECKIN, System.currentTimeMillis(), lease, 2, 0), journal, seq(5, 0));
        TestDatabase.await(newLeader.flush());
        assertEquals(0, newLeader.status().getLong("fenced_events"));
        assertTrue(leaseRow().getValue("released_at") != null, "the new leader's checkin is written");
    }

    @Test
    @DisplayName("GIVEN a spill left by a member that led term 1 (a crash) WHEN it starts again after a leader of term 2 raised the fence THEN the spilled rows of term 1 reach usage_journal only, the lease row is not set back, and rows of a term the fence allows are written whole")
    void a_spill_of_an_older_leadership_is_written_to_the_journal_only() throws Exception {
        checkedOutUnderTerm1ThenTakenOverByTerm2();
        TestDatabase.await(oldLeader.stop());
        oldLeader = null;
        assertEquals(2L, TestDatabase.await(newLeader.raiseFence(journal, 2, "b")));
        long t2 = System.currentTimeMillis() - 1_000;
        newLeader.journalKeyed(event(Kind.RECLAIM, t2, lease, 2, 1), journal, seq(3, 0));
        TestDatabase.await(newLeader.flush());

        // the crashed member's spill: a reclaim by an old session (term 1), a denial keyed before fencing existed
        // (no term), and a checkout of another lease in term 2 (allowed by the fence)
        UUID other = UUID.randomUUID();
        UUID run = UUID.randomUUID();
        long t1 = System.currentTimeMillis() - 5_000;
        String lines = line(run, seq(2, 0), 1L, event(Kind.RECLAIM, t1, lease, 11, 1)) + "\n"
                + line(run, seq(2, 1), null, event(Kind.DENIAL, t1, null, 12, 1)) + "\n"
                + line(run, seq(4, 0), 2L, checkout(other, t2, 21)) + "\n";
        Path dir = spill.resolve("c");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("spill-0000000001.jsonl"), lines, StandardCharsets.UTF_8);

        try (StoreTestKit.LogCapture log = new StoreTestKit.LogCapture()) {
            oldLeader = start("c", "50ms"); // the member's next start: its spill is written first
            waitUntil(30_000, "the spill is written", () -> oldLeader.status().getLong("spilled_events") == 0);
            TestDatabase.await(oldLeader.flush());
            assertTrue(log.has("WARN", "usage_journal only"), log.dump());
        }
        JsonObject st = oldLeader.status();
        System.out.printf("fence: restarted member's store status: %s%n", st.encode());
        assertEquals(2, st.getLong("fenced_spill_events_journal_only"));
        assertEquals(0, st.getLong("fenced_events"));
        assertEquals(2, db.count("SELECT count(*) FROM usage_journal WHERE seq >> 20 = 2"), "the journal keeps them");
        Row r = leaseRow();
        assertEquals(2L, r.getLong("session_id"), "the lease row is not set back");
        assertEquals("client-2", r.getString("client_id"));
        assertEquals(21L, db.rows("SELECT session_id FROM leases WHERE lease_id = $1", other).get(0).getLong(0),
                "a row of a term the fence allows is written whole");
    }

    /** One spill line as the store writes it (EventCodec): keyed by the journal id, queued by run {@code by}. */
    String line(UUID by, long seq, Long term, LedgerEvent e) {
        JsonObject o = new JsonObject().put("run", journal.toString()).put("seq", seq).put("enq", e.atMs())
                .put("by", by.toString());
        if (term != null) {
            o.put("fence", journal.toString()).put("term", term);
        }
        o.put("kind", e.kind().name()).put("at", e.atMs());
        if (e.leaseId() != null) {
            o.put("lease", e.leaseId().toString());
        }
        return o.put("ent", e.entitlementId()).put("prod", e.productId()).put("sess", e.sessionId())
                .put("client", e.clientId()).put("hw", e.hwId()).put("qty", e.quantity())
                .put("reason", e.reason() == null ? ErrorCode.OK.wireName() : e.reason().wireName())
                .put("used", e.poolUsed()).put("high", e.poolHighWater()).encode();
    }
}
