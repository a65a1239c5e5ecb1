package dev.turnstile.appliance.triad;


import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.turnstile.appliance.seat.LedgerEvent;
import dev.turnstile.appliance.store.PersistenceService;
import dev.turnstile.protocol.ErrorCode;
import java.util.UUID;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The triad journal's buffer without a triad: its bound, what it drops, and what it costs in heap. */
class TriadJournalBufferTest {

    static LedgerEvent event(long i) {
        return new LedgerEvent(i % 2 == 0 ? LedgerEvent.Kind.CHECKOUT : LedgerEvent.Kind.CHECKIN, 1_800_000_000_000L + i,
                UUID.randomUUID(), "ent-cad", "cad-pro", i, "client", "hw", 1, ErrorCode.OK, i % 50, 50);
    }

    static long usedHeap() throws InterruptedException {
        Runtime rt = Runtime.getRuntime();
        for (int i = 0; i < 4; i++) {
            System.gc();
            Thread.sleep(50); // lets the collector settle before the heap is measured (no effect to wait for)
        }
        return rt.totalMemory() - rt.freeMemory();
    }

    @Test
    @DisplayName("GIVEN a follower's buffer of N events WHEN more keyed events arrive unconfirmed THEN it keeps the newest N, counts the dropped ones, and a confirmation empties it")
    void the_buffer_is_bounded_and_trimmed_by_confirmations() throws Exception {
        int capacity = 200_000;
        JournalKeys keys = new JournalKeys();
        TriadJournal j = new TriadJournal(PersistenceService.memoryOnly(), capacity, 200);
        j.keysForTest(keys);
        long before = usedHeap();
        keys.begin(1);
        for (long i = 0; i < capacity; i++) {
            j.journal(event(i));
        }
        keys.end();
        long after = usedHeap();
        System.out.printf("triad store: buffer of %d events: %d bytes of heap, %d bytes per event (nproc=%d)%n",
                capacity, after - before, (after - before) / capacity, Runtime.getRuntime().availableProcessors());
        keys.begin(2);
        for (long i = 0; i < 500; i++) {
            j.journal(event(i));
        }
        keys.end();
        assertEquals(capacity, j.buffered());
        assertEquals(500L, j.triadStatus().getLong("buffer_dropped_unconfirmed"));
        assertEquals(JournalKeys.seq(1, 500), j.triadStatus().getLong("buffer_oldest_seq"));
        j.marked(UUID.randomUUID(), JournalKeys.seq(2, 499));
        assertEquals(0, j.buffered());
    }
}
