package dev.turnstile.appliance.triad;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.seat.CheckoutCommand;
import dev.turnstile.appliance.seat.CheckoutOutcome;
import dev.turnstile.appliance.seat.ClientRef;
import dev.turnstile.appliance.seat.SecretHash;
import dev.turnstile.protocol.Secrets;
import dev.turnstile.appliance.seat.LeaseState;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.testsupport.Wait;
import java.nio.file.Path;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Tag("slow") // triads with elections and failovers
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TriadReplicationTest {
    @TempDir
    Path dir;
    TriadFixture triad;

    @AfterEach
    void stop() {
        if (triad != null) {
            triad.close();
        }
    }

    static CheckoutCommand checkout(TriadNode on, String client, UUID reclaim) {
        ClientRef ref = new ClientRef(on.sessionIdBase() + 1, client, "hw-" + client, "127.0.0.1:1");
        return new CheckoutCommand(ref, 1, "cad-pro", "", 1, 1, false, 0, reclaim, UUID.randomUUID(),
                System.currentTimeMillis());
    }

    /** A protocol 1.1 checkout: RECLAIM presenting {@code presented}, and the session's fresh secret {@code drawn}. */
    static CheckoutCommand checkout(TriadNode on, String client, UUID reclaim, byte[] presented, byte[] drawn) {
        ClientRef ref = new ClientRef(on.sessionIdBase() + 1, client, "hw-" + client, "127.0.0.1:1");
        return new CheckoutCommand(ref, 1, "cad-pro", "", 1, 1, false, 0, reclaim, UUID.randomUUID(),
                System.currentTimeMillis(), presented == null ? null : SecretHash.of(presented),
                drawn == null ? null : SecretHash.of(drawn));
    }

    static Throwable failure(java.util.concurrent.CompletableFuture<?> f) throws Exception {
        try {
            f.get(10, TimeUnit.SECONDS);
            return null;
        } catch (ExecutionException e) {
            return e.getCause();
        }
    }

    @Test
    @DisplayName("GIVEN three members WHEN the leader grants a checkout THEN it is stamped with term and index and every follower holds the lease")
    void checkout_on_the_leader_is_replicated_to_the_followers() throws Exception {
        triad = new TriadFixture(dir);
        triad.startAll(3);
        int leader = triad.awaitLeader(15_000);
        assertTrue(leader >= 0, "a leader is elected");

        LedgerStateMachine.Applied a = triad.nodes[leader].checkout(checkout(triad.nodes[leader], "c1", null))
                .get(10, TimeUnit.SECONDS);

        CheckoutOutcome.Granted g = assertInstanceOf(CheckoutOutcome.Granted.class, a.value());
        assertTrue(a.term() > 0 && a.index() > 0, "grant stamped with term " + a.term() + " index " + a.index());
        for (int i = 0; i < 3; i++) {
            int m = i;
            assertTrue(TriadFixture.await(() -> triad.ledgers[m].lease(g.lease().leaseId()).isPresent(), 10_000),
                    "member " + m + " holds the lease");
        }
    }

    @Test
    @DisplayName("GIVEN a follower WHEN it is asked for a checkout THEN it answers notMaster naming the leader")
    void a_follower_answers_not_master_with_the_leader_address() throws Exception {
        triad = new TriadFixture(dir);
        triad.startAll(3);
        int leader = triad.awaitLeader(15_000);
        int follower = (leader + 1) % 3;
        assertTrue(TriadFixture.await(() -> !triad.nodes[follower].leaderId().isEmpty(), 10_000));

        TriadRefusal r = TriadRefusal.of(failure(triad.nodes[follower].checkout(checkout(triad.nodes[follower], "c1", null))));

        assertNotNull(r);
        assertEquals(ErrorCode.NOT_MASTER, r.code());
        assertEquals(triad.members.get(leader).client(), r.leader());
    }

    @Test
    @DisplayName("GIVEN a lease granted by the leader with a reclaim secret WHEN the leader dies THEN a new leader grants "
            + "within seconds, refuses a reclaim without the secret, and the client reclaims the same lease id with it")
    void after_the_leader_dies_a_new_one_grants_and_the_lease_is_reclaimed_with_its_id_and_secret() throws Exception {
        triad = new TriadFixture(dir);
        triad.startAll(3);
        int leader = triad.awaitLeader(15_000);
        byte[] secret = Secrets.fresh(); // protocol 1.1: the secret is replicated as its hash (issue 12)
        LedgerStateMachine.Applied a = triad.nodes[leader].checkout(checkout(triad.nodes[leader], "c1", null, null,
                        secret)).get(10, TimeUnit.SECONDS);
        UUID id = ((CheckoutOutcome.Granted) a.value()).lease().leaseId();
        for (int i = 0; i < 3; i++) {
            int m = i;
            TriadFixture.await(() -> triad.ledgers[m].lease(id).isPresent(), 10_000);
        }

        long killedAt = System.nanoTime();
        triad.kill(leader);
        int next = Wait.forValue("a new leader grants", java.time.Duration.ofSeconds(30), () -> {
            for (int i = 0; i < 3; i++) {
                if (triad.nodes[i] != null && failure(triad.nodes[i].checkout(checkout(triad.nodes[i], "probe", null))) == null) {
                    return i;
                }
            }
            return -1;
        }, i -> i >= 0);
        long firstGrantMs = (System.nanoTime() - killedAt) / 1_000_000;
        System.out.printf("triad figure: leader killed -> first grant on the new leader after %d ms%n", firstGrantMs);

        TriadNode nl = triad.nodes[next];
        assertTrue(TriadFixture.await(() -> triad.ledgers[triad.indexOf(nl)].lease(id)
                .map(l -> l.state() == LeaseState.ORPHANED).orElse(false), 10_000), "the old leader's lease waits for its client");
        CheckoutOutcome.Denied d = assertInstanceOf(CheckoutOutcome.Denied.class,
                nl.checkout(checkout(nl, "c1", id, Secrets.fresh(), Secrets.fresh())).get(10, TimeUnit.SECONDS).value());
        assertEquals(ErrorCode.RECLAIM_SECRET_MISMATCH, d.code(), "identifiers and a wrong secret do not take it");
        assertEquals(ErrorCode.RECLAIM_SECRET_MISMATCH, assertInstanceOf(CheckoutOutcome.Denied.class,
                nl.checkout(checkout(nl, "c1", id)).get(10, TimeUnit.SECONDS).value()).code(), "nor a 1.0 reclaim");
        LedgerStateMachine.Applied r = nl.checkout(checkout(nl, "c1", id, secret, Secrets.fresh())).get(10, TimeUnit.SECONDS);
        CheckoutOutcome.Granted g = assertInstanceOf(CheckoutOutcome.Granted.class, r.value());
        assertTrue(g.reclaimed());
        assertTrue(SecretHash.of(secret).matches(g.lease().secretHash()), "the lease keeps its secret");
        assertEquals(id, g.lease().leaseId());
        assertTrue(r.term() > a.term(), "the reclaim is stamped with the new term");
    }

    @Test
    @DisplayName("GIVEN two members gone WHEN the lone member is asked for a checkout THEN it grants nothing and says noQuorum")
    void a_lone_member_grants_nothing() throws Exception {
        triad = new TriadFixture(dir);
        triad.startAll(3);
        int leader = triad.awaitLeader(15_000);
        int lone = (leader + 1) % 3;
        triad.kill(leader);
        triad.kill((leader + 2) % 3);
        assertTrue(TriadFixture.await(() -> !triad.nodes[lone].quorumVisible(), 10_000));

        TriadRefusal r = TriadRefusal.of(failure(triad.nodes[lone].checkout(checkout(triad.nodes[lone], "c1", null))));

        assertNotNull(r);
        assertEquals(ErrorCode.NO_QUORUM, r.code());
        assertTrue(triad.ledgers[lone].leases().isEmpty());
    }

    @Test
    @DisplayName("GIVEN a checkout waiting on the leader WHEN its session has no socket on the leader (it was on the old leader) THEN the leader drops the waiter, so no seat is granted to nobody")
    void the_leader_drops_waiters_of_sessions_it_has_no_socket_for() throws Exception {
        triad = new TriadFixture(dir);
        triad.startAll(1);
        int leader = triad.awaitLeader(15_000);
        TriadNode l = triad.nodes[leader];
        l.checkout(checkout(l, "holder", null)).get(10, TimeUnit.SECONDS);
        long waiterSession = l.sessionIdBase() + 99;
        UUID waiterLease = UUID.randomUUID();
        LedgerStateMachine.Applied q = l.checkout(new CheckoutCommand(new ClientRef(waiterSession, "w", "hw-w", "127.0.0.1:2"),
                1, "cad-pro", "", 1, 1, true, 60_000, null, waiterLease, System.currentTimeMillis())).get(10, TimeUnit.SECONDS);
        assertInstanceOf(CheckoutOutcome.Queued.class, q.value());
        assertEquals(1, triad.ledgers[leader].waiterCount());

        l.liveSessions(id -> id != waiterSession);

        assertTrue(TriadFixture.await(() -> triad.ledgers[leader].waiterCount() == 0, 10_000), "the waiter is dropped");
        for (int i = 0; i < 3; i++) {
            int m = i;
            assertTrue(TriadFixture.await(() -> triad.ledgers[m].waiterCount() == 0, 10_000), "on every member");
        }
        assertTrue(triad.ledgers[leader].lease(waiterLease).isEmpty());
    }

    @Test
    @DisplayName("GIVEN a leader whose proposals are not committed in time although a majority is in its view WHEN it "
            + "keeps happening for five commit timeouts THEN the member reports itself stuck once (the process would exit for systemd to "
            + "restart it) and says so in its status")
    void a_leader_that_cannot_commit_with_a_majority_in_view_reports_itself_stuck() throws Exception {
        triad = new TriadFixture(dir);
        triad.startAll(3);
        int leader = triad.awaitLeader(15_000);
        TriadNode healthy = triad.nodes[leader];
        java.util.List<String> reports = new java.util.concurrent.CopyOnWriteArrayList<>();
        healthy.onStuck(reports::add);
        healthy.commitTimeoutForTests(200);
        // the leader's own apply waits (its ledger is locked for 3 s): its proposals do not complete in time, while
        // the view keeps all three members
        java.util.concurrent.CountDownLatch locked = new java.util.concurrent.CountDownLatch(1);
        Thread holder = new Thread(() -> triad.ledgers[leader].locked(l -> {
            locked.countDown();
            try {
                Thread.sleep(3_000); // the behaviour under test: the leader's ledger stays locked for 3 s
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return null;
        }));
        holder.start();
        assertTrue(locked.await(5, TimeUnit.SECONDS));
        // 200 ms commit timeout: stuck once proposals keep timing out for 5 x 200 ms (a short timeout does not count)
        for (int i = 0; i < 12 && reports.isEmpty(); i++) {
            assertEquals(dev.turnstile.protocol.ErrorCode.NO_QUORUM,
                    TriadRefusal.of(failure(healthy.checkout(checkout(healthy, "c" + i, null)))).code());
        }
        holder.join(10_000);
        assertTrue(TriadFixture.await(() -> reports.size() == 1, 5_000), "reported once: " + reports);
        assertTrue(reports.get(0).contains("although a majority is in view"), reports.get(0));
        assertEquals(1L, healthy.statusJson().getLong("stuck"));
    }
}
