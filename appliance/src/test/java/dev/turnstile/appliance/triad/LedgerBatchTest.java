package dev.turnstile.appliance.triad;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.seat.CheckoutCommand;
import dev.turnstile.appliance.seat.CheckoutOutcome;
import dev.turnstile.appliance.seat.ClientRef;
import dev.turnstile.appliance.seat.ConcurrentLedger;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Group commit: several ledger commands in one log entry ({@link LedgerCommand.Batch}). */
class LedgerBatchTest {

    static List<LedgerCommand> commands(long now) {
        List<LedgerCommand> cs = new ArrayList<>();
        cs.add(new LedgerCommand.UpsertEntitlement(TriadFixture.entitlement(2), now));
        for (int i = 1; i <= 3; i++) { // the third is denied: two seats
            cs.add(new LedgerCommand.Checkout(new CheckoutCommand(new ClientRef(i, "c" + i, "hw" + i, "x"), i, "cad-pro",
                    "", 1, 1, false, 0, null, new UUID(0, i), now + i)));
        }
        cs.add(new LedgerCommand.Checkin(new ClientRef(1, "c1", "hw1", "x"), new UUID(0, 1), now + 10));
        cs.add(new LedgerCommand.SessionLost(2, now + 11));
        return cs;
    }

    @Test
    @DisplayName("GIVEN six ledger commands WHEN applied as one batch entry on one member and one by one on another "
            + "THEN both ledgers, indexes and per-command results are the same")
    void a_batch_entry_applies_like_its_commands_one_by_one() throws Exception {
        long now = 1_800_000_000_000L;
        List<LedgerCommand> cs = commands(now);
        ConcurrentLedger one = TriadRecoveryTest.emptyLedger();
        LedgerStateMachine single = new LedgerStateMachine(one);
        List<LedgerStateMachine.Applied> singly = new ArrayList<>();
        for (LedgerCommand c : cs) {
            byte[] b = LedgerCommand.encode(7, c);
            singly.add(LedgerStateMachine.decodeResult(single.apply(b, 0, b.length, true)));
        }

        ConcurrentLedger other = TriadRecoveryTest.emptyLedger();
        LedgerStateMachine batched = new LedgerStateMachine(other);
        byte[] b = LedgerCommand.encode(7, new LedgerCommand.Batch(cs, now));
        assertEquals(LedgerCommand.BATCH, b[0]);
        byte[][] parts = LedgerStateMachine.splitBatchResult(batched.apply(b, 0, b.length, true));

        assertEquals(cs.size(), parts.length);
        for (int i = 0; i < parts.length; i++) {
            assertEquals(singly.get(i).toString(), LedgerStateMachine.decodeResult(parts[i]).toString(), "result " + i);
        }
        assertEquals(single.index(), batched.index());
        assertEquals(cs.size(), batched.index());
        assertEquals(one.leases(), other.leases());
        assertEquals(one.pools(), other.pools());
        assertTrue(LedgerStateMachine.decodeResult(parts[3]).value() instanceof CheckoutOutcome.Denied, "two seats only");
        assertEquals(4, LedgerStateMachine.decodeResult(parts[3]).index(), "each command has its own index");
    }

    @Test
    @DisplayName("GIVEN a batch entry that claims more commands than allowed, or holds a batch WHEN decoded THEN it is "
            + "refused with a named error, not applied")
    void a_malformed_batch_entry_is_refused() throws Exception {
        byte[] good = LedgerCommand.encode(1, new LedgerCommand.Batch(commands(1L), 1L));
        byte[] tooMany = good.clone();
        java.nio.ByteBuffer.wrap(tooMany).putInt(17, LedgerCommand.MAX_BATCH + 1); // type(1) term(8) now(8) count
        IOException e = assertThrows(IOException.class, () -> LedgerCommand.decode(tooMany, 0, tooMany.length));
        assertTrue(e.getMessage().contains("ledger batch of"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LedgerCommand.encode(1,
                new LedgerCommand.Batch(List.of(new LedgerCommand.Batch(commands(1L), 1L)), 1L)));
    }
}
