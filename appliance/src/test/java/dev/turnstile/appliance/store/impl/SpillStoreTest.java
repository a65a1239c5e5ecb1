package dev.turnstile.appliance.store.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.seat.LedgerEvent;
import dev.turnstile.appliance.seat.LedgerEvent.Kind;
import dev.turnstile.protocol.ErrorCode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The spill file on its own: order across segments and restarts, odd characters, a torn last line. */
class SpillStoreTest {
    private static final UUID RUN = UUID.randomUUID();
    @TempDir
    Path dir;

    private static List<QueuedEvent> events(long fromSeq, int n) {
        List<QueuedEvent> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            long seq = fromSeq + i;
            out.add(new QueuedEvent(new LedgerEvent(Kind.CHECKOUT, 1_000 + seq, UUID.randomUUID(), "ent \"1\"",
                    "prod\\x", seq, "client\u00e9\n", "hw\t", 1, ErrorCode.OK, 1, 1), 5_000 + seq, RUN, seq));
        }
        return out;
    }

    private static List<Long> drain(SpillStore s, int chunk) throws Exception {
        List<Long> seqs = new ArrayList<>();
        for (int guard = 0; guard < 10_000 && s.hasData(); guard++) {
            for (QueuedEvent q : s.readChunk(chunk)) {
                seqs.add(q.seq);
            }
            s.commitChunk();
        }
        return seqs;
    }

    @Test
    @DisplayName("GIVEN events appended while earlier ones are being replayed WHEN everything is read THEN the order is the order of appending, and replayed segments are deleted")
    void appends_during_a_replay_keep_the_order() throws Exception {
        SpillStore s = new SpillStore(dir);
        s.open();
        s.append(events(1, 10));
        List<Long> seqs = new ArrayList<>();
        for (QueuedEvent q : s.readChunk(4)) {
            seqs.add(q.seq);
        }
        s.commitChunk();
        s.append(events(11, 5)); // goes to a new segment: the first one is being read
        seqs.addAll(drain(s, 4));
        List<Long> expected = new ArrayList<>();
        for (long i = 1; i <= 15; i++) {
            expected.add(i);
        }
        assertEquals(expected, seqs);
        assertFalse(s.hasData());
        assertEquals(0, s.events());
        assertEquals(0, s.bytes());
        try (var files = Files.list(dir)) {
            assertEquals(0, files.filter(p -> p.getFileName().toString().startsWith("spill-")).count());
        }
    }

    @Test
    @DisplayName("GIVEN a spill left by an earlier run WHEN a new store opens the folder THEN it finds every event, decodes every field, and appends after them")
    void a_spill_survives_a_restart() throws Exception {
        SpillStore first = new SpillStore(dir);
        first.open();
        first.append(events(1, 3));
        first.close();

        SpillStore second = new SpillStore(dir);
        second.open();
        assertEquals(3, second.events());
        assertTrue(second.bytes() > 0);
        second.append(events(4, 2));
        List<QueuedEvent> chunk = second.readChunk(100);
        assertEquals(3, chunk.size(), "the older segment comes first, alone");
        LedgerEvent e = chunk.get(0).event;
        assertEquals("ent \"1\"", e.entitlementId());
        assertEquals("prod\\x", e.productId());
        assertEquals("client\u00e9\n", e.clientId());
        assertEquals("hw\t", e.hwId());
        assertEquals(RUN, chunk.get(0).runId);
        assertEquals(5_001, chunk.get(0).enqueuedAtMs);
        second.commitChunk();
        assertEquals(List.of(4L, 5L), drain(second, 100));
    }

    @Test
    @DisplayName("GIVEN a segment whose last line was torn by a crash WHEN replayed THEN the whole lines are read and the torn one is parked, not lost silently")
    void a_torn_line_is_parked() throws Exception {
        SpillStore s = new SpillStore(dir);
        s.open();
        s.append(events(1, 2));
        s.close();
        Path seg;
        try (var files = Files.list(dir)) {
            seg = files.filter(p -> p.getFileName().toString().startsWith("spill-")).findFirst().orElseThrow();
        }
        Files.writeString(seg, "{\"run\":\"" + RUN + "\",\"seq\":3,\"en", StandardOpenOption.APPEND);

        SpillStore again = new SpillStore(dir);
        again.open();
        assertEquals(List.of(1L, 2L), drain(again, 10));
        assertEquals(1, again.parked());
        assertTrue(Files.readString(dir.resolve(SpillStore.PARKED_FILE)).contains("undecodable line 3"));
    }
}
