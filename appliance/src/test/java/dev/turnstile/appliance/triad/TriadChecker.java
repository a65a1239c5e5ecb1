package dev.turnstile.appliance.triad;

import dev.turnstile.client.InMemoryTokenManager;
import dev.turnstile.client.Lease;
import dev.turnstile.client.LeaseListener;
import dev.turnstile.client.LeaseLossReason;
import dev.turnstile.client.LeaseToken;
import dev.turnstile.client.SessionInfo;
import dev.turnstile.client.TokenManager;
import dev.turnstile.protocol.ErrorCode;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/**
 * Records every grant and release the SDK clients see, and checks them.
 *
 * <h2>What is recorded, and where</h2>
 * Each client gets a {@link Recorder}, which is both its {@link TokenManager} and its {@link LeaseListener}.
 * The SDK calls the token manager on its own protocol thread at the moment things happen: {@code store} of a
 * new lease id = GRANTED received (fresh checkout); {@code store} of a known id = a RECLAIM accepted (with the
 * server that accepted it, also when it is the same server after a reconnect, which fires no leaseMoved);
 * {@code storeAll} = heartbeat answers that confirmed the leases. The listener adds leaseLost (reason),
 * leaseMoved (from, to) and disconnected (server). The load driver records the moment it SENDS a checkin
 * ({@link #checkinSent}). The Java SDK's {@link Lease} does not expose the GRANTED's term and log_index, so
 * every record carries the server's address and the time instead (System.nanoTime of the test JVM).
 *
 * <h2>(a) at no instant more than max_seats leases</h2>
 * Each lease is an interval that can only be SHORTER than the server's truth: from the GRANTED's receipt (the
 * server committed the lease before sending it) to the moment the client sends its CHECKIN (the server frees it
 * after receiving it), or, for a lease the client is told it lost, to its last confirmation (GRANTED, RECLAIM
 * accepted, or a heartbeat answered OK, whichever is last). A confirmation is received at most min(request
 * timeout, lease timeout) after its heartbeat was sent (later answers are dropped by the SDK), and the server
 * keeps a heartbeated lease for a lease timeout after answering, so the confirmation's receipt lies inside the
 * server's interval too. A lease reclaimed after a failover stays one interval: the new leader had it in its
 * replicated ledger (HELD, then ORPHANED for the reclaim grace) the whole time. So if more than max_seats
 * of these intervals overlap, the servers really had more than max_seats leases out: a violation is real.
 *
 * <h2>(b) leases held across a failover keep their id</h2>
 * A lease "held across a failover" was held (granted, not yet checked in, not lost) by a client whose session
 * with the server that last granted or accepted it ended ({@code disconnected}). Each such lease must end as
 * one of: reclaimed with the same id (a RECLAIM accepted after the disconnect: kept), lost with a reason the
 * schedule justifies (counted separately), or checked in by the application while no session was up (the SDK
 * forgets it, the server frees it after the reclaim grace). Anything else (lost without a justification, or
 * silently gone) is a violation. A loss reported after the application had sent the lease's CHECKIN is counted
 * apart ({@link Result#lostWhileCheckinInFlight}): the application had already released it.
 *
 * <h2>Local expiry ({@code expiredLocally}, issue 12 finding 2)</h2>
 * The SDK gives a lease up by itself once no server has confirmed it for its lease timeout. That is correct only
 * when the client could not reach a majority for that long: the schedule names such periods ({@link #noMajority}:
 * two of three members killed, a client cut off from the majority). An {@code expiredLocally} loss is counted apart
 * ({@link Result#expiredLocally}, each listed in {@link Result#expiries}) when
 * <ul>
 *   <li>the client went without a confirmation for at least the lease timeout (the checker's own record: from the
 *       last GRANTED, accepted RECLAIM or renewing heartbeat to the loss; {@link #CLOCK_TOLERANCE_MS} for the
 *       moment between the SDK's clock reading and its token-manager call), and</li>
 *   <li>a period without a majority covers that silence except for at most {@link #failoverAllowanceMs}: the last
 *       confirmation may come up to a heartbeat interval before the fault, and after a majority is back the client
 *       needs a moment to reconnect and reclaim.</li>
 * </ul>
 * Otherwise it is a violation of (b): a lease whose holder could reach a majority must keep its id, and the test
 * timings (TriadAppliancesTest, "lease timeout > failure detection + election + reclaim") leave every failover that
 * keeps a majority well inside the lease timeout.
 */
final class TriadChecker {
    /** Between the SDK reading its clock for a confirmation and the token-manager call the checker records. */
    static final long CLOCK_TOLERANCE_MS = 100;

    /** A period in which the clients could not reach a majority of members (times: System.nanoTime()). */
    record NoMajority(long from, long to, String why) {
    }

    final long leaseTimeoutMs;
    final long failoverAllowanceMs;
    final List<NoMajority> noMajority = new CopyOnWriteArrayList<>();

    /** The triad tests' timings: {@link TriadAppliancesTest#LEASE_TIMEOUT_MS}, allowance = heartbeat + 1 s. */
    TriadChecker() {
        this(TriadAppliancesTest.LEASE_TIMEOUT_MS, TriadAppliancesTest.HEARTBEAT_MS + 1_000);
    }

    TriadChecker(long leaseTimeoutMs, long failoverAllowanceMs) {
        this.leaseTimeoutMs = leaseTimeoutMs;
        this.failoverAllowanceMs = failoverAllowanceMs;
    }

    /** The clients could not reach a majority from {@code from} to {@code to} (Long.MAX_VALUE: still not). */
    void noMajority(long from, long to, String why) {
        noMajority.add(new NoMajority(from, to, why));
    }

    /** One lease as one client saw it. Times: System.nanoTime(). */
    static final class LeaseRecord {
        final UUID id;
        final String client;
        final String grantServer;
        final long grantedAt;
        volatile long lastConfirmedAt;
        volatile String server; // the last server that granted or accepted it
        final List<long[]> reclaimTimes = new CopyOnWriteArrayList<>();
        final List<String> reclaimServers = new CopyOnWriteArrayList<>();
        volatile long checkinSentAt = -1;
        volatile boolean checkinWhileDisconnected;
        volatile long lostAt = -1;
        volatile LeaseLossReason lostReason;
        volatile boolean moved;

        LeaseRecord(UUID id, String client, String server, long at) {
            this.id = id;
            this.client = client;
            this.grantServer = server;
            this.server = server;
            this.grantedAt = at;
            this.lastConfirmedAt = at;
        }

        /** The end of the conservative interval; Long.MAX_VALUE while still held. */
        long end() {
            if (lostAt >= 0) {
                return checkinSentAt >= 0 ? Math.min(lastConfirmedAt, checkinSentAt) : lastConfirmedAt;
            }
            return checkinSentAt >= 0 ? checkinSentAt : Long.MAX_VALUE;
        }

        /** When the client stopped holding it (checkin sent or loss told), for the failover question. */
        long heldUntil() {
            long e = Long.MAX_VALUE;
            if (checkinSentAt >= 0) {
                e = Math.min(e, checkinSentAt);
            }
            if (lostAt >= 0) {
                e = Math.min(e, lostAt);
            }
            return e;
        }

        boolean reclaimedAfter(long t) {
            for (long[] r : reclaimTimes) {
                if (r[0] > t) {
                    return true;
                }
            }
            return false;
        }

        /** The server that last granted or accepted it before {@code t}. */
        String serverAt(long t) {
            String s = grantServer;
            for (int i = 0; i < reclaimTimes.size(); i++) {
                if (reclaimTimes.get(i)[0] <= t) {
                    s = reclaimServers.get(i);
                }
            }
            return s;
        }

        /** The server's code of the loss; null for expiredLocally (or an unknown code). */
        ErrorCode lostCode() {
            LeaseLossReason r = lostReason;
            return r == null ? null : r.errorCode();
        }

        boolean expiredLocally() {
            return LeaseLossReason.EXPIRED_LOCALLY.equals(lostReason);
        }

        /** Milliseconds from the last confirmation to the loss (-1 while not lost). */
        long silentMs() {
            return lostAt < 0 ? -1 : (lostAt - lastConfirmedAt) / 1_000_000;
        }

        @Override
        public String toString() {
            return id + " (" + client + ", granted by " + grantServer + ", reclaims " + reclaimServers
                    + (lostAt >= 0 ? ", lost " + lostReason + " " + silentMs() + " ms after its last confirmation" : "")
                    + (checkinSentAt >= 0 ? ", checked in" : "") + ")";
        }
    }

    record Disconnect(String client, String server, long at) {
    }

    /** A GRANTED the clients received: a fresh checkout or an accepted RECLAIM. */
    record Grant(String client, UUID leaseId, String server, long at, boolean reclaim) {
    }

    final Map<UUID, LeaseRecord> leases = new ConcurrentHashMap<>();
    final List<Disconnect> disconnects = new CopyOnWriteArrayList<>();
    final List<Grant> grants = new CopyOnWriteArrayList<>();
    final List<String> anomalies = new CopyOnWriteArrayList<>();

    Recorder recorder(String clientId) {
        return new Recorder(clientId);
    }

    /** The driver is about to send a CHECKIN of {@code id}; {@code connected}: the client had a session. */
    void checkinSent(UUID id, boolean connected) {
        LeaseRecord r = leases.get(id);
        if (r != null && r.checkinSentAt < 0) {
            r.checkinWhileDisconnected = !connected;
            r.checkinSentAt = System.nanoTime();
        }
    }

    /** The first GRANTED (fresh or reclaim) at or after {@code t} from a server other than {@code except}, or -1. */
    long firstGrantAfter(long t, String except) {
        long best = Long.MAX_VALUE;
        for (Grant g : grants) {
            if (g.at >= t && !g.server.equals(except) && g.at < best) {
                best = g.at;
            }
        }
        return best == Long.MAX_VALUE ? -1 : best;
    }

    /** The result of {@link #check}. */
    static final class Result {
        int leases;
        int maxOverlap;
        int heldAcrossFailover;
        int kept;
        int movedToAnotherServer;
        int lostJustified;
        int releasedDuringOutage;
        int lostWhileCheckinInFlight;
        /** expiredLocally losses of clients that could not reach a majority for longer than the lease timeout. */
        int expiredLocally;
        final List<String> violations = new ArrayList<>();
        final List<String> justifications = new ArrayList<>();
        /** One line per counted expiredLocally loss. */
        final List<String> expiries = new ArrayList<>();

        boolean ok() {
            return violations.isEmpty();
        }

        @Override
        public String toString() {
            return "leases=" + leases + " max_overlap=" + maxOverlap + " held_across_failover=" + heldAcrossFailover
                    + " kept=" + kept + " (moved " + movedToAnotherServer + ") lost_justified=" + lostJustified
                    + " released_during_outage=" + releasedDuringOutage + " lost_while_checkin_in_flight="
                    + lostWhileCheckinInFlight + " expired_locally_without_majority=" + expiredLocally
                    + " violations=" + violations.size();
        }
    }

    /**
     * Checks (a) and (b). Leases still held are taken as held until now (call after the load stopped and every
     * client checked in or closed). {@code justify} returns why a lost lease's loss is acceptable, or null.
     */
    Result check(int maxSeats, Function<LeaseRecord, String> justify) {
        Result res = new Result();
        List<LeaseRecord> all = new ArrayList<>(leases.values());
        res.leases = all.size();
        long now = System.nanoTime();
        // (a) sweep: ends before starts at the same instant (touching intervals do not overlap)
        List<long[]> points = new ArrayList<>();
        for (LeaseRecord r : all) {
            long end = Math.min(r.end(), now);
            if (end <= r.grantedAt) {
                continue; // an empty interval (lost before any confirmation after its grant)
            }
            points.add(new long[] {r.grantedAt, +1});
            points.add(new long[] {end, -1});
        }
        points.sort(Comparator.<long[]>comparingLong(p -> p[0]).thenComparingLong(p -> p[1]));
        int open = 0;
        for (long[] p : points) {
            open += (int) p[1];
            if (open > res.maxOverlap) {
                res.maxOverlap = open;
                if (open > maxSeats) {
                    long at = p[0];
                    List<String> over = new ArrayList<>();
                    for (LeaseRecord r : all) {
                        if (r.grantedAt <= at && Math.min(r.end(), now) > at) {
                            over.add(r.toString());
                        }
                    }
                    res.violations.add("(a) " + open + " > max_seats " + maxSeats + " leases overlap: " + over);
                }
            }
        }
        // (b) leases held across a failover
        for (LeaseRecord r : all) {
            if (r.lostAt >= 0 && r.checkinSentAt >= 0 && r.lostAt >= r.checkinSentAt) {
                // The application had already sent its CHECKIN: it no longer held the lease when the SDK reported
                // it lost. Either a heartbeat sent after the CHECKIN was answered leaseIdNotFound (the SDK heartbeats
                // a lease until CHECKED_IN arrives), or the CHECKIN failed (e.g. noQuorum from a deposed leader), the
                // SDK kept the lease and its reclaim elsewhere was refused. Counted, not a (b) violation; the losses
                // with another reason than leaseIdNotFound are listed so that they can be looked at.
                res.lostWhileCheckinInFlight++;
                if (r.lostCode() != ErrorCode.LEASE_ID_NOT_FOUND) {
                    res.justifications.add(r.id + ": reported lost (" + r.lostReason + ") after its CHECKIN was sent: " + r);
                }
                continue;
            }
            Disconnect crossed = null;
            for (Disconnect d : disconnects) {
                if (d.client.equals(r.client) && d.at > r.grantedAt && d.at < r.heldUntil()
                        && d.server.equals(r.serverAt(d.at))) {
                    crossed = d;
                    break;
                }
            }
            if (crossed == null) {
                if (r.lostAt >= 0 && r.expiredLocally()) {
                    localExpiry(r, res, "lost without a failover");
                } else if (r.lostAt >= 0) {
                    String why = justify.apply(r);
                    if (why == null) {
                        res.violations.add("(b) lost without a failover and without a reason: " + r);
                    } else {
                        res.lostJustified++;
                        res.justifications.add(r.id + ": " + why);
                    }
                }
                continue;
            }
            res.heldAcrossFailover++;
            if (r.reclaimedAfter(crossed.at)) {
                res.kept++;
                if (r.moved) {
                    res.movedToAnotherServer++;
                }
            } else if (r.lostAt >= 0 && r.expiredLocally()) {
                localExpiry(r, res, "held across a failover and");
            } else if (r.lostAt >= 0) {
                String why = justify.apply(r);
                if (why == null) {
                    res.violations.add("(b) held across a failover and lost (" + r.lostReason + ") without a reason: " + r);
                } else {
                    res.lostJustified++;
                    res.justifications.add(r.id + ": " + why);
                }
            } else if (r.checkinSentAt >= 0 && r.checkinWhileDisconnected) {
                res.releasedDuringOutage++;
            } else {
                res.violations.add("(b) held across a failover, neither reclaimed with its id nor reported lost: " + r);
            }
        }
        for (String a : anomalies) {
            res.violations.add("(b) " + a);
        }
        return res;
    }

    /** Counts an expiredLocally loss apart when no majority was reachable for the lease timeout, else a violation. */
    private void localExpiry(LeaseRecord r, Result res, String what) {
        long silent = r.silentMs();
        if (silent < leaseTimeoutMs - CLOCK_TOLERANCE_MS) {
            res.violations.add("(b) " + what + " expired locally after only " + silent + " ms without a confirmation"
                    + " (lease timeout " + leaseTimeoutMs + " ms): " + r);
            return;
        }
        for (NoMajority w : noMajority) {
            long overlapMs = (Math.min(r.lostAt, w.to) - Math.max(r.lastConfirmedAt, w.from)) / 1_000_000;
            if (overlapMs >= silent - failoverAllowanceMs) {
                res.expiredLocally++;
                res.expiries.add(r.id + ": expiredLocally after " + silent + " ms without a confirmation (lease timeout "
                        + leaseTimeoutMs + " ms), " + overlapMs + " ms of it without a majority (" + w.why + "): " + r);
                return;
            }
        }
        res.violations.add("(b) " + what + " expired locally (" + silent + " ms without a confirmation, lease timeout "
                + leaseTimeoutMs + " ms) although the client could reach a majority for more than "
                + failoverAllowanceMs + " ms of that time: " + r);
    }

    /** One client's token manager and listener: records what the SDK does with its leases. */
    final class Recorder implements TokenManager, LeaseListener {
        final String client;
        private final InMemoryTokenManager tokens = new InMemoryTokenManager();

        Recorder(String client) {
            this.client = client;
        }

        @Override
        public void store(LeaseToken token) {
            long now = System.nanoTime();
            LeaseRecord r = leases.get(token.leaseId());
            if (r == null) {
                leases.put(token.leaseId(), new LeaseRecord(token.leaseId(), client, token.server(), now));
                grants.add(new Grant(client, token.leaseId(), token.server(), now, false));
            } else if (!r.client.equals(client)) {
                anomalies.add("lease " + token.leaseId() + " of " + r.client + " also granted to " + client);
            } else {
                r.reclaimTimes.add(new long[] {now});
                r.reclaimServers.add(token.server());
                r.server = token.server();
                r.lastConfirmedAt = now;
                grants.add(new Grant(client, token.leaseId(), token.server(), now, true));
            }
            tokens.store(token);
        }

        @Override
        public void storeAll(Collection<LeaseToken> confirmed) {
            long now = System.nanoTime();
            for (LeaseToken t : confirmed) {
                LeaseRecord r = leases.get(t.leaseId());
                if (r != null && r.lostAt < 0) {
                    r.lastConfirmedAt = now;
                }
                tokens.store(t);
            }
        }

        @Override
        public Optional<LeaseToken> get(UUID leaseId) {
            return tokens.get(leaseId);
        }

        @Override
        public List<LeaseToken> all() {
            return tokens.all();
        }

        @Override
        public boolean removeSafelyByLeaseId(UUID leaseId) {
            return tokens.removeSafelyByLeaseId(leaseId);
        }

        @Override
        public void leaseLost(Lease lease, LeaseLossReason reason) {
            LeaseRecord r = leases.get(lease.id());
            if (r != null) {
                r.lostReason = reason;
                r.lostAt = System.nanoTime();
            } else {
                anomalies.add("lease " + lease.id() + " reported lost to " + client + " but never granted to it");
            }
        }

        @Override
        public void leaseMoved(Lease lease, String fromServer, String toServer) {
            LeaseRecord r = leases.get(lease.id());
            if (r != null) {
                r.moved = true;
            }
        }

        @Override
        public void disconnected(String server, Throwable cause) {
            disconnects.add(new Disconnect(client, server, System.nanoTime()));
        }

        @Override
        public void reconnected(SessionInfo session) {
        }
    }
}
