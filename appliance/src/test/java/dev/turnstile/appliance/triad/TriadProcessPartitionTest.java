package dev.turnstile.appliance.triad;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.testing.RawClient;
import dev.turnstile.client.Lease;
import dev.turnstile.client.TurnstileClient;
import dev.turnstile.client.TurnstileException;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Envelope;
import dev.turnstile.protocol.Message;
import dev.turnstile.testsupport.Wait;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A partition between appliance PROCESSES: three members started by {@link TriadProcessCluster#startBehindProxy}
 * (each on its own loopback address 127.0.0.2/.3/.4), their JGroups traffic (TCP and FD_SOCK2) through a
 * {@link DroppingTcpProxy} in this JVM. Clients and the HTTP status probes reach the members directly: only the
 * triad's own traffic is cut. The leader is cut off with {@link DroppingTcpProxy.Mode#DROP} (a pulled cable),
 * then the cut is healed. Figures are printed ({@code process partition figure: ...}), never asserted. Timings:
 * {@link TriadAppliancesTest#baseConfig} (lease timeout 10 s &gt; failure detection 4.5 s + election + the SDK's
 * failover and reclaim + a heartbeat interval), so the SDK's local expiry never ends the lease in this failover.
 */
@Tag("slow") // three appliance processes behind a partitioning proxy
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class TriadProcessPartitionTest {
    @TempDir
    Path dir;
    final DroppingTcpProxy net = new DroppingTcpProxy();
    TriadProcessCluster cluster;
    final List<TurnstileClient> clients = new ArrayList<>();

    @AfterEach
    void tearDown() {
        for (TurnstileClient c : clients) {
            c.close();
        }
        net.heal();
        if (cluster != null) {
            cluster.close();
        }
        net.close();
    }

    TurnstileClient client(String id, TriadAppliancesTest.Events events, List<String> servers) {
        TurnstileClient c = TurnstileClient.builder().servers(servers).clientId(id).hwId("hw-" + id)
                .clientVersion("1.0.0").connectTimeout(Duration.ofSeconds(1)).requestTimeout(Duration.ofSeconds(4))
                .backoff(Duration.ofMillis(50), Duration.ofMillis(300), 0.2).listener(events).build();
        clients.add(c);
        return c;
    }

    /** The member other than {@code not} that says (HTTP status) it leads with a quorum, or -1. */
    int leaderOtherThan(int not) {
        for (int i = 0; i < 3; i++) {
            JsonObject t = i == not ? null : cluster.triad(i);
            if (t != null && "leader".equals(t.getString("role")) && Boolean.TRUE.equals(t.getBoolean("quorum"))) {
                return i;
            }
        }
        return -1;
    }

    /** Member {@code m} follows member {@code leader} with a quorum (HTTP status). */
    boolean follows(int m, int leader) {
        JsonObject t = cluster.triad(m);
        return leader >= 0 && t != null && "follower".equals(t.getString("role"))
                && TriadProcessCluster.IDS[leader].equals(t.getString("leader"))
                && Boolean.TRUE.equals(t.getBoolean("quorum"));
    }

    /** A fresh raw session (preamble + HELLO) straight to member i's client port, and one CHECKOUT on it. */
    int rawCheckoutOn(int i, String id) {
        try (RawClient r = new RawClient(cluster.hosts[i], cluster.clientPorts[i])) {
            r.preamble();
            Envelope w = r.request(new Message.Hello(id, "hw-" + id, "1.0.0", ""));
            if (!(w.message() instanceof Message.Welcome)) {
                return w.message() instanceof Message.Error e ? e.code() : -2;
            }
            return TriadPartitionTest.rawCheckout(r);
        } catch (Exception closed) {
            return -1;
        }
    }

    /** Polls {@code cond} (at most {@code ms}, {@link Wait}); returns the milliseconds it took, or -1 if never. */
    static long poll(long ms, BooleanSupplier cond) {
        try {
            return Wait.until("a condition of the partition test", ms, cond);
        } catch (AssertionError never) {
            return -1; // the callers say what they expected
        }
    }

    static long since(long nanos) {
        return (System.nanoTime() - nanos) / 1_000_000;
    }

    static void figure(String what, long ms) {
        System.out.printf("process partition figure: %s: %d ms (nproc=%d)%n", what, ms,
                Runtime.getRuntime().availableProcessors());
    }

    @Test
    @DisplayName("GIVEN three appliance processes whose triad traffic runs through a proxy and an SDK client holding a lease WHEN the leader is cut off (DROP) THEN the other two elect a leader, the client reclaims its lease there with the same id, the old leader never grants, and after the heal the old leader follows the new one with a quorum (restarted by the fixture if it left as stuck, status 75)")
    void a_leader_process_cut_off_by_the_proxy_is_replaced_never_grants_and_follows_after_the_heal()
            throws Exception {
        Assumptions.assumeTrue(TriadProcessCluster.canBindProxied(), "needs 127.0.0.2-4 bindable");
        cluster = TriadProcessCluster.startBehindProxy(dir, TriadAppliancesTest.SEATS, net);
        int old = cluster.awaitLeader(60_000);
        assertTrue(old >= 0, "a leader with a quorum");
        TriadAppliancesTest.Events events = new TriadAppliancesTest.Events();
        TurnstileClient client = client("pp1", events, cluster.clientAddresses());
        Lease held = Wait.firstSuccess("a grant from the triad", java.time.Duration.ofSeconds(60),
                TurnstileException.class, () -> client.checkout("cad-pro"));
        assertTrue(held != null, "a grant from the triad");
        UUID id = held.id();
        assertEquals(old, cluster.indexOf(client.session().orElseThrow().server()), "the client's session is on the leader");
        long target = cluster.appliedIndex(old);
        assertTrue(poll(20_000, () -> cluster.appliedIndex(0) >= target && cluster.appliedIndex(1) >= target
                && cluster.appliedIndex(2) >= target) >= 0, "every member applied the grant");

        long cutAt = System.nanoTime();
        net.cut(TriadProcessCluster.IDS[old], DroppingTcpProxy.Mode.DROP);
        long elected = poll(30_000, () -> leaderOtherThan(old) >= 0);
        assertTrue(elected >= 0, "the other two elect a leader within 30 s");
        int next = leaderOtherThan(old);
        figure("leader " + TriadProcessCluster.IDS[old] + " cut (DROP) -> new leader "
                + TriadProcessCluster.IDS[next] + " with quorum", elected);
        assertTrue(poll(30_000, () -> events.moved.contains(id)) >= 0, "the SDK client reclaims its lease (leaseMoved)");
        long movedMs = since(cutAt);
        figure("leader cut -> SDK lease moved (same id)", movedMs);
        assertTrue(client.leases().stream().anyMatch(l -> l.id().equals(id)), "the client holds the same lease id");
        assertTrue(events.lost.isEmpty(), "no lease lost: " + events.lostWhy);
        int sessionOn = cluster.indexOf(client.session().orElseThrow().server());
        assertTrue(sessionOn != old, "the client's session left the cut-off member");

        // the old leader, cut off, never grants: fresh raw sessions pinned to it get noQuorum / notMaster
        List<Integer> answers = new ArrayList<>();
        for (int n = 0; n < 3; n++) {
            answers.add(rawCheckoutOn(old, "pinned-" + n));
        }
        JsonObject oldTriad = cluster.triad(old);
        System.out.printf("process partition: old leader %s while cut off: role %s, quorum %s, pinned answers %s%n",
                TriadProcessCluster.IDS[old], oldTriad == null ? "?" : oldTriad.getString("role"),
                oldTriad == null ? "?" : oldTriad.getBoolean("quorum"), answers);
        assertFalse(answers.contains(0), "the cut-off old leader never grants: " + answers);
        assertTrue(answers.stream().allMatch(c -> c == ErrorCode.NO_QUORUM.code() || c == ErrorCode.NOT_MASTER.code()
                || c == -1), "noQuorum / notMaster (or a closed session) from the cut-off old leader: " + answers);
        assertTrue(client.checkout("cad-pro") != null, "the majority keeps granting");

        long healAt = System.nanoTime();
        net.heal();
        // either the old leader follows, or it finds itself stuck and leaves with status 75 (TriadNode.reportStuck)
        long settled = poll(40_000, () -> !cluster.alive(old) || follows(old, cluster.leaderIndex()));
        assertTrue(settled >= 0, "within 40 s of the heal the old leader follows or leaves as stuck");
        if (cluster.alive(old)) {
            figure("heal -> old leader follows the new leader with quorum (no restart)", settled);
        } else {
            int exit = cluster.procs[old].exitValue();
            figure("heal -> old leader process exited with status " + exit, settled);
            assertEquals(TriadNode.EXIT_STUCK, exit, "the old leader left as stuck; see " + cluster.logFile(old));
            long restartAt = System.nanoTime();
            cluster.restart(old);
            long follows = poll(60_000, () -> follows(old, cluster.leaderIndex()));
            assertTrue(follows >= 0, "the restarted old leader follows within 60 s; see " + cluster.logFile(old));
            figure("restart -> old leader follows with quorum", since(restartAt));
            figure("heal -> old leader follows with quorum (exit 75 + restart)", since(healAt));
        }
        long caughtUp = poll(30_000, () -> {
            long a = cluster.appliedIndex(0);
            return a >= 0 && a == cluster.appliedIndex(1) && a == cluster.appliedIndex(2);
        });
        assertTrue(caughtUp >= 0, "applied_index equal on every member");
        figure("heal -> applied_index equal on every member", since(healAt));
        assertTrue(client.leases().stream().anyMatch(l -> l.id().equals(id)), "the lease is still held");
        assertTrue(events.lost.isEmpty(), "no lease lost: " + events.lostWhy);
    }
}
