package dev.turnstile.appliance.seat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.protocol.Enforcement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The ledger is a deterministic state machine: the same commands in the same order give the same
 * answers, listener calls, journal and final state; and how often tick() runs changes nothing.
 */
class DeterminismTest {

    private static final long T0 = LedgerFixture.T0;

    /** A command with its time, applied to a ledger; returns what the ledger answered. */
    private record Command(long atMs, Function<SeatLedger, Object> apply) {
    }

    /** A random but reproducible list of commands of every kind over three products. */
    private static List<Command> commands(long seed, int count) {
        SplittableRandom rnd = new SplittableRandom(seed);
        SplittableRandom srnd = new SplittableRandom(seed ^ 0x5EC2E7L); // secrets: apart, so rnd's sequence is as before
        List<Command> out = new ArrayList<>();
        List<UUID> issued = new ArrayList<>();
        List<String> issuedProduct = new ArrayList<>();
        List<Long> issuedSession = new ArrayList<>();
        List<byte[]> issuedSecret = new ArrayList<>(); // protocol 1.1: null for a 1.0 checkout
        long now = T0;
        out.add(new Command(now, l -> {
            l.upsertEntitlement(new Entitlement("e-a", "acme", "a", Enforcement.SEATS, 6, null, null), T0);
            l.upsertEntitlement(new Entitlement("e-b1", "acme", "b", Enforcement.SEATS, 2, null, null), T0);
            l.upsertEntitlement(new Entitlement("e-b2", "acme", "b", Enforcement.SEATS, 3, null,
                    Instant.ofEpochMilli(T0 + 4_000)), T0);
            l.upsertEntitlement(new Entitlement("e-c", "acme", "c", Enforcement.CHECKOUTS, 2, null, null), T0);
            return null;
        }));
        for (int i = 0; i < count; i++) {
            now += rnd.nextInt(40);
            final long at = now;
            long session = 1 + rnd.nextInt(8);
            ClientRef client = new ClientRef(session, "c" + (session % 5), "hw" + (session % 4), "10.0.0.1:" + session);
            UUID known = issued.isEmpty() ? new UUID(1, 1) : issued.get(rnd.nextInt(issued.size()));
            int dice = rnd.nextInt(100);
            if (dice < 30) {
                UUID fresh = new UUID(42, i);
                String product = List.of("a", "b", "c", "zz").get(rnd.nextInt(4));
                issued.add(fresh);
                issuedProduct.add(product);
                issuedSession.add(session);
                byte[] secret = srnd.nextBoolean() ? secret(srnd) : null;
                issuedSecret.add(secret);
                int enforcement = product.equals("c") ? 2 : rnd.nextInt(20) == 0 ? 2 : 1;
                CheckoutCommand c = new CheckoutCommand(client, i, product, rnd.nextInt(10) == 0 ? "e-b2" : "",
                        1 + rnd.nextInt(product.equals("c") ? 1 : 3), enforcement, rnd.nextBoolean(),
                        rnd.nextInt(500), null, fresh, at, null, secret == null ? null : SecretHash.of(secret));
                out.add(new Command(at, l -> l.checkout(c)));
            } else if (dice < 40 && !issued.isEmpty()) {
                // a reclaim of a recent lease, mostly from the issuer's machine (session +-4 has its hw_id)
                int k = Math.max(0, issued.size() - 1 - rnd.nextInt(Math.min(10, issued.size())));
                long issuer = issuedSession.get(k);
                long from = rnd.nextInt(4) == 0 ? session : issuer > 4 ? issuer - 4 : issuer + 4;
                ClientRef reclaimer = new ClientRef(from, "c" + (from % 5), "hw" + (from % 4), "10.0.0.2:" + from);
                String product = rnd.nextInt(6) == 0 ? "a" : issuedProduct.get(k);
                // mostly the lease's own secret, sometimes a wrong one or none
                int proof = srnd.nextInt(6);
                byte[] presented = proof < 4 ? issuedSecret.get(k) : proof == 4 ? secret(srnd) : null;
                byte[] drawn = srnd.nextBoolean() ? secret(srnd) : null;
                CheckoutCommand c = new CheckoutCommand(reclaimer, i, product, "", 1,
                        product.equals("c") ? 2 : 1, false, 0, issued.get(k), new UUID(43, i), at,
                        presented == null ? null : SecretHash.of(presented), drawn == null ? null : SecretHash.of(drawn));
                out.add(new Command(at, l -> l.checkout(c)));
            } else if (dice < 55) {
                out.add(new Command(at, l -> l.checkin(client, known, at)));
            } else if (dice < 75) {
                List<UUID> ids = List.of(known, issued.isEmpty() ? known : issued.get(issued.size() - 1));
                out.add(new Command(at, l -> l.heartbeat(client, ids, at)));
            } else if (dice < 82) {
                out.add(new Command(at, l -> {
                    l.sessionLost(session, at);
                    return null;
                }));
            } else if (dice < 85) {
                out.add(new Command(at, l -> l.releaseAllOf(client, at)));
            } else if (dice < 87) {
                out.add(new Command(at, l -> l.forceRelease(known, at)));
            } else if (dice < 89) {
                int max = rnd.nextInt(7);
                out.add(new Command(at, l -> {
                    l.upsertEntitlement(new Entitlement("e-a", "acme", "a", Enforcement.SEATS, max, null, null), at);
                    return null;
                }));
            } else if (dice < 90) {
                out.add(new Command(at, l -> {
                    l.removeEntitlement("e-b1", at);
                    return null;
                }));
            } else {
                out.add(new Command(at, l -> {
                    l.tick(at);
                    return null;
                }));
            }
        }
        return out;
    }

    private static byte[] secret(SplittableRandom rnd) {
        byte[] b = new byte[32];
        rnd.nextBytes(b);
        b[0] |= 1; // never all zero
        return b;
    }

    private record Run(List<Object> answers, List<LedgerFixture.Recorder.Call> calls, List<LedgerEvent> journal,
                       LedgerSnapshot end) {
    }

    private static Run run(List<Command> commands, boolean tickBeforeEveryCommand) {
        LedgerFixture.Recorder rec = new LedgerFixture.Recorder();
        SeatLedger ledger = new SeatLedger(new LedgerSettings(1_000, 300, 3, 2, 200, 400, 2_000, 50,
                LegacyReclaim.ORPHANED), rec);
        List<Object> answers = new ArrayList<>();
        for (Command c : commands) {
            if (tickBeforeEveryCommand) {
                ledger.tick(c.atMs());
            }
            answers.add(c.apply().apply(ledger));
        }
        return new Run(answers, rec.calls, rec.journal, ledger.snapshot());
    }

    @Test
    void the_same_commands_applied_to_two_ledgers_give_identical_answers_events_journal_and_state() {
        List<Command> commands = commands(20261123L, 3_000);
        Run first = run(commands, false);
        Run second = run(commands, false);
        assertEquals(first.answers(), second.answers());
        assertEquals(first.calls(), second.calls());
        assertEquals(first.journal(), second.journal());
        assertEquals(first.end(), second.end());
        // the run exercised the interesting paths
        assertTrue(first.journal().stream().anyMatch(e -> e.kind() == LedgerEvent.Kind.EXPIRY));
        assertTrue(first.journal().stream().anyMatch(e -> e.kind() == LedgerEvent.Kind.RECLAIM));
        assertTrue(first.journal().stream().anyMatch(e -> e.kind() == LedgerEvent.Kind.QUEUE));
        assertTrue(first.calls().stream().anyMatch(c -> c.what().equals("granted")));
    }

    @Test
    void how_often_tick_runs_does_not_change_any_answer_event_or_state() {
        List<Command> commands = commands(7L, 3_000);
        Run lazy = run(commands, false);
        Run eager = run(commands, true);
        assertEquals(lazy.answers(), eager.answers());
        assertEquals(lazy.calls(), eager.calls());
        assertEquals(lazy.journal(), eager.journal());
        assertEquals(lazy.end(), eager.end());
    }
}
