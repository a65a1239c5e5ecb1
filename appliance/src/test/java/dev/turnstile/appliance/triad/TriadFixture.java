package dev.turnstile.appliance.triad;

import dev.turnstile.appliance.seat.ConcurrentLedger;
import dev.turnstile.appliance.seat.Entitlement;
import dev.turnstile.appliance.seat.LedgerListener;
import dev.turnstile.appliance.seat.LedgerSettings;
import dev.turnstile.protocol.Enforcement;
import dev.turnstile.testsupport.Wait;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

/** Three triad members in this JVM, JGroups on loopback, ports chosen at run time. */
final class TriadFixture implements AutoCloseable {
    static final long LEASE_TIMEOUT_MS = 60_000;
    static final long RECLAIM_GRACE_MS = 30_000;

    final List<TriadConfig.Member> members = new ArrayList<>();
    final ConcurrentLedger[] ledgers = new ConcurrentLedger[3];
    final TriadNode[] nodes = new TriadNode[3];
    final Path dir;
    /** The quorum-loss rule every member started from now on gets. */
    TriadConfig.QuorumLoss quorumLoss = TriadConfig.QuorumLoss.REVOKE;
    /** The clock every member started from now on gets (a test may move it to simulate a pause). */
    java.util.function.LongSupplier clock = System::currentTimeMillis;
    /** The lease timeout and reclaim grace every member started from now on gets. */
    long leaseTimeoutMs = LEASE_TIMEOUT_MS;
    long reclaimGraceMs = RECLAIM_GRACE_MS;

    TriadFixture(Path dir) throws IOException {
        this.dir = dir;
        String[] ids = {"a", "b", "c"};
        for (int i = 0; i < 3; i++) {
            // raft port 0, found through discovery_dir; the client addresses are names only (no listener here)
            members.add(new TriadConfig.Member(ids[i], "127.0.0.1", 0, "127.0.0.1:" + (17000 + i)));
        }
    }

    static Entitlement entitlement(int maxSeats) {
        return new Entitlement("ent-cad", "acme", "cad-pro", Enforcement.SEATS, maxSeats,
                Instant.parse("2026-01-01T00:00:00Z"), Instant.parse("2030-01-01T00:00:00Z"));
    }

    TriadConfig config(int i) {
        return new TriadConfig(true, members.get(i).id(), members, dir.resolve(members.get(i).id()).toString(),
                TriadConfig.DEFAULT_COMMIT_TIMEOUT_MS, TriadConfig.DEFAULT_FAILURE_TIMEOUT_MS,
                TriadConfig.DEFAULT_FAILURE_INTERVAL_MS, TriadConfig.DEFAULT_VERIFY_SUSPECT_MS, 64 * 1024, true, quorumLoss,
                dir.resolve("discovery").toString());
    }

    TriadNode start(int i, int maxSeats) throws Exception {
        ledgers[i] = new ConcurrentLedger(LedgerSettings.defaults()
                .withLeaseTimeoutMs(TriadNode.REPLICATED_LEASE_TIMEOUT_MS).withReclaimGraceMs(reclaimGraceMs),
                LedgerListener.NONE);
        ledgers[i].upsertEntitlement(entitlement(maxSeats), System.currentTimeMillis());
        nodes[i] = new TriadNode(config(i), ledgers[i], clock, leaseTimeoutMs, reclaimGraceMs);
        nodes[i].liveSessions(id -> true);
        return nodes[i].start();
    }

    void startAll(int maxSeats) throws Exception {
        for (int i = 0; i < 3; i++) {
            start(i, maxSeats);
        }
    }

    /** The index of the member that is leader with a quorum, waiting up to {@code ms}; -1 if none. */
    int awaitLeader(long ms) {
        try {
            return Wait.forValue("a leader with quorum", java.time.Duration.ofMillis(ms), () -> {
                for (int i = 0; i < 3; i++) {
                    if (nodes[i] != null && nodes[i].isLeader() && nodes[i].quorumVisible()) {
                        return i;
                    }
                }
                return -1;
            }, i -> i >= 0);
        } catch (AssertionError none) {
            return -1; // the callers say what they expected
        }
    }

    /** Whether {@code cond} holds within {@code ms} (bounded polling, {@link Wait}); false if it never did. */
    static boolean await(BooleanSupplier cond, long ms) {
        try {
            Wait.until("a triad condition", ms, cond);
            return true;
        } catch (AssertionError never) {
            return false;
        }
    }

    int indexOf(TriadNode n) {
        for (int i = 0; i < 3; i++) {
            if (nodes[i] == n) {
                return i;
            }
        }
        return -1;
    }

    void kill(int i) {
        if (nodes[i] != null) {
            nodes[i].close();
            nodes[i] = null;
        }
    }

    @Override
    public void close() {
        for (int i = 0; i < 3; i++) {
            kill(i);
        }
    }
}
