package dev.turnstile.appliance.triad;

import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.testsupport.Wait;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Randomised fault schedules over one long-lived triad of three appliance processes
 * ({@link TriadProcessCluster}), under client load ({@link TriadLoad}: 8 SDK clients, a pool of 7 seats, so
 * there is always contention), each checked by {@link TriadChecker}.
 *
 * <p>One schedule (seeded; the seed picks the fault, the victim and the durations): load for 0.8 s, the fault,
 * the heal (restart / SIGCONT what the fault broke), a bounded wait for a leader with quorum and for every member
 * to catch up (applied_index at least the leader's), a bounded wait until every client has a session, 0.8 s more
 * load, stop (every client checks in, then closes), the checker over that schedule's events.
 *
 * <p>Run: {@code bench/triad-chaos.sh} (200 schedules), or {@code TriadChaosTest} (a handful, in the suite).
 * {@code main} arguments: {@code [schedules] [first-seed]}; exit status 1 when the checker found a violation.
 */
final class TriadChaos {
    /**
     * KILL_TWO keeps the two members down 0.5-2 s (plus their start): quorum is back within the lease timeout and
     * every lease must be kept. KILL_TWO_LONG keeps them down a lease timeout more, so the clients cannot reach a
     * majority for longer than the lease timeout: their leases end (expiredLocally, or licenseCheckoutExpired from
     * the survivor under quorum_loss: revoke), which the checker counts apart, never as a violation.
     */
    enum Fault {
        KILL_LEADER, KILL_FOLLOWER, STOP_LEADER, STOP_FOLLOWER, RESTART_FOLLOWER, KILL_TWO, KILL_TWO_LONG,
        /** The leader's triad traffic cut (DROP or RESET) for 1-3 s (healed before detection) or 6-10 s (past it). */
        CUT_LEADER,
        /** The same for a follower. */
        CUT_FOLLOWER;

        boolean partition() {
            return this == CUT_LEADER || this == CUT_FOLLOWER;
        }
    }

    /** The faults this cluster can inject: partitions only behind the proxy. */
    Fault[] faults() {
        return cluster.net != null ? Fault.values()
                : java.util.Arrays.stream(Fault.values()).filter(f -> !f.partition()).toArray(Fault[]::new);
    }

    static final int CLIENTS = 8;
    static final int SEATS = CLIENTS - 1;
    /*
     * Timings: TriadAppliancesTest.baseConfig (lease timeout 10 s, heartbeat 1 s, the default failure detector 4 s +
     * 0.5 s), chosen so that lease timeout > failure detection + election + the SDK's failover and reclaim + one
     * heartbeat interval: a leader paused 1-4 s, or paused long enough to be replaced, never costs a lease. The
     * reclaim grace outlasts failure detection + lease timeout (14.5 s; TRIAD.md, "Test timings"); since heartbeats
     * are fenced (TRIAD.md, "Fenced heartbeats") a 5 s grace must hold too: -Dtriad.chaos.reclaim.grace.ms=5000
     * (bench/triad-chaos.sh: RECLAIM_GRACE_MS=5000).
     */
    static final long LEASE_TIMEOUT_MS = TriadAppliancesTest.LEASE_TIMEOUT_MS;
    static final long RECLAIM_GRACE_MS = Long.getLong("triad.chaos.reclaim.grace.ms", 20_000);

    /** One schedule's outcome. Times in ms; -1 = not applicable / not seen. */
    record Outcome(int n, long seed, Fault fault, String detail, TriadChecker.Result result, long failoverMs,
                   long leaderBackMs, boolean leaderBack, boolean caughtUp, long grants, long tookMs) {
        String line() {
            return String.format("schedule %d seed=%d fault=%s %s failover_ms=%d leader_back_ms=%d caught_up=%s"
                            + " grants=%d %s took_ms=%d%s", n, seed, fault, detail, failoverMs, leaderBackMs, caughtUp,
                    grants, result, tookMs, leaderBack ? "" : " NO_LEADER");
        }
    }

    final TriadProcessCluster cluster;

    TriadChaos(TriadProcessCluster cluster) {
        this.cluster = cluster;
    }

    /**
     * The chaos triad: behind a {@link DroppingTcpProxy} when 127.0.0.2-4 can be bound (partitions join the mix; the
     * cluster closes the proxy with itself), else on loopback without partitions.
     */
    static TriadProcessCluster startCluster(Path dir) throws Exception {
        java.util.function.Consumer<io.vertx.core.json.JsonObject> grace = cfg -> cfg.getJsonObject("server")
                .put("reclaim_grace", RECLAIM_GRACE_MS + "ms");
        if (!TriadProcessCluster.canBindProxied()) {
            return TriadProcessCluster.start(dir, SEATS, grace);
        }
        DroppingTcpProxy net = new DroppingTcpProxy();
        try {
            return TriadProcessCluster.startBehindProxy(dir, SEATS, grace, net);
        } catch (Exception | Error e) {
            net.close();
            throw e;
        }
    }

    Outcome runSchedule(int n, long seed) throws Exception {
        Random rnd = new Random(seed);
        Fault[] faults = faults();
        Fault f = faults[rnd.nextInt(faults.length)];
        return runSchedule(n, seed, f, rnd);
    }

    Outcome runSchedule(int n, long seed, Fault f) throws Exception {
        Random rnd = new Random(seed);
        rnd.nextInt(faults().length); // the same draws as the seeded choice
        return runSchedule(n, seed, f, rnd);
    }

    private Outcome runSchedule(int n, long seed, Fault f, Random rnd) throws Exception {
        long t0 = System.nanoTime();
        int leader = cluster.awaitLeader(20_000);
        if (leader < 0) {
            heal();
            leader = cluster.awaitLeader(20_000);
        }
        if (leader < 0) {
            throw new IllegalStateException("no leader with quorum before schedule " + n + "; logs in " + cluster.dir);
        }
        // Every schedule starts from a whole triad. Seen once at the start of TriadChaosTest on a loaded machine: a
        // member that started with the others never joined them (applied_index 0 for a minute; it had formed a view
        // of its own). An operator restarts such a member; so does this driver, once, and says so.
        if (!awaitCaughtUp(leader, 20_000)) {
            long target = cluster.appliedIndex(leader);
            for (int i = 0; i < 3; i++) {
                if (i != leader && cluster.appliedIndex(i) < target) {
                    System.out.println("triad chaos: before schedule " + n + ", member " + TriadProcessCluster.IDS[i]
                            + " has not joined the triad (applied_index " + cluster.appliedIndex(i) + " of " + target
                            + "); restarting it");
                    cluster.restart(i);
                }
            }
            leader = cluster.awaitLeader(20_000);
            if (leader < 0 || !awaitCaughtUp(leader, 30_000)) {
                throw new IllegalStateException("the triad is not whole before schedule " + n + "; logs in " + cluster.dir);
            }
        }
        int follower = (leader + 1 + rnd.nextInt(2)) % 3;
        long pauseMs = 1_000 + rnd.nextInt(3_001); // SIGSTOP 1-4 s
        long downMs = 500 + rnd.nextInt(1_501); // killed members stay down 0.5-2 s
        DroppingTcpProxy.Mode cutMode = rnd.nextBoolean() ? DroppingTcpProxy.Mode.DROP : DroppingTcpProxy.Mode.RESET;
        long cutMs = rnd.nextBoolean() ? 1_000 + rnd.nextInt(2_001) : 6_000 + rnd.nextInt(4_001); // healed before / after detection
        TriadChecker checker = new TriadChecker();
        TriadLoad load = new TriadLoad(cluster.clientAddresses(), CLIENTS, "s" + n, checker, seed).start();
        String detail;
        long faultAt;
        long outageEnd = -1; // KILL_TWO: when a leader with quorum was back
        boolean leaderBack;
        boolean caughtUp;
        try {
            // the load runs with the triad whole before the fault: every client connected and some seats granted
            Wait.until("the load runs before the fault", Duration.ofSeconds(30),
                    () -> load.allConnected() && checker.grants.size() >= CLIENTS);
            faultAt = System.nanoTime();
            switch (f) {
                case KILL_LEADER -> {
                    cluster.kill(leader);
                    cluster.awaitLeader(15_000);
                    cluster.restart(leader);
                    detail = "victim=" + TriadProcessCluster.IDS[leader];
                }
                case KILL_FOLLOWER -> {
                    cluster.kill(follower);
                    Thread.sleep(downMs); // the fault itself: the member stays down this long
                    cluster.restart(follower);
                    detail = "victim=" + TriadProcessCluster.IDS[follower] + " down_ms=" + downMs;
                }
                case STOP_LEADER -> {
                    cluster.stop(leader);
                    Thread.sleep(pauseMs); // the fault itself: the leader stays stopped this long
                    cluster.cont(leader);
                    detail = "victim=" + TriadProcessCluster.IDS[leader] + " stopped_ms=" + pauseMs;
                }
                case STOP_FOLLOWER -> {
                    cluster.stop(follower);
                    Thread.sleep(pauseMs); // the fault itself: the follower stays stopped this long
                    cluster.cont(follower);
                    detail = "victim=" + TriadProcessCluster.IDS[follower] + " stopped_ms=" + pauseMs;
                }
                case RESTART_FOLLOWER -> {
                    cluster.restart(follower);
                    detail = "victim=" + TriadProcessCluster.IDS[follower];
                }
                case KILL_TWO, KILL_TWO_LONG -> {
                    cluster.kill(leader);
                    cluster.kill(follower);
                    if (f == Fault.KILL_TWO_LONG) {
                        downMs += LEASE_TIMEOUT_MS;
                    }
                    Thread.sleep(downMs); // the fault itself: two members stay down this long
                    cluster.relaunch(leader);
                    cluster.relaunch(follower);
                    cluster.awaitListening(leader, 60_000);
                    cluster.awaitListening(follower, 60_000);
                    detail = "victims=" + TriadProcessCluster.IDS[leader] + "," + TriadProcessCluster.IDS[follower]
                            + " down_ms=" + downMs;
                }
                case CUT_LEADER, CUT_FOLLOWER -> {
                    int victim = f == Fault.CUT_LEADER ? leader : follower;
                    cluster.net.cut(TriadProcessCluster.IDS[victim], cutMode);
                    Thread.sleep(cutMs); // the fault itself: the member's triad traffic stays cut this long
                    cluster.net.heal();
                    detail = "victim=" + TriadProcessCluster.IDS[victim] + " mode=" + cutMode + " cut_ms=" + cutMs;
                }
                default -> throw new IllegalStateException(f.toString());
            }
            int next = cluster.awaitLeader(20_000);
            if (f.partition()) {
                // a leader cut off past detection may find itself stuck after the heal and exit (status 75), as
                // under systemd's Restart=on-failure: started again here (the tested path), and said
                for (int i = 0; i < 3; i++) {
                    if (!cluster.alive(i)) {
                        detail += " restarted_after_stuck_exit=" + TriadProcessCluster.IDS[i];
                        cluster.restart(i);
                        next = cluster.awaitLeader(20_000);
                    }
                }
            }
            leaderBack = next >= 0;
            boolean killTwo = f == Fault.KILL_TWO || f == Fault.KILL_TWO_LONG;
            if (killTwo) { // the clients could not reach a majority from the kill until a leader with quorum was back
                outageEnd = leaderBack ? System.nanoTime() : -1;
                checker.noMajority(faultAt, leaderBack ? outageEnd : Long.MAX_VALUE, "two of three members killed");
            }
            caughtUp = leaderBack && awaitCaughtUp(next, 20_000);
            if (!caughtUp) {
                detail += " applied=[" + cluster.appliedIndex(0) + "," + cluster.appliedIndex(1) + ","
                        + cluster.appliedIndex(2) + "]";
            }
            detail += " leader_before=" + TriadProcessCluster.IDS[leader] + " leader_after="
                    + (next < 0 ? "none" : TriadProcessCluster.IDS[next]);
            try {
                Wait.until("every load client connected again", Duration.ofSeconds(10), load::allConnected);
            } catch (AssertionError notAll) {
                // the checker judges what the clients saw; a client still away shows in its records
            }
            int grantsAfter = checker.grants.size(); // and the load runs on after the fault for a while
            try {
                Wait.until("the load runs on after the fault", Duration.ofSeconds(10),
                        () -> checker.grants.size() >= grantsAfter + CLIENTS);
            } catch (AssertionError fewer) {
                // as above: no leader, no grants (KILL_TWO without a leader back); the checker says what matters
            }
            load.stop(10_000);
        } finally {
            load.close();
        }
        long outageMs = outageEnd < 0 ? -1 : (outageEnd - faultAt) / 1_000_000;
        final Fault fault = f;
        TriadChecker.Result res = checker.check(SEATS, r -> justify(fault, outageMs, r));
        long failoverMs = -1;
        if (f == Fault.KILL_LEADER || f == Fault.STOP_LEADER || f == Fault.KILL_TWO || f == Fault.KILL_TWO_LONG
                || f == Fault.CUT_LEADER) {
            long g = checker.firstGrantAfter(faultAt, cluster.clientAddress(leader));
            failoverMs = g < 0 ? -1 : (g - faultAt) / 1_000_000;
        }
        return new Outcome(n, seed, f, detail + (outageMs >= 0 ? " no_quorum_ms=" + outageMs : ""), res, failoverMs,
                outageMs, leaderBack, caughtUp, checker.grants.size(), (System.nanoTime() - t0) / 1_000_000);
    }

    /**
     * Why a lease lost with a server's code is acceptable, or null. Only a lost quorum justifies a loss: with two of
     * three members down longer than the lease timeout, the survivor answers heartbeats with licenseCheckoutExpired
     * ({@code quorum_loss: revoke}, the default), and a client that cannot reach a leader within the reclaim
     * grace loses its leases by design. (expiredLocally, the SDK's own decision, is judged by the checker against
     * the periods without a majority the schedule recorded.)
     */
    static String justify(Fault f, long outageMs, TriadChecker.LeaseRecord r) {
        if ((f != Fault.KILL_TWO && f != Fault.KILL_TWO_LONG) || outageMs < 0) {
            return null;
        }
        if (r.lostCode() == ErrorCode.LICENSE_CHECKOUT_EXPIRED && outageMs > LEASE_TIMEOUT_MS) {
            return "quorum lost for " + outageMs + " ms > lease timeout " + LEASE_TIMEOUT_MS + " ms (quorum_loss: revoke)";
        }
        if (r.lostCode() == ErrorCode.LEASE_ID_NOT_FOUND && outageMs > RECLAIM_GRACE_MS) {
            return "quorum lost for " + outageMs + " ms > reclaim grace " + RECLAIM_GRACE_MS + " ms";
        }
        return null;
    }

    /** Every member's applied_index reaches the leader's (read once, at the start), within {@code ms}. */
    boolean awaitCaughtUp(int leader, long ms) {
        long target = cluster.appliedIndex(leader);
        try {
            Wait.until("every member reaches applied_index " + target, ms, () -> {
                boolean all = target >= 0;
                for (int i = 0; i < 3 && all; i++) {
                    all = cluster.appliedIndex(i) >= target;
                }
                return all;
            });
            return true;
        } catch (AssertionError notYet) {
            return false;
        }
    }

    /** Brings every member back (SIGCONT, restart the dead ones). */
    void heal() throws Exception {
        if (cluster.net != null) {
            cluster.net.heal();
        }
        for (int i = 0; i < 3; i++) {
            if (cluster.isStopped(i)) {
                cluster.cont(i);
            }
            if (!cluster.alive(i)) {
                cluster.restart(i);
            }
        }
    }

    static String summary(List<Outcome> outs, long wallMs) {
        StringBuilder sb = new StringBuilder();
        int violations = 0;
        int held = 0;
        int kept = 0;
        int moved = 0;
        int lostJustified = 0;
        int released = 0;
        int lostInFlight = 0;
        int expiredLocally = 0;
        int noLeader = 0;
        int notCaughtUp = 0;
        long grants = 0;
        int maxOverlap = 0;
        Map<Fault, Integer> counts = new EnumMap<>(Fault.class);
        Map<Fault, List<Long>> failovers = new EnumMap<>(Fault.class);
        for (Outcome o : outs) {
            violations += o.result.violations.size();
            held += o.result.heldAcrossFailover;
            kept += o.result.kept;
            moved += o.result.movedToAnotherServer;
            lostJustified += o.result.lostJustified;
            released += o.result.releasedDuringOutage;
            lostInFlight += o.result.lostWhileCheckinInFlight;
            expiredLocally += o.result.expiredLocally;
            noLeader += o.leaderBack ? 0 : 1;
            notCaughtUp += o.caughtUp ? 0 : 1;
            grants += o.grants;
            maxOverlap = Math.max(maxOverlap, o.result.maxOverlap);
            counts.merge(o.fault, 1, Integer::sum);
            if (o.failoverMs >= 0) {
                failovers.computeIfAbsent(o.fault, k -> new ArrayList<>()).add(o.failoverMs);
            }
        }
        int decided = kept + lostJustified;
        sb.append(String.format("SUMMARY schedules=%d (%s) wall_s=%d violations=%d grants_seen=%d max_overlap=%d"
                        + " (max_seats %d)%n", outs.size(), counts, wallMs / 1000, violations, grants, maxOverlap, SEATS));
        sb.append(String.format("SUMMARY leases held across a failover=%d: kept with their id=%d (%.1f %% of those"
                        + " kept or lost with a server's code; moved to another member %d), lost with a justified reason=%d,"
                        + " checked in by the application during the outage=%d, expired locally without a majority (below)%n",
                held, kept, decided == 0 ? 100.0 : 100.0 * kept / decided, moved, lostJustified, released));
        sb.append(String.format("SUMMARY leases the SDK reported lost after the application had sent their CHECKIN"
                + " (already released; not a loss)=%d%n", lostInFlight));
        sb.append(String.format("SUMMARY leases the SDK expired locally while its client could not reach a majority for"
                + " longer than the lease timeout (correct, not a violation)=%d%n", expiredLocally));
        sb.append(String.format("SUMMARY schedules without a leader within 20 s after the heal=%d, members not caught"
                + " up within 20 s=%d%n", noLeader, notCaughtUp));
        for (Map.Entry<Fault, List<Long>> e : failovers.entrySet()) {
            List<Long> v = new ArrayList<>(e.getValue());
            Collections.sort(v);
            sb.append(String.format("SUMMARY %s -> first GRANTED (checkout or reclaim) from another member, ms:"
                            + " n=%d min=%d median=%d p90=%d max=%d%n", e.getKey(), v.size(), v.get(0),
                    v.get(v.size() / 2), v.get(Math.min(v.size() - 1, (int) Math.ceil(v.size() * 0.9) - 1)),
                    v.get(v.size() - 1)));
        }
        return sb.toString();
    }

    public static void main(String[] args) throws Exception {
        int schedules = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        long firstSeed = args.length > 1 ? Long.parseLong(args[1]) : System.currentTimeMillis() % 1_000_000;
        long budgetMs = args.length > 2 ? Long.parseLong(args[2]) * 1000 : 40 * 60_000L;
        ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger("dev.turnstile.client"))
                .setLevel(ch.qos.logback.classic.Level.WARN);
        Path dir = Files.createTempDirectory("triad-chaos");
        System.out.printf("triad chaos: %s, nproc=%d, %d schedules from seed %d, %d clients, %d seats, logs in %s%n",
                Instant.now(), Runtime.getRuntime().availableProcessors(), schedules, firstSeed, CLIENTS, SEATS, dir);
        List<Outcome> outs = new ArrayList<>();
        long start = System.nanoTime();
        int violations = 0;
        int errors = 0;
        try (TriadProcessCluster cluster = startCluster(dir)) {
            Runtime.getRuntime().addShutdownHook(new Thread(cluster::close)); // SIGTERM (timeout) kills the members too
            TriadChaos chaos = new TriadChaos(cluster);
            int consecutiveErrors = 0;
            for (int n = 0; n < schedules && consecutiveErrors < 3; n++) {
                if (System.nanoTime() - start > TimeUnit.MILLISECONDS.toNanos(budgetMs)) {
                    System.out.printf("time budget of %d s spent after %d schedules; stopping%n", budgetMs / 1000, n);
                    break;
                }
                Outcome o;
                try {
                    o = chaos.runSchedule(n, firstSeed + n);
                    consecutiveErrors = 0;
                } catch (Exception | AssertionError e) {
                    errors++;
                    consecutiveErrors++;
                    System.out.printf("schedule %d seed=%d ERROR %s%n", n, firstSeed + n, e);
                    try {
                        chaos.heal();
                    } catch (Exception | AssertionError e2) {
                        System.out.println("  heal failed: " + e2);
                    }
                    continue;
                }
                outs.add(o);
                System.out.println(o.line());
                for (String v : o.result.violations) {
                    System.out.println("  VIOLATION " + v);
                }
                for (String j : o.result.justifications) {
                    System.out.println("  justified loss " + j);
                }
                for (String x : o.result.expiries) {
                    System.out.println("  expired locally without a majority " + x);
                }
                violations += o.result.violations.size();
                System.out.flush();
            }
        }
        System.out.printf("SUMMARY schedules that could not run (no leader before the fault, a member that did not"
                + " start) = %d%n", errors);
        System.out.print(summary(outs, (System.nanoTime() - start) / 1_000_000));
        System.exit(violations > 0 ? 1 : errors > 0 ? 2 : 0);
    }
}
