package dev.turnstile.appliance.seat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.protocol.Enforcement;
import dev.turnstile.protocol.ErrorCode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Many threads drive one {@link ConcurrentLedger} with random commands against small pools and check
 * the seat invariants after every command. This test fails when the facade lets two commands
 * interleave inside the ledger (try it: drop the lock), or when the ledger miscounts.
 */
class ConcurrentLedgerStressTest {

    private static final int THREADS = 4;
    private static final int OPS_PER_THREAD = 20_000;
    private static final long TIME_BUDGET_NANOS = 4_000_000_000L;
    private static final long T0 = LedgerFixture.T0;

    private static final Map<String, Integer> MAX = Map.of("ent-p", 5, "ent-q-a", 2, "ent-q-b", 3);

    private final ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
    /** Every lease id ever granted fresh (CHECKOUT journal events), to catch an id granted twice. */
    private final Set<UUID> everGranted = ConcurrentHashMap.newKeySet();
    /** Lease ids granted to a waiter, by session, so the waiting thread learns about them. */
    private final ConcurrentHashMap<Long, ConcurrentLinkedQueue<UUID>> grantedToWaiters = new ConcurrentHashMap<>();
    private final AtomicLong clock = new AtomicLong(T0);
    private final AtomicLong sessionIds = new AtomicLong(100);
    private final AtomicLong leaseSeq = new AtomicLong();
    private final AtomicLong operations = new AtomicLong();

    private final LedgerListener checker = new LedgerListener() {
        @Override
        public void queuedGranted(long sessionId, int requestId, LeaseView lease) {
            grantedToWaiters.computeIfAbsent(sessionId, k -> new ConcurrentLinkedQueue<>()).add(lease.leaseId());
        }

        @Override
        public void queuedDenied(long sessionId, int requestId, ErrorCode code, String message) {
        }

        @Override
        public void leaseEnded(long sessionId, LeaseView lease, ErrorCode reason) {
        }

        @Override
        public void journal(LedgerEvent e) {
            Integer max = MAX.get(e.entitlementId());
            if (max != null && e.poolUsed() > max) {
                violations.add("journal shows " + e.poolUsed() + " seats used of " + max + ": " + e);
            }
            if (e.kind() == LedgerEvent.Kind.CHECKOUT && !everGranted.add(e.leaseId())) {
                violations.add("lease id granted twice: " + e.leaseId());
            }
        }
    };

    @Test
    void many_threads_with_random_commands_never_grant_more_than_max_seats_and_keep_use_equal_to_the_live_leases()
            throws Exception {
        // GIVEN small pools: one product with one entitlement, one product with two
        ConcurrentLedger ledger = new ConcurrentLedger(
                new LedgerSettings(50, 20, 3, 4, 30, 100, 1_000, 100), checker);
        ledger.upsertEntitlement(new Entitlement("ent-p", "acme", "p", Enforcement.SEATS, 5, null, null), T0);
        ledger.upsertEntitlement(new Entitlement("ent-q-a", "acme", "q", Enforcement.SEATS, 2, null, null), T0);
        ledger.upsertEntitlement(new Entitlement("ent-q-b", "acme", "q", Enforcement.SEATS, 3, null, null), T0);

        // WHEN several threads run random commands, each bounded in count and time
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            final int index = t;
            Thread thread = new Thread(() -> {
                try {
                    runClient(ledger, index, new SplittableRandom(1_000 + index));
                } catch (Throwable e) {
                    violations.add("thread " + index + " failed: " + e);
                }
            }, "stress-" + t);
            threads.add(thread);
            thread.start();
        }
        for (Thread thread : threads) {
            thread.join(30_000);
            assertTrue(!thread.isAlive(), thread.getName() + " did not finish");
        }

        // THEN no check failed during the run
        assertTrue(violations.isEmpty(), () -> violations.size() + " violations, first: " + violations.peek());
        // AND after every remaining deadline has passed, everything is back
        ledger.tick(clock.get() + 10_000);
        LedgerSnapshot end = ledger.snapshot();
        check(end, "end");
        assertTrue(violations.isEmpty(), () -> violations.peek());
        assertEquals(0, end.leases().size());
        assertEquals(0, end.waiters());
        for (PoolView p : end.pools()) {
            assertEquals(0, p.used(), p.entitlementId());
        }
        System.out.printf("%,d commands on %d threads, %,d fresh grants, all invariants held%n", operations.get(),
                THREADS, everGranted.size());
        assertTrue(operations.get() > 0);
        assertTrue(everGranted.size() > 0, "the run granted nothing: the test would prove nothing");
    }

    private void runClient(ConcurrentLedger ledger, int index, SplittableRandom rnd) {
        String clientId = "client-" + index;
        String hwId = "hw-" + index;
        ClientRef me = new ClientRef(sessionIds.incrementAndGet(), clientId, hwId, "127.0.0.1:" + index);
        List<UUID> mine = new ArrayList<>();
        long deadline = System.nanoTime() + TIME_BUDGET_NANOS;
        for (int op = 0; op < OPS_PER_THREAD && System.nanoTime() < deadline; op++) {
            ConcurrentLinkedQueue<UUID> late = grantedToWaiters.remove(me.sessionId());
            if (late != null) {
                mine.addAll(late);
            }
            long now = clock.addAndGet(rnd.nextInt(3));
            int dice = rnd.nextInt(100);
            if (dice < 35) {
                String product = rnd.nextBoolean() ? "p" : "q";
                String key = product.equals("q") && rnd.nextInt(4) == 0 ? "ent-q-b" : "";
                UUID id = new UUID(index, leaseSeq.incrementAndGet());
                CheckoutOutcome o = ledger.checkout(new CheckoutCommand(me, op + 1, product, key,
                        1 + rnd.nextInt(3), Enforcement.SEATS.code(), rnd.nextInt(3) == 0, rnd.nextInt(60), null, id,
                        now));
                if (o instanceof CheckoutOutcome.Granted) {
                    mine.add(((CheckoutOutcome.Granted) o).lease().leaseId());
                }
            } else if (dice < 55 && !mine.isEmpty()) {
                ledger.checkin(me, mine.remove(rnd.nextInt(mine.size())), now);
            } else if (dice < 75) {
                List<UUID> some = new ArrayList<>(mine);
                some.add(new UUID(99, rnd.nextInt(1000)));
                if (ledger.heartbeat(me, some, now).size() != some.size()) {
                    violations.add("heartbeat answered a different number of ids");
                }
            } else if (dice < 80) {
                ledger.sessionLost(me.sessionId(), now);
                me = new ClientRef(sessionIds.incrementAndGet(), clientId, hwId, "127.0.0.1:" + index);
            } else if (dice < 88 && !mine.isEmpty()) {
                UUID id = mine.get(rnd.nextInt(mine.size()));
                ledger.checkout(new CheckoutCommand(me, op + 1, rnd.nextInt(5) == 0 ? "q" : "p", "", 1,
                        Enforcement.SEATS.code(), false, 0, id, new UUID(index, leaseSeq.incrementAndGet()), now));
            } else if (dice < 92) {
                ledger.tick(now);
            } else if (dice < 94) {
                ledger.releaseAllOf(me, now);
                mine.clear();
            } else if (dice < 96 && !mine.isEmpty()) {
                ledger.forceRelease(mine.remove(rnd.nextInt(mine.size())), now);
            } else if (dice < 97) {
                // an admin resizes a pool of q and back: shrinking must never grant past the new max
                ledger.upsertEntitlement(new Entitlement("ent-q-b", "acme", "q", Enforcement.SEATS,
                        rnd.nextBoolean() ? 1 : 3, null, null), now);
                ledger.upsertEntitlement(new Entitlement("ent-q-b", "acme", "q", Enforcement.SEATS, 3, null, null),
                        now);
            } else {
                ledger.heartbeat(me, List.of(), now);
            }
            operations.incrementAndGet();
            check(ledger.snapshot(), "after op " + op + " of thread " + index);
            if (mine.size() > 50) {
                mine.subList(0, 25).clear();
            }
        }
    }

    private void check(LedgerSnapshot s, String when) {
        Map<String, Long> sum = new HashMap<>();
        Set<UUID> ids = new HashSet<>();
        for (LeaseView l : s.leases()) {
            sum.merge(l.entitlementId(), l.quantity(), Long::sum);
            if (!ids.add(l.leaseId())) {
                violations.add(when + ": lease listed twice " + l.leaseId());
            }
        }
        for (PoolView p : s.pools()) {
            if (p.used() > MAX.get(p.entitlementId())) {
                violations.add(when + ": " + p.entitlementId() + " uses " + p.used() + " of " + p.maxSeats());
            }
            long live = sum.getOrDefault(p.entitlementId(), 0L);
            if (live != p.used()) {
                violations.add(when + ": " + p.entitlementId() + " counts " + p.used() + " but leases hold " + live);
            }
            if (p.used() < 0 || p.waiting() < 0) {
                violations.add(when + ": negative " + p);
            }
        }
    }
}
