package dev.turnstile.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.client.impl.TurnstileClientImpl;
import dev.turnstile.client.support.Await;
import dev.turnstile.client.support.MiniServer;
import dev.turnstile.client.support.RecordingListener;
import dev.turnstile.client.support.ScriptedServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Message;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 12, finding 2: a client cut off from every server must not stay licensed forever. A lease
 * whose last confirmation (its GRANTED, or the last HEARTBEAT_RESULT that renewed it) is older than
 * its lease timeout is expired locally: the application is told, and its token is dropped.
 */
class LocalExpiryTest {
    private final List<AutoCloseable> closeAfter = new ArrayList<>();
    private final RecordingListener events = new RecordingListener();

    @AfterEach
    void tearDown() throws Exception {
        for (int i = closeAfter.size() - 1; i >= 0; i--) {
            closeAfter.get(i).close();
        }
    }

    private ScriptedServer server(ScriptedServer.Script script) throws Exception {
        ScriptedServer s = new ScriptedServer(script);
        closeAfter.add(s);
        return s;
    }

    private TurnstileClientBuilder builder(String... servers) {
        return TurnstileClient.builder().servers(servers).clientId("expiry-test").hwId("hw-1").clientVersion("1.0.0")
                .connectTimeout(Duration.ofSeconds(2)).requestTimeout(Duration.ofSeconds(3))
                .backoff(Duration.ofMillis(20), Duration.ofMillis(200), 0.2).listener(events);
    }

    private TurnstileClientImpl client(TurnstileClientBuilder b) {
        TurnstileClientImpl c = (TurnstileClientImpl) b.build();
        closeAfter.add(c);
        return c;
    }

    @Test
    void a_lease_cut_off_from_its_only_server_is_lost_after_its_lease_timeout_and_its_token_dropped()
            throws Exception {
        // GIVEN a client holding a lease from the only server (heartbeat 100 ms, lease timeout 800 ms)
        long heartbeatMs = 100;
        long leaseTimeoutMs = 800;
        MiniServer mini = new MiniServer("only", heartbeatMs, leaseTimeoutMs);
        ScriptedServer s = server(mini);
        TurnstileClientImpl client = client(builder(s.address()));
        Lease lease = client.checkout("cad");
        // WHEN the server dies and stays dead
        long killedAt = System.nanoTime();
        s.close();
        // THEN the application is told the lease is lost, not before its lease timeout
        Await.until("leaseLost", () -> !events.lost.isEmpty());
        long lostAfterMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt);
        assertEquals(lease, events.lost.get(0).lease());
        assertEquals(LeaseLossReason.EXPIRED_LOCALLY, events.lost.get(0).named(), "the reason is named");
        assertEquals("expiredLocally", events.lost.get(0).named().name());
        assertNull(events.lost.get(0).reason(), "the ErrorCode callback gets null: no server code");
        assertTrue(client.leases().isEmpty(), "the client no longer holds it");
        assertTrue(client.tokenManager().get(lease.id()).isEmpty(), "its token is dropped");
        assertTrue(lostAfterMs >= leaseTimeoutMs - heartbeatMs - 50, "not before its lease timeout: " + lostAfterMs);
        // AND the client keeps trying to reconnect
        assertEquals(TurnstileClient.State.RECONNECTING, client.state());
    }

    // ------------------------------------------------------------------ with a ticker the test moves

    /** A realistic lease timeout; the ticker, not the wall clock, says when it has passed. */
    static final long LEASE_TIMEOUT_MS = 30_000;
    /** Heartbeats so rare that only {@code heartbeatNow()} sends them. */
    static final long NO_HEARTBEATS_MS = 600_000;

    private final AtomicLong nanos = new AtomicLong(1_000_000_000L);

    private void advance(long ms) {
        nanos.addAndGet(TimeUnit.MILLISECONDS.toNanos(ms));
    }

    private TurnstileClientImpl tickedClient(TurnstileClientBuilder b) {
        return client(b.ticker(nanos::get));
    }

    /** A server whose connections are closed at once while {@code down} is set (a dead appliance's port). */
    private static final class Switchable implements ScriptedServer.Script {
        final MiniServer mini;
        volatile boolean down;

        Switchable(MiniServer mini) {
            this.mini = mini;
        }

        @Override
        public void run(dev.turnstile.client.support.Peer p, int index) throws Exception {
            if (!down) {
                mini.run(p, index);
            }
        }
    }

    private Switchable killed(ScriptedServer s, Switchable sw, TurnstileClientImpl client) {
        sw.down = true;
        s.dropConnections();
        Await.until("the client notices the server is gone", () -> client.state() != TurnstileClient.State.CONNECTED);
        return sw;
    }

    @Test
    void cut_off_from_every_server_a_lease_is_kept_for_its_lease_timeout_and_lost_just_after_it() throws Exception {
        // GIVEN a client holding a lease with a 30 s lease timeout
        Switchable sw = new Switchable(new MiniServer("s1", NO_HEARTBEATS_MS, LEASE_TIMEOUT_MS));
        ScriptedServer s = server(sw);
        TurnstileClientImpl client = tickedClient(builder(s.address()));
        Lease lease = client.checkout("cad");
        // WHEN the only server dies and exactly the lease timeout passes
        killed(s, sw, client);
        advance(LEASE_TIMEOUT_MS);
        client.checkLocalExpiryNow().get(10, TimeUnit.SECONDS);
        // THEN the lease is still held (its last confirmation is not older than the timeout yet)
        assertEquals(List.of(lease), client.leases());
        assertTrue(events.lost.isEmpty());
        // WHEN one more millisecond passes
        advance(1);
        client.checkLocalExpiryNow().get(10, TimeUnit.SECONDS);
        // THEN it is lost with expiredLocally and its token is dropped, while the client keeps reconnecting
        Await.until("leaseLost expiredLocally", () -> events.lostWith(lease.id(), LeaseLossReason.EXPIRED_LOCALLY));
        assertTrue(client.leases().isEmpty());
        assertTrue(client.tokenManager().get(lease.id()).isEmpty());
        assertNotConnectedButTrying(client);
    }

    private static void assertNotConnectedButTrying(TurnstileClientImpl client) {
        TurnstileClient.State st = client.state();
        assertTrue(st == TurnstileClient.State.RECONNECTING, "still reconnecting: " + st);
    }

    @Test
    void a_lease_renewed_by_every_heartbeat_is_never_expired_locally_however_long_it_is_held() throws Exception {
        // GIVEN a client holding a lease with a 30 s lease timeout
        MiniServer mini = new MiniServer("s1", NO_HEARTBEATS_MS, LEASE_TIMEOUT_MS);
        TurnstileClientImpl client = tickedClient(builder(server(mini).address()));
        Lease lease = client.checkout("cad");
        // WHEN 100 s pass in steps of 20 s, each followed by a heartbeat the server renews
        for (int i = 0; i < 5; i++) {
            advance(20_000);
            client.heartbeatNow().get(10, TimeUnit.SECONDS);
            client.checkLocalExpiryNow().get(10, TimeUnit.SECONDS);
        }
        // THEN the lease is held still
        assertEquals(List.of(lease), client.leases());
        assertTrue(events.lost.isEmpty());
        assertTrue(client.tokenManager().get(lease.id()).isPresent());
    }

    @Test
    void a_lease_whose_heartbeats_are_answered_but_not_renewed_expires_locally_and_is_given_back()
            throws Exception {
        // GIVEN a server that answers every heartbeat of the lease with serverBusy (a retry code: not renewed)
        MiniServer mini = new MiniServer("s1", NO_HEARTBEATS_MS, LEASE_TIMEOUT_MS);
        TurnstileClientImpl client = tickedClient(builder(server(mini).address()));
        Lease lease = client.checkout("cad");
        mini.heartbeatCode = id -> ErrorCode.SERVER_BUSY.code();
        // WHEN heartbeats go unrenewed for longer than the lease timeout
        for (int i = 0; i < 4; i++) {
            advance(10_000);
            client.heartbeatNow().get(10, TimeUnit.SECONDS);
        }
        client.checkLocalExpiryNow().get(10, TimeUnit.SECONDS);
        // THEN the lease is lost with expiredLocally, its token dropped, and the client checks it in on the session
        Await.until("leaseLost expiredLocally", () -> events.lostWith(lease.id(), LeaseLossReason.EXPIRED_LOCALLY));
        assertTrue(client.tokenManager().get(lease.id()).isEmpty());
        Await.until("the lease checked in", () -> mini.checkedIn.contains(lease.id()));
        assertEquals(TurnstileClient.State.CONNECTED, client.state());
    }

    @Test
    void with_automatic_invalidation_disabled_a_locally_expired_lease_keeps_its_token() throws Exception {
        // GIVEN a client with the setting on, holding a lease
        Switchable sw = new Switchable(new MiniServer("s1", NO_HEARTBEATS_MS, LEASE_TIMEOUT_MS));
        ScriptedServer s = server(sw);
        TurnstileClientImpl client = tickedClient(builder(s.address()).tokenAutomaticInvalidationDisabled(true));
        Lease lease = client.checkout("cad");
        // WHEN its only server dies and the lease timeout passes
        killed(s, sw, client);
        advance(LEASE_TIMEOUT_MS + 1);
        client.checkLocalExpiryNow().get(10, TimeUnit.SECONDS);
        // THEN the lease is lost, but its token stays for the application
        Await.until("leaseLost expiredLocally", () -> events.lostWith(lease.id(), LeaseLossReason.EXPIRED_LOCALLY));
        assertTrue(client.tokenManager().get(lease.id()).isPresent());
    }

    @Test
    void a_custom_handler_is_asked_with_the_named_reason_expiredLocally_and_its_answer_is_applied() throws Exception {
        // GIVEN a handler that keeps every token and records the reasons it is asked about
        List<String> asked = new CopyOnWriteArrayList<>();
        TokenInvalidationHandler keepAll = new TokenInvalidationHandler() {
            @Override
            public boolean shouldInvalidate(LeaseToken token, Message.LeaseStatus result) {
                asked.add("status " + result.code());
                return false;
            }

            @Override
            public boolean shouldInvalidate(LeaseToken token, LeaseLossReason reason) {
                asked.add(token.product() + ":" + reason.name());
                return false;
            }
        };
        Switchable sw = new Switchable(new MiniServer("s1", NO_HEARTBEATS_MS, LEASE_TIMEOUT_MS));
        ScriptedServer s = server(sw);
        TurnstileClientImpl client = tickedClient(builder(s.address()).withTokenInvalidationHandler(keepAll));
        Lease lease = client.checkout("cad");
        // WHEN the lease expires locally
        killed(s, sw, client);
        advance(LEASE_TIMEOUT_MS + 1);
        client.checkLocalExpiryNow().get(10, TimeUnit.SECONDS);
        // THEN the handler was asked once, with expiredLocally, and the token is kept as it said
        Await.until("leaseLost expiredLocally", () -> events.lostWith(lease.id(), LeaseLossReason.EXPIRED_LOCALLY));
        assertEquals(List.of("cad:expiredLocally"), asked);
        assertTrue(client.tokenManager().get(lease.id()).isPresent());
    }

    @Test
    void a_lambda_handler_is_not_asked_about_a_local_expiry_and_the_token_is_dropped() throws Exception {
        // GIVEN a handler written against the status form only (it cannot see a local reason)
        List<Integer> asked = new CopyOnWriteArrayList<>();
        TokenInvalidationHandler keepAll = (token, result) -> asked.add(result.code()) && false;
        Switchable sw = new Switchable(new MiniServer("s1", NO_HEARTBEATS_MS, LEASE_TIMEOUT_MS));
        ScriptedServer s = server(sw);
        TurnstileClientImpl client = tickedClient(builder(s.address()).withTokenInvalidationHandler(keepAll));
        Lease lease = client.checkout("cad");
        // WHEN the lease expires locally
        killed(s, sw, client);
        advance(LEASE_TIMEOUT_MS + 1);
        client.checkLocalExpiryNow().get(10, TimeUnit.SECONDS);
        // THEN the interface's default decides: the token is dropped, the status form is never asked
        Await.until("leaseLost expiredLocally", () -> events.lostWith(lease.id(), LeaseLossReason.EXPIRED_LOCALLY));
        assertTrue(client.tokenManager().get(lease.id()).isEmpty());
        assertTrue(asked.isEmpty(), "asked: " + asked);
    }

    @Test
    void when_the_server_comes_back_a_locally_expired_lease_is_checked_in_not_given_to_the_application()
            throws Exception {
        // GIVEN a lease expired locally while its only server was down
        Switchable sw = new Switchable(new MiniServer("s1", NO_HEARTBEATS_MS, LEASE_TIMEOUT_MS));
        ScriptedServer s = server(sw);
        TurnstileClientImpl client = tickedClient(builder(s.address()));
        Lease lease = client.checkout("cad");
        killed(s, sw, client);
        advance(LEASE_TIMEOUT_MS + 1);
        client.checkLocalExpiryNow().get(10, TimeUnit.SECONDS);
        Await.until("leaseLost expiredLocally", () -> events.lostWith(lease.id(), LeaseLossReason.EXPIRED_LOCALLY));
        // WHEN the server comes back (still holding the lease for its reclaim grace)
        sw.down = false;
        // THEN the client reclaims the lease only to check it in: the seat is freed at once
        Await.until("the lease checked in", () -> sw.mini.checkedIn.contains(lease.id()));
        Await.until("connected again", () -> client.state() == TurnstileClient.State.CONNECTED);
        assertTrue(client.leases().isEmpty());
        assertTrue(events.moved.isEmpty() && events.restored.isEmpty(), events.events.toString());
        assertEquals(1, events.lost.size());
        assertFalse(client.tokenManager().get(lease.id()).isPresent());
    }

    @Test
    void a_token_of_an_earlier_run_is_reclaimed_whatever_its_age() throws Exception {
        // GIVEN a token stored by an earlier run, last confirmed long ago
        InMemoryTokenManager store = new InMemoryTokenManager();
        UUID id = UUID.randomUUID();
        java.time.Instant old = java.time.Instant.now().minus(Duration.ofHours(1));
        store.store(new LeaseToken(id, "cad", "", "ent-s1", 1, dev.turnstile.protocol.Enforcement.SEATS,
                "elsewhere:1", "hw-1", old, old));
        MiniServer mini = new MiniServer("s1", NO_HEARTBEATS_MS, LEASE_TIMEOUT_MS);
        TurnstileClientImpl client = tickedClient(builder(server(mini).address()).withTokenManager(store));
        // WHEN the client connects, and time passes before the check
        client.connect();
        advance(LEASE_TIMEOUT_MS / 2);
        client.checkLocalExpiryNow().get(10, TimeUnit.SECONDS);
        // THEN the server decided (the reclaim was granted) and the restored lease is held
        Await.until("leaseRestored", () -> events.restored.size() == 1);
        assertEquals(List.of(id), client.leases().stream().map(Lease::id).toList());
        assertTrue(events.lost.isEmpty());
    }
}
