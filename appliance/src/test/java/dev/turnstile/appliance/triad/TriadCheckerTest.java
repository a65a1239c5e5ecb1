package dev.turnstile.appliance.triad;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.client.Lease;
import dev.turnstile.client.LeaseLossReason;
import dev.turnstile.client.LeaseToken;
import dev.turnstile.protocol.Enforcement;
import dev.turnstile.protocol.ErrorCode;
import java.time.Instant;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * How {@link TriadChecker} judges the SDK's local expiry ({@code expiredLocally}, issue 12 finding 2): correct and
 * counted apart when the client could not reach a majority for its lease timeout, a violation of "a lease whose
 * holder can reach a majority keeps its id" otherwise. Synthetic timelines (lease timeout 10 s, failover allowance
 * 2 s), no servers.
 */
class TriadCheckerTest {
    static final long T = 10_000;
    static final long ALLOWANCE = 2_000;
    /** Every synthetic time lies in the past of the check (which clips still-held intervals at its own now). */
    final long base = System.nanoTime() - TimeUnit.SECONDS.toNanos(120);
    final TriadChecker checker = new TriadChecker(T, ALLOWANCE);

    long at(long ms) {
        return base + TimeUnit.MILLISECONDS.toNanos(ms);
    }

    /** A lease of {@code client} granted at 0 ms on s1, last confirmed at {@code confirmedMs}, lost at {@code lostMs}. */
    TriadChecker.LeaseRecord lostLease(String client, long confirmedMs, long lostMs, LeaseLossReason why) {
        TriadChecker.LeaseRecord r = new TriadChecker.LeaseRecord(UUID.randomUUID(), client, "s1", at(0));
        r.lastConfirmedAt = at(confirmedMs);
        r.lostAt = at(lostMs);
        r.lostReason = why;
        checker.leases.put(r.id, r);
        return r;
    }

    /** The client's session with s1 ended at {@code ms} (the lease was then held across a failover). */
    void disconnected(String client, long ms) {
        checker.disconnects.add(new TriadChecker.Disconnect(client, "s1", at(ms)));
    }

    TriadChecker.Result check() {
        return checker.check(5, r -> null); // no server code is justified here
    }

    @Test
    @DisplayName("GIVEN two of three members down for 15 s WHEN a client's lease expires locally 10.5 s after its last confirmation, inside that period THEN it is counted as a correct local expiry and listed, not a violation")
    void a_local_expiry_while_no_majority_was_reachable_is_counted_apart() {
        checker.noMajority(at(20_000), at(35_000), "two of three members killed");
        lostLease("c1", 19_500, 30_000, LeaseLossReason.EXPIRED_LOCALLY);
        disconnected("c1", 20_000);

        TriadChecker.Result r = check();

        assertEquals(0, r.violations.size(), r.violations.toString());
        assertEquals(1, r.expiredLocally);
        assertEquals(1, r.heldAcrossFailover);
        assertEquals(1, r.expiries.size());
        assertTrue(r.expiries.get(0).contains("two of three members killed"), r.expiries.get(0));
        assertTrue(r.toString().contains("expired_locally_without_majority=1"), r.toString());
    }

    @Test
    @DisplayName("GIVEN no period without a majority WHEN a lease held across a failover expires locally THEN it is a violation: its holder could reach a majority")
    void a_local_expiry_while_a_majority_was_reachable_is_a_violation() {
        lostLease("c1", 19_500, 30_000, LeaseLossReason.EXPIRED_LOCALLY);
        disconnected("c1", 20_000);

        TriadChecker.Result r = check();

        assertEquals(0, r.expiredLocally);
        assertEquals(1, r.violations.size(), r.violations.toString());
        assertTrue(r.violations.get(0).contains("could reach a majority"), r.violations.get(0));
    }

    @Test
    @DisplayName("GIVEN a failover-sized period without a majority (3 s) WHEN a lease expires locally after 10.5 s without a confirmation THEN it is a violation: most of that silence had a majority within reach")
    void a_short_period_without_a_majority_does_not_explain_a_local_expiry() {
        checker.noMajority(at(20_000), at(23_000), "an election");
        lostLease("c1", 19_500, 30_000, LeaseLossReason.EXPIRED_LOCALLY);
        disconnected("c1", 20_000);

        TriadChecker.Result r = check();

        assertEquals(0, r.expiredLocally);
        assertEquals(1, r.violations.size(), r.violations.toString());
    }

    @Test
    @DisplayName("GIVEN a long period without a majority WHEN a lease expires locally only 5 s after its last confirmation THEN it is a violation: the SDK gave it up before its lease timeout")
    void a_local_expiry_before_the_lease_timeout_is_a_violation() {
        checker.noMajority(at(20_000), at(35_000), "two of three members killed");
        lostLease("c1", 25_000, 30_000, LeaseLossReason.EXPIRED_LOCALLY);
        disconnected("c1", 20_000);

        TriadChecker.Result r = check();

        assertEquals(0, r.expiredLocally);
        assertEquals(1, r.violations.size(), r.violations.toString());
        assertTrue(r.violations.get(0).contains("after only 5000 ms"), r.violations.get(0));
    }

    @Test
    @DisplayName("GIVEN a lease lost with a server's code WHEN the schedule justifies it THEN it is counted as a justified loss, not as a local expiry")
    void a_server_coded_loss_is_still_judged_by_the_schedule() {
        checker.noMajority(at(20_000), at(35_000), "two of three members killed");
        TriadChecker.LeaseRecord lost = lostLease("c1", 19_500, 33_000,
                LeaseLossReason.server(ErrorCode.LICENSE_CHECKOUT_EXPIRED));
        disconnected("c1", 20_000);

        TriadChecker.Result r = checker.check(5, x -> x == lost && x.lostCode() == ErrorCode.LICENSE_CHECKOUT_EXPIRED
                ? "quorum lost for longer than the lease timeout" : null);

        assertEquals(0, r.violations.size(), r.violations.toString());
        assertEquals(1, r.lostJustified);
        assertEquals(0, r.expiredLocally);
    }

    @Test
    @DisplayName("GIVEN a client recorder WHEN the SDK reports a lease expired locally THEN the recorder keeps the named reason (the old ErrorCode form would have seen null)")
    void the_recorder_keeps_the_named_reason_of_a_local_expiry() {
        TriadChecker.Recorder rec = checker.recorder("c1");
        Lease lease = new Lease(UUID.randomUUID(), "cad-pro", "ent-cad", 1, Enforcement.SEATS, "");
        rec.store(LeaseToken.of(lease, "127.0.0.1:1", "hw-c1", Instant.now()));

        rec.leaseLost(lease, LeaseLossReason.EXPIRED_LOCALLY);

        TriadChecker.LeaseRecord r = checker.leases.get(lease.id());
        assertTrue(r.expiredLocally(), r.toString());
        assertEquals(null, r.lostCode());
        assertTrue(r.lostAt >= 0);
    }
}
