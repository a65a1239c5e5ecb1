package dev.turnstile.appliance.store;

import dev.turnstile.appliance.triad.TriadJournal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.Appliance;
import dev.turnstile.appliance.seat.LeaseView;
import dev.turnstile.client.Lease;
import dev.turnstile.client.LeaseListener;
import dev.turnstile.client.SessionInfo;
import dev.turnstile.client.TurnstileClient;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.testsupport.VertxAwait;
import dev.turnstile.testsupport.Wait;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Row;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The triad's write-behind against a real PostgreSQL (issue 8): three appliances in one JVM, each on its own Vert.x,
 * sharing one database (the site database model), Java SDK clients with the three addresses.
 */
@Tag("slow") // a triad writing to PostgreSQL, with failovers
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class TriadStoreTest extends PostgresStoreTestBase {
    static final String[] IDS = {"a", "b", "c"};
    final Appliance[] appliances = new Appliance[3];
    final Vertx[] vertxOf = new Vertx[3];
    final List<TurnstileClient> clients = new ArrayList<>();
    final int[] clientPorts = new int[3];
    dev.turnstile.appliance.testing.TriadMembers triadMembers;
    /** store.triad_buffer_events when > 0. */
    int bufferEvents;

    @AfterEach
    void stopTriad() throws Exception {
        for (TurnstileClient c : clients) {
            c.close();
        }
        for (int i = 0; i < 3; i++) {
            kill(i);
        }
    }

    JsonObject config(int i, String stateDir, String flushInterval) {
        return new JsonObject()
                .put("server", new JsonObject().put("id", "triad-" + IDS[i]).put("host", "127.0.0.1")
                        .put("port", 0).put("event_loops", 1).put("heartbeat_interval", "300ms")
                        .put("lease_timeout", "3s").put("reclaim_grace", "30s").put("hello_timeout", "5s")
                        .put("drain_timeout", "1s"))
                .put("clients", new JsonObject().put("min_version", "1.0.0"))
                .put("entitlements", new JsonArray().add(new JsonObject()
                        .put("entitlement_id", "ent-cad").put("tenant_id", "acme").put("product_id", "cad-pro")
                        .put("policy", new JsonObject().put("type", "concurrent").put("max_seats", 10)
                                .put("enforcement", "seats"))
                        .put("starts_at", "2026-01-01T00:00:00Z").put("ends_at", "2036-01-01T00:00:00Z")))
                .put("store", db.storeSection().put("flush_interval", flushInterval)
                        .put("triad_buffer_events", bufferEvents > 0 ? bufferEvents : null)
                        .put("spill_dir", spill.resolve(stateDir).resolve("spill-" + IDS[i]).toString()))
                .put("triad", triadMembers.section(i, spill.resolve(stateDir).resolve(IDS[i])));
    }

    void startTriad(String stateDir, String flushInterval) throws Exception {
        triadMembers = dev.turnstile.appliance.testing.TriadMembers.onLoopback(spill.resolve(stateDir).resolve("discovery"));
        for (int i = 0; i < 3; i++) {
            vertxOf[i] = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(2));
            appliances[i] = await(Appliance.start(vertxOf[i], config(i, stateDir, flushInterval)));
            clientPorts[i] = appliances[i].tcpPort();
        }
        until("a leader", () -> leader() >= 0);
        until("the leader writes behind", () -> "writing".equals(triad(leader()).getString("state")));
    }

    /** Member i dies as a process would: it leaves the triad, its sockets and its store's connections close. */
    void kill(int i) throws Exception {
        dev.turnstile.appliance.testing.InJvmTriad.kill(appliances, vertxOf, i);
    }

    int leader() {
        return dev.turnstile.appliance.testing.InJvmTriad.leader(appliances);
    }

    JsonObject triad(int i) {
        return appliances[i].storeStatus().getJsonObject("triad");
    }

    TriadJournal journal(int i) {
        return (TriadJournal) appliances[i].store();
    }

    TurnstileClient client(String id) {
        List<String> servers = new ArrayList<>();
        for (int p : clientPorts) {
            servers.add("127.0.0.1:" + p);
        }
        TurnstileClient c = TurnstileClient.builder().servers(servers).clientId(id).hwId("hw-" + id)
                .clientVersion("1.0.0").connectTimeout(Duration.ofSeconds(2)).requestTimeout(Duration.ofSeconds(5))
                .backoff(Duration.ofMillis(50), Duration.ofMillis(300), 0.2).listener(new Quiet()).build();
        clients.add(c);
        return c;
    }

    /** Checkouts and checkins; each client keeps its last lease. Retries (bounded) across a failover. */
    static void cycles(List<TurnstileClient> cs, int n) throws Exception {
        for (int round = 0; round < n; round++) {
            for (TurnstileClient c : cs) {
                Lease l = retrying(() -> c.checkout("cad-pro"));
                if (round < n - 1) {
                    retrying(() -> {
                        c.checkin(l);
                        return null;
                    });
                }
            }
        }
    }

    interface Call<T> {
        T call() throws Exception;
    }

    static <T> T retrying(Call<T> call) {
        return Wait.firstSuccess("the call to succeed", java.time.Duration.ofSeconds(30), RuntimeException.class,
                call::call);
    }

    /** Every member that is up has applied the same number of log commands, and the same keyed events. */
    void settled() throws Exception {
        until("every member applied the same log", () -> {
            long idx = -1;
            long keyed = -1;
            for (int i = 0; i < 3; i++) {
                if (appliances[i] == null) {
                    continue;
                }
                long x = appliances[i].triadNode().appliedIndex();
                long k = journal(i).keyedEvents();
                if (idx >= 0 && (x != idx || k != keyed)) {
                    return false;
                }
                idx = x;
                keyed = k;
            }
            return true;
        });
    }

    static <T> T await(Future<T> f) throws Exception {
        return VertxAwait.result(f);
    }

    static void until(String what, BooleanSupplier cond) {
        Wait.until(what, cond);
    }

    /** The journal rows under {@code journalId} are exactly the events {@code member} applied: once each, no seq missing. */
    void assertJournalComplete(UUID journalId, int member) throws Exception {
        long rows = db.count("SELECT count(*) FROM usage_journal WHERE run_id = $1", journalId);
        long expected = journal(member).keyedEvents();
        System.out.printf("triad store: journal %s: %d rows, member %s applied %d keyed events (last seq %d)%n",
                journalId, rows, IDS[member], expected, journal(member).lastKeyedSeq());
        assertEquals(expected, rows, "one row per keyed event the survivors applied");
        assertEquals(journal(member).lastKeyedSeq(),
                db.rows("SELECT max(seq) FROM usage_journal WHERE run_id = $1", journalId).get(0).getLong(0));
        // within every command the events are k = 0..n-1, none missing
        assertEquals(0, db.count("SELECT count(*) FROM (SELECT seq >> 20 AS idx, count(*) AS n, min(seq & 1048575) AS lo,"
                + " max(seq & 1048575) AS hi FROM usage_journal WHERE run_id = $1 GROUP BY 1) x"
                + " WHERE lo <> 0 OR hi <> n - 1", journalId));
        // and no event twice under another key: every checkout row names its own lease
        assertEquals(0, db.count("SELECT count(*) - count(DISTINCT lease_id) FROM usage_journal WHERE kind = 'checkout'"));
    }

    /** The leases table's active rows are exactly the replicated ledger's live leases. */
    void assertLeasesMatch(int member) throws Exception {
        Set<UUID> table = new TreeSet<>();
        for (Row r : db.rows("SELECT lease_id FROM leases WHERE released_at IS NULL")) {
            table.add(r.getUUID(0));
        }
        Set<UUID> ledger = appliances[member].ledger().leases().stream().map(LeaseView::leaseId)
                .collect(Collectors.toCollection(TreeSet::new));
        assertFalse(ledger.isEmpty());
        assertEquals(ledger, table, "active rows in leases = the ledger's live leases");
    }

    @Test
    @DisplayName("GIVEN a triad sharing one Postgres and a leader whose store has not written its latest events WHEN the leader is killed THEN the new leader writes them from its buffer, every event once, no seq missing, and the leases table matches the ledger")
    void a_new_leader_resumes_the_write_behind_without_duplicates_or_gaps() throws Exception {
        startTriad("t1", "60s"); // the store writes only when flushed (or 2000 events wait)
        int old = leader();
        long oldTerm = triad(old).getLong("resumed_term");
        List<TurnstileClient> cs = List.of(client("c1"), client("c2"), client("c3"));
        cycles(cs, 4);
        settled();
        await(appliances[old].store().flush()); // part one is in Postgres
        UUID journalId = UUID.fromString(triad(old).getString("journal_id"));
        long written = db.count("SELECT count(*) FROM usage_journal WHERE run_id = $1", journalId);
        assertEquals(journal(old).keyedEvents(), written);
        cycles(cs, 4); // part two: applied everywhere, not written by the leader
        settled();
        long unwritten = journal(old).keyedEvents() - written;
        assertTrue(unwritten > 0);
        for (int i = 0; i < 3; i++) {
            if (i != old) {
                assertEquals(0, appliances[i].storeStatus().getLong("events_written"), "a follower never writes");
            }
        }

        kill(old);
        until("a new leader", () -> leader() >= 0);
        int next = leader();
        until("the new leader resumed", () -> "writing".equals(triad(next).getString("state")));
        JsonObject resume = triad(next).getJsonObject("last_resume");
        System.out.printf("triad store: the killed leader had %d unwritten events; resume: %s%n", unwritten,
                resume.encode());
        assertEquals(journalId.toString(), resume.getString("journal_id"));
        assertFalse(resume.getBoolean("gap"), resume.encode());
        assertTrue(resume.getLong("events_written_from_buffer") >= unwritten, resume.encode());
        // the fence: raised to the term the new leader resumed in, above the old leader's; nothing was fenced
        long newTerm = triad(next).getLong("resumed_term");
        assertTrue(newTerm > oldTerm, "term " + newTerm + " after " + oldTerm);
        assertEquals(newTerm, resume.getLong("term"));
        assertEquals(newTerm, db.count("SELECT term FROM triad_fence WHERE journal_id = $1", journalId));
        assertEquals(0, appliances[next].storeStatus().getLong("fenced_events"));

        cycles(cs, 2); // clients reclaim on the new leader and go on
        settled();
        await(appliances[next].store().flush());
        assertJournalComplete(journalId, next);
        assertLeasesMatch(next);
        int follower = 3 - old - next;
        assertEquals(0, appliances[follower].storeStatus().getLong("events_written"), "the follower never wrote");
        assertEquals(0, appliances[follower].storeStatus().getLong("batches_written"));
    }

    @Test
    @DisplayName("GIVEN followers whose buffers (100 events) overflowed while the leader wrote nothing WHEN the leader is killed THEN the new leader reports the gap with its exact count, writes what it holds, and rows plus gap account for every event")
    void a_gap_is_counted_and_shown_never_hidden() throws Exception {
        bufferEvents = 100;
        startTriad("t4", "60s");
        int old = leader();
        List<TurnstileClient> cs = List.of(client("g1"));
        cycles(cs, 2);
        settled();
        await(appliances[old].store().flush());
        cycles(cs, 80); // about 160 events, none written, more than the followers keep
        settled();
        kill(old);
        until("a new leader", () -> leader() >= 0);
        int next = leader();
        until("the new leader resumed", () -> "writing".equals(triad(next).getString("state")));
        JsonObject resume = triad(next).getJsonObject("last_resume");
        System.out.printf("triad store: gap resume: %s%n", resume.encode());
        assertTrue(resume.getBoolean("gap"));
        assertTrue(resume.getLong("gap_events") > 0);
        cycles(cs, 1);
        settled();
        await(appliances[next].store().flush());
        UUID journalId = UUID.fromString(resume.getString("journal_id"));
        long rows = db.count("SELECT count(*) FROM usage_journal WHERE run_id = $1", journalId);
        assertEquals(journal(next).keyedEvents(), rows + resume.getLong("gap_events"),
                "every event is either a row or counted in the gap");
        assertLeasesMatch(next); // the leases table matches the ledger despite the gap
    }

    @Test
    @DisplayName("GIVEN a triad writing behind every 100 ms WHEN clients check out and in THEN only the leader writes, it confirms what is written through the log and the followers' buffers shrink to what is unconfirmed")
    void followers_never_write_and_the_leaders_confirmations_trim_their_buffers() throws Exception {
        startTriad("t2", "100ms");
        int l = leader();
        List<TurnstileClient> cs = List.of(client("d1"), client("d2"));
        long t0 = System.nanoTime();
        cycles(cs, 25);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        settled();
        long keyed = journal(l).keyedEvents();
        until("the leader confirmed everything", () -> {
            JsonObject t = triad(l);
            return t.getLong("confirmed_seq") == journal(l).lastKeyedSeq();
        });
        for (int i = 0; i < 3; i++) {
            int m = i;
            until("member " + m + " dropped what is confirmed", () -> triad(m).getInteger("buffer_events") == 0);
        }
        UUID journalId = UUID.fromString(triad(l).getString("journal_id"));
        assertJournalComplete(journalId, l);
        assertLeasesMatch(l);
        for (int i = 0; i < 3; i++) {
            JsonObject s = appliances[i].storeStatus();
            System.out.printf("triad store: member %s (%s): events_written %d, batches %d, confirmations %d, "
                    + "local events not written %d, buffer %d%n", IDS[i], i == l ? "leader" : "follower",
                    s.getLong("events_written"), s.getLong("batches_written"),
                    s.getJsonObject("triad").getLong("confirmations_proposed"),
                    s.getJsonObject("triad").getLong("local_events_not_written"),
                    s.getJsonObject("triad").getInteger("buffer_events"));
            if (i != l) {
                assertEquals(0, s.getLong("events_written"));
                assertEquals(0, s.getLong("batches_written"));
            } else {
                assertTrue(s.getLong("events_written") >= keyed);
            }
        }
        System.out.printf("triad store: %d keyed events in %d ms of client cycles, %d confirmations by the leader%n",
                keyed, ms, triad(l).getLong("confirmations_proposed"));
    }

    @Test
    @DisplayName("GIVEN a triad that wrote to Postgres WHEN every state directory is wiped and the triad starts again on the same database THEN it gets a new journal id and its events are all written")
    void a_wiped_triad_gets_a_new_journal_id() throws Exception {
        startTriad("first", "100ms");
        cycles(List.of(client("e1")), 3);
        settled();
        int l = leader();
        await(appliances[l].store().flush());
        UUID first = UUID.fromString(triad(l).getString("journal_id"));
        assertTrue(db.count("SELECT count(*) FROM usage_journal WHERE run_id = $1", first) > 0);
        for (int i = 0; i < 3; i++) {
            kill(i); // the client's lease stays active in the table: nobody checked it in
        }
        // counted only now: while members die one by one, the client's lost session (and its reclaim after
        // failing over) are commands the two survivors may still commit and write under the first journal id
        long firstRows = db.count("SELECT count(*) FROM usage_journal WHERE run_id = $1", first);
        for (TurnstileClient c : clients) {
            c.close();
        }
        clients.clear();

        startTriad("second", "100ms"); // fresh state directories: the log starts afresh
        cycles(List.of(client("e2")), 3);
        settled();
        int l2 = leader();
        await(appliances[l2].store().flush());
        String second = triad(l2).getString("journal_id");
        assertNotNull(second);
        assertNotEquals(first.toString(), second);
        assertJournalComplete(UUID.fromString(second), l2);
        assertEquals(firstRows, db.count("SELECT count(*) FROM usage_journal WHERE run_id = $1", first));
        assertLeasesMatch(l2); // the first triad's lease is released as reconciled: the new ledger never held it
        assertEquals(1, db.count("SELECT count(*) FROM leases WHERE release_reason = 'reconciled'"));
    }

    static final class Quiet implements LeaseListener {
        @Override
        public void leaseLost(Lease lease, ErrorCode reason) {
        }

        @Override
        public void leaseMoved(Lease lease, String fromServer, String toServer) {
        }

        @Override
        public void leaseRestored(Lease lease, String server) {
        }

        @Override
        public void disconnected(String server, Throwable cause) {
        }

        @Override
        public void reconnected(SessionInfo session) {
        }
    }
}
