package dev.turnstile.appliance.triad;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.config.ConfigException;
import dev.turnstile.appliance.seat.CheckoutOutcome;
import dev.turnstile.appliance.seat.ClientRef;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Message;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** triad.quorum_loss (failsafe vs revoke) and the per-member replication lag in the status JSON. */
@Tag("slow") // triads that lose and regain their quorum
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TriadQuorumLossTest {
    static final long DAY_MS = 86_400_000L;

    @TempDir
    Path dir;
    TriadFixture triad;

    @AfterEach
    void stop() {
        if (triad != null) {
            triad.close();
        }
    }

    static JsonObject triadSection() {
        JsonArray members = new JsonArray();
        for (String id : new String[] {"a", "b", "c"}) {
            members.add(new JsonObject().put("id", id).put("raft", "127.0.0.1:7900").put("client", "127.0.0.1:7878"));
        }
        return new JsonObject().put("enabled", true).put("self", "a").put("members", members).put("state_dir", "/tmp/x");
    }

    static TriadConfig parse(Object quorumLoss) {
        JsonObject t = triadSection();
        if (quorumLoss != null) {
            t.put("quorum_loss", quorumLoss);
        }
        return TriadConfig.from(new JsonObject().put("triad", t));
    }

    @Test
    @DisplayName("GIVEN triad.quorum_loss absent, 'revoke', {keep_leases_for: 14d} or nonsense WHEN the config is bound THEN the rule is revoke, revoke, a 14-day failsafe, or a config error")
    void the_quorum_loss_rule_is_configured_and_checked() {
        assertEquals(TriadConfig.QuorumLoss.REVOKE, parse(null).quorumLoss());
        assertEquals(TriadConfig.QuorumLoss.REVOKE, parse("revoke").quorumLoss());
        assertEquals(TriadConfig.QuorumLoss.REVOKE, parse(new JsonObject().put("mode", "revoke")).quorumLoss());
        assertEquals(TriadConfig.QuorumLoss.keepLeasesFor(14 * DAY_MS),
                parse(new JsonObject().put("keep_leases_for", "14d")).quorumLoss());
        assertThrows(ConfigException.class, () -> parse("keep"));
        assertThrows(ConfigException.class, () -> parse(new JsonObject().put("keep_leases_for", "forever")));
        assertThrows(ConfigException.class, () -> parse(new JsonObject().put("keep_leases_for", "365d")));
        assertEquals(TriadConfig.QuorumLoss.REVOKE, TriadConfig.DISABLED.quorumLoss());
    }

    /** Starts three members with {@code rule}, grants one lease on the leader, then kills the leader and one follower. */
    private int loneMemberHoldingALease(TriadConfig.QuorumLoss rule, UUID[] leaseOut) throws Exception {
        triad = new TriadFixture(dir);
        triad.quorumLoss = rule;
        triad.startAll(3);
        int leader = triad.awaitLeader(15_000);
        assertTrue(leader >= 0, "a leader is elected");
        LedgerStateMachine.Applied a = triad.nodes[leader].checkout(
                TriadReplicationTest.checkout(triad.nodes[leader], "c1", null)).get(10, TimeUnit.SECONDS);
        UUID id = assertInstanceOf(CheckoutOutcome.Granted.class, a.value()).lease().leaseId();
        int lone = (leader + 1) % 3;
        assertTrue(TriadFixture.await(() -> triad.ledgers[lone].lease(id).isPresent(), 10_000), "the lease is replicated");
        triad.kill(leader);
        triad.kill((leader + 2) % 3);
        assertTrue(TriadFixture.await(() -> !triad.nodes[lone].hasQuorum(), 10_000), "the lone member sees no quorum");
        leaseOut[0] = id;
        return lone;
    }

    private static Message.LeaseStatus beat(TriadNode n, UUID id, long nowMs) {
        ClientRef ref = new ClientRef(n.sessionIdBase() + 7, "c1", "hw-c1", "127.0.0.1:1");
        List<Message.LeaseStatus> s = n.heartbeat(ref, List.of(id), nowMs);
        assertEquals(1, s.size());
        return s.get(0);
    }

    @Test
    @DisplayName("GIVEN keep_leases_for 14d and a lone member WHEN a client heartbeats its lease THEN the lease is renewed for 14 days, never past them, nothing new is granted, and after 14 days it is revoked")
    void failsafe_keeps_held_leases_for_the_configured_period_and_no_longer() throws Exception {
        UUID[] id = new UUID[1];
        int lone = loneMemberHoldingALease(TriadConfig.QuorumLoss.keepLeasesFor(14 * DAY_MS), id);
        TriadNode n = triad.nodes[lone];
        long now = System.currentTimeMillis();

        Message.LeaseStatus soon = beat(n, id[0], now);
        Message.LeaseStatus day13 = beat(n, id[0], now + 13 * DAY_MS);
        Message.LeaseStatus lastMinute = beat(n, id[0], now + 14 * DAY_MS - 30_000);
        Message.LeaseStatus day15 = beat(n, id[0], now + 15 * DAY_MS);
        Message.LeaseStatus unknown = beat(n, UUID.randomUUID(), now);

        assertEquals(0, soon.code(), "renewed during the failsafe period");
        assertEquals(TriadFixture.LEASE_TIMEOUT_MS, soon.remainingMs());
        assertEquals(0, day13.code());
        assertEquals(0, lastMinute.code());
        assertTrue(lastMinute.remainingMs() <= 30_000 + 1_000, "never renewed past the failsafe period: " + lastMinute.remainingMs());
        assertEquals(ErrorCode.LICENSE_CHECKOUT_EXPIRED.code(), day15.code(), "revoked once the failsafe period is over");
        assertEquals(ErrorCode.NO_QUORUM.code(), unknown.code(), "a lease this member does not know is not invented");
        TriadRefusal r = TriadRefusal.of(TriadReplicationTest.failure(
                n.checkout(TriadReplicationTest.checkout(n, "c2", null))));
        assertEquals(ErrorCode.NO_QUORUM, r.code(), "nothing new is granted without quorum");
        JsonObject q = n.statusJson().getJsonObject("quorum_loss");
        assertEquals("keep_leases_for", q.getString("rule"));
        assertEquals(14 * DAY_MS, q.getLong("keep_leases_for_ms"));
        assertTrue(q.getBoolean("renewing_held_leases"), q.encode());
        assertFalse(q.getBoolean("revoking_held_leases"), q.encode());
    }

    @Test
    @DisplayName("GIVEN the default rule (revoke) and a lone member WHEN a client heartbeats its lease THEN it gets noQuorum for one lease timeout and then licenseCheckoutExpired")
    void revoke_ends_held_leases_after_one_lease_timeout_without_quorum() throws Exception {
        UUID[] id = new UUID[1];
        int lone = loneMemberHoldingALease(TriadConfig.QuorumLoss.REVOKE, id);
        TriadNode n = triad.nodes[lone];
        long now = System.currentTimeMillis();

        Message.LeaseStatus soon = beat(n, id[0], now);
        Message.LeaseStatus later = beat(n, id[0], now + TriadFixture.LEASE_TIMEOUT_MS + 1_000);

        assertEquals(ErrorCode.NO_QUORUM.code(), soon.code(), "a short election never costs a lease: fail over and look");
        assertEquals(ErrorCode.LICENSE_CHECKOUT_EXPIRED.code(), later.code(), "revoked after one lease timeout");
        JsonObject q = n.statusJson().getJsonObject("quorum_loss");
        assertEquals("revoke", q.getString("rule"));
        assertFalse(q.getBoolean("renewing_held_leases"));
        assertTrue(q.getLong("without_quorum_ms") >= 0);
    }

    @Test
    @DisplayName("GIVEN keep_leases_for and a healthy triad WHEN a follower is sent a heartbeat THEN it still answers notMaster (the rule applies only without quorum)")
    void the_failsafe_does_not_apply_while_there_is_a_quorum() throws Exception {
        triad = new TriadFixture(dir);
        triad.quorumLoss = TriadConfig.QuorumLoss.keepLeasesFor(14 * DAY_MS);
        triad.startAll(3);
        int leader = triad.awaitLeader(15_000);
        LedgerStateMachine.Applied a = triad.nodes[leader].checkout(
                TriadReplicationTest.checkout(triad.nodes[leader], "c1", null)).get(10, TimeUnit.SECONDS);
        UUID id = ((CheckoutOutcome.Granted) a.value()).lease().leaseId();
        int follower = (leader + 1) % 3;
        assertTrue(TriadFixture.await(() -> triad.nodes[follower].hasQuorum()
                && triad.ledgers[follower].lease(id).isPresent(), 10_000));

        Message.LeaseStatus s = beat(triad.nodes[follower], id, System.currentTimeMillis());

        assertEquals(ErrorCode.NOT_MASTER.code(), s.code());
        assertEquals(0L, triad.nodes[follower].statusJson().getJsonObject("quorum_loss").getLong("without_quorum_ms"));
    }

    @Test
    @DisplayName("GIVEN three members WHEN commands are committed and then one follower dies THEN the leader's status shows each member's match index and lag: 0 for the live ones, behind or unknown for the dead one")
    void status_shows_the_replication_lag_of_each_member() throws Exception {
        triad = new TriadFixture(dir);
        triad.startAll(10);
        int leader = triad.awaitLeader(15_000);
        TriadNode l = triad.nodes[leader];
        for (int i = 0; i < 3; i++) {
            l.checkout(TriadReplicationTest.checkout(l, "c" + i, null)).get(10, TimeUnit.SECONDS);
        }
        int live = (leader + 1) % 3;
        int dead = (leader + 2) % 3;
        assertTrue(TriadFixture.await(() -> lagOf(l, live) != null && lagOf(l, live) == 0L
                && lagOf(l, dead) != null && lagOf(l, dead) == 0L, 10_000), l.statusJson().encode());
        assertEquals(0L, lagOf(l, leader));

        triad.kill(dead);
        assertTrue(TriadFixture.await(() -> !inView(l, dead), 10_000));
        for (int i = 0; i < 5; i++) {
            l.checkout(TriadReplicationTest.checkout(l, "d" + i, null)).get(10, TimeUnit.SECONDS);
        }

        assertTrue(TriadFixture.await(() -> lagOf(l, live) != null && lagOf(l, live) == 0L, 10_000), l.statusJson().encode());
        Long deadLag = lagOf(l, dead);
        assertTrue(deadLag == null || deadLag >= 5, "the dead member is behind or unknown: " + l.statusJson().encode());
        JsonObject followerView = member(triad.nodes[live].statusJson(), live);
        assertEquals("self", followerView.getString("lag_source"));
        assertTrue(followerView.getLong("lag") >= 0);
        assertNull(member(triad.nodes[live].statusJson(), leader).getLong("lag"), "a follower does not know the others' lag");
    }

    private JsonObject member(JsonObject status, int i) {
        String id = triad.members.get(i).id();
        JsonArray ms = status.getJsonArray("members");
        for (int k = 0; k < ms.size(); k++) {
            if (id.equals(ms.getJsonObject(k).getString("id"))) {
                return ms.getJsonObject(k);
            }
        }
        throw new AssertionError("no member " + id + " in " + status.encode());
    }

    private Long lagOf(TriadNode on, int i) {
        return member(on.statusJson(), i).getLong("lag");
    }

    private boolean inView(TriadNode on, int i) {
        return member(on.statusJson(), i).getBoolean("in_view");
    }
}
