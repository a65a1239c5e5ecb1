package dev.turnstile.appliance.store.impl;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.seat.LedgerEvent;
import dev.turnstile.appliance.seat.SecretHash;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Secrets;
import java.util.HexFormat;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** A spilled CHECKOUT keeps its lease's reclaim secret hash through a restart; a log line or parked event never shows it. */
class EventCodecSecretTest {

    @Test
    void the_spill_keeps_the_secret_hash_and_log_lines_leave_it_out() {
        SecretHash hash = SecretHash.of(Secrets.fresh());
        LedgerEvent e = new LedgerEvent(LedgerEvent.Kind.CHECKOUT, 1_000, UUID.randomUUID(), "ent-cad", "cad-pro", 7,
                "c1", "hw1", 1, ErrorCode.OK, 1, 1, hash);
        QueuedEvent q = new QueuedEvent(e, 1_000, UUID.randomUUID(), 42);

        StringBuilder spilled = new StringBuilder();
        EventCodec.encodeSpilled(spilled, q);
        assertTrue(hash.matches(EventCodec.decode(spilled.toString()).event.secretHash()), spilled.toString());

        String logged = EventCodec.encode(q);
        assertFalse(logged.contains(HexFormat.of().formatHex(hash.bytes())), logged);
        assertNull(EventCodec.decode(logged).event.secretHash());
        assertFalse(q.toString().contains(HexFormat.of().formatHex(hash.bytes())));
    }
}
