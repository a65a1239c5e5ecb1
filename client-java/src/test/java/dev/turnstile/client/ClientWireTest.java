package dev.turnstile.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.client.impl.TurnstileClientImpl;
import dev.turnstile.client.support.Await;
import dev.turnstile.client.support.MiniServer;
import dev.turnstile.client.support.Peer;
import dev.turnstile.client.support.RecordingListener;
import dev.turnstile.client.support.ScriptedServer;
import dev.turnstile.protocol.Enforcement;
import dev.turnstile.protocol.Envelope;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Message;
import dev.turnstile.protocol.Message.Checkout;
import dev.turnstile.protocol.Message.Granted;
import dev.turnstile.protocol.Message.LeaseStatus;
import dev.turnstile.protocol.NoticeKind;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The client against scripted protocol peers on loopback: the wire behaviour an appliance cannot
 * easily be made to show (garbage, silence, refusals, pushes at chosen moments).
 */
class ClientWireTest {
    /** Heartbeats so rare that only {@code heartbeatNow()} sends them: decisions happen when the test says. */
    static final long NO_HEARTBEATS_MS = 600_000;

    @TempDir
    Path dir;

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
        return TurnstileClient.builder().servers(servers).clientId("wire-test").hwId("hw-1").clientVersion("1.0.0")
                .connectTimeout(Duration.ofSeconds(2)).requestTimeout(Duration.ofSeconds(3))
                .backoff(Duration.ofMillis(20), Duration.ofMillis(200), 0.2).listener(events);
    }

    private TurnstileClientImpl client(TurnstileClientBuilder b) {
        TurnstileClientImpl c = (TurnstileClientImpl) b.build();
        closeAfter.add(c);
        return c;
    }

    // ------------------------------------------------------------------ checkout, pipelining, heartbeats

    @Test
    void a_checkout_returns_the_granted_lease_and_stores_a_token_that_can_reclaim_it() throws Exception {
        // GIVEN an obliging server
        MiniServer mini = new MiniServer("s1", 100, 1000);
        ScriptedServer s = server(mini);
        TurnstileClientImpl client = client(builder(s.address()));
        // WHEN the client checks out 2 seats of cad-pro with a license key
        Lease lease = client.checkout(CheckoutRequest.of("cad-pro").withQuantity(2).withLicenseKey("ent-s1"));
        // THEN the lease is what the server granted, and its token carries everything a reclaim needs
        assertEquals("cad-pro", lease.product());
        assertEquals(2, lease.quantity());
        assertEquals("ent-s1", lease.entitlementId());
        LeaseToken t = client.tokenManager().get(lease.id()).orElseThrow();
        assertEquals(List.of("cad-pro", "ent-s1", "ent-s1", 2L, Enforcement.SEATS, s.address(), "hw-1"),
                List.of(t.product(), t.licenseKey(), t.entitlementId(), t.quantity(), t.enforcement(), t.server(),
                        t.hwId()));
        // AND HELLO carried the client's identity
        Message.Hello hello = mini.hellos.get(0);
        assertEquals(List.of("wire-test", "hw-1", "1.0.0"), List.of(hello.clientId(), hello.hwId(), hello.clientVersion()));
        // AND checkin gives it back and removes the token
        client.checkin(lease);
        assertTrue(mini.checkedIn.contains(lease.id()));
        assertTrue(client.tokenManager().get(lease.id()).isEmpty());
        assertTrue(client.leases().isEmpty());
    }

    @Test
    void pipelined_checkouts_answered_in_reverse_order_are_matched_by_correlation_id() throws Exception {
        // GIVEN a server that holds the first checkout until the second arrives, then answers the second first
        List<Envelope> held = new CopyOnWriteArrayList<>();
        MiniServer mini = new MiniServer("s1", NO_HEARTBEATS_MS, 60_000);
        mini.onCheckout = (p, corr, c) -> {
            held.add(new Envelope(corr, c));
            if (held.size() == 2) {
                for (int i = 1; i >= 0; i--) {
                    Checkout hc = (Checkout) held.get(i).message();
                    p.send(held.get(i).correlationId(), new Granted(UUID.randomUUID(), "ent-" + hc.product(),
                            hc.product(), hc.quantity(), 60_000, 0, 0, 0));
                }
            }
            return null;
        };
        TurnstileClientImpl client = client(builder(server(mini).address()));
        client.connect();
        // WHEN two checkouts are in flight at once
        CompletableFuture<Lease> a = client.checkoutAsync("alpha");
        CompletableFuture<Lease> b = client.checkoutAsync(CheckoutRequest.of("beta").withQuantity(5));
        // THEN each caller gets the lease of its own product
        Lease la = a.get(10, TimeUnit.SECONDS);
        Lease lb = b.get(10, TimeUnit.SECONDS);
        assertEquals(List.of("alpha", "ent-alpha", 1L), List.of(la.product(), la.entitlementId(), la.quantity()));
        assertEquals(List.of("beta", "ent-beta", 5L), List.of(lb.product(), lb.entitlementId(), lb.quantity()));
    }

    @Test
    void one_heartbeat_frame_carries_every_lease_of_the_connection() throws Exception {
        // GIVEN a client holding three leases on a server that asks for a heartbeat every 100 ms
        MiniServer mini = new MiniServer("s1", 100, 1000);
        TurnstileClientImpl client = client(builder(server(mini).address()));
        List<UUID> ids = new ArrayList<>();
        for (String p : List.of("a", "b", "c")) {
            ids.add(client.checkout(p).id());
        }
        // WHEN the scheduled heartbeats run
        // THEN a single HEARTBEAT names all three leases
        Await.until("a HEARTBEAT naming all three leases", () -> !mini.sent(Message.Heartbeat.class,
                h -> h.leaseIds().size() == 3 && h.leaseIds().containsAll(ids)).isEmpty());
        // AND the confirmations move the tokens' last-confirmed time past the checkout time
        Await.until("tokens confirmed by a heartbeat", () -> ids.stream().allMatch(id ->
                client.tokenManager().get(id).map(t -> t.lastConfirmedAt().isAfter(t.checkedOutAt())).orElse(false)));
    }

    @Test
    void a_queued_checkout_waits_past_the_request_timeout_for_its_seat() throws Exception {
        // GIVEN a server that queues the checkout and grants it after longer than the request timeout
        MiniServer mini = new MiniServer("s1", 100, 1000);
        mini.onCheckout = (p, corr, c) -> {
            p.send(corr, new Message.Queued(1, 5_000));
            Thread t = new Thread(() -> {
                try {
                    Thread.sleep(1_500); // the behaviour under test: the server grants later than the request timeout
                    p.send(corr, MiniServer.grant("s1", c));
                } catch (Exception e) {
                    // the test fails on its own
                }
            });
            t.setDaemon(true);
            t.start();
            return null;
        };
        TurnstileClientImpl client = client(builder(server(mini).address()).requestTimeout(Duration.ofMillis(500)));
        // WHEN the client checks out, willing to wait
        Lease lease = client.checkout(CheckoutRequest.of("cad").waitingInQueue(Duration.ofSeconds(5)));
        // THEN it gets the seat, and the CHECKOUT carried the WAIT flag and the timeout
        assertEquals("cad", lease.product());
        Checkout sent = mini.sent(Checkout.class, c -> true).get(0);
        assertTrue(sent.waitForSeat());
        assertEquals(5_000, sent.waitTimeoutMs());
    }

    @Test
    void many_threads_share_one_client_and_each_gets_its_own_answers() throws Exception {
        // GIVEN a server that answers every checkout from a pool of helper threads, in any order
        java.util.concurrent.ExecutorService answerers = java.util.concurrent.Executors.newFixedThreadPool(4);
        closeAfter.add(answerers::shutdownNow);
        MiniServer mini = new MiniServer("s1", 100, 5_000);
        mini.onCheckout = (p, corr, c) -> {
            answerers.execute(() -> {
                try {
                    p.send(corr, new Granted(UUID.randomUUID(), "ent-" + c.product(), c.product(), c.quantity(),
                            5_000, 0, 0, 0));
                } catch (Exception e) {
                    // the test fails on its own
                }
            });
            return null;
        };
        TurnstileClientImpl client = client(builder(server(mini).address()));
        client.connect();
        // WHEN 8 threads each run 40 checkout/checkin cycles of their own product at once
        int threads = 8;
        int cycles = 40;
        java.util.concurrent.ExecutorService callers = java.util.concurrent.Executors.newFixedThreadPool(threads);
        closeAfter.add(callers::shutdownNow);
        List<CompletableFuture<Integer>> done = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            String product = "p" + t;
            done.add(CompletableFuture.supplyAsync(() -> {
                int ok = 0;
                for (int i = 0; i < cycles; i++) {
                    Lease l = client.checkout(CheckoutRequest.of(product).withQuantity(i % 5 + 1));
                    if (l.product().equals(product) && l.quantity() == i % 5 + 1) {
                        ok++;
                    }
                    client.checkin(l);
                }
                return ok;
            }, callers));
        }
        // THEN every thread got exactly the leases it asked for, and nothing is left held
        for (CompletableFuture<Integer> f : done) {
            assertEquals(cycles, f.get(60, TimeUnit.SECONDS));
        }
        assertTrue(client.leases().isEmpty());
        assertTrue(client.tokenManager().all().isEmpty());
        assertEquals(threads * cycles, mini.checkedIn.size());
    }

    // ------------------------------------------------------------------ silence and garbage

    @Test
    void a_server_that_never_welcomes_fails_the_connect_within_the_connect_timeout() throws Exception {
        // GIVEN a server that answers the preamble but never answers HELLO
        ScriptedServer s = server((p, i) -> {
            p.readPreamble();
            p.sendPreamble(1);
            while (p.read() != null) {
                // read and say nothing
            }
        });
        TurnstileClientImpl client = client(builder(s.address()).connectTimeout(Duration.ofMillis(300)));
        // WHEN the client connects
        TurnstileException e = assertThrows(TurnstileException.class, client::connect);
        // THEN it fails as a connection failure whose cause is the missing WELCOME
        assertEquals(TurnstileException.Kind.CONNECTION, e.kind());
        assertTrue(e.getMessage().contains("no WELCOME"), e.getMessage());
    }

    @Test
    void a_checkout_that_is_never_answered_times_out_and_a_late_grant_is_given_back() throws Exception {
        // GIVEN a server that does not answer checkouts (but answers heartbeats)
        List<Integer> unanswered = new CopyOnWriteArrayList<>();
        MiniServer mini = new MiniServer("s1", 100, 5_000);
        mini.onCheckout = (p, corr, c) -> {
            unanswered.add(corr);
            return null;
        };
        ScriptedServer s = server(mini);
        TurnstileClientImpl client = client(builder(s.address()).requestTimeout(Duration.ofMillis(400)));
        // WHEN the client checks out
        TurnstileException e = assertThrows(TurnstileException.class, () -> client.checkout("cad"));
        // THEN the call fails with TIMEOUT
        assertEquals(TurnstileException.Kind.TIMEOUT, e.kind());
        // AND WHEN the grant arrives after all, THEN the client checks that seat in at once
        UUID late = UUID.randomUUID();
        mini.peer().send(unanswered.get(0), new Granted(late, "ent", "cad", 1, 5_000, 0, 0, 0));
        Await.until("the late lease checked in", () -> mini.checkedIn.contains(late));
        assertTrue(client.leases().isEmpty());
        assertTrue(client.tokenManager().all().isEmpty());
    }

    @Test
    void garbage_from_the_server_closes_the_connection_and_the_client_reconnects_and_reclaims() throws Exception {
        // GIVEN a client holding a lease on a server
        MiniServer mini = new MiniServer("s1", 100, 1000);
        ScriptedServer s = server(mini);
        TurnstileClientImpl client = client(builder(s.address()));
        Lease lease = client.checkout(CheckoutRequest.of("cad").withQuantity(3).withLicenseKey("k1"));
        // WHEN the server sends a length prefix far over the limit
        mini.peer().sendRaw(new byte[] {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 1, 2, 3});
        // THEN the client drops that connection, opens another, and reclaims the lease with its fields
        Await.until("a reconnect", () -> events.reconnected.size() == 1);
        assertEquals(2, s.connections());
        Checkout r = mini.reclaims().get(0);
        assertEquals(lease.id(), r.reclaimLeaseId());
        assertEquals(List.of("cad", "k1", 3L, Enforcement.SEATS.code()),
                List.of(r.product(), r.licenseKey(), r.quantity(), r.enforcement()));
        // AND the lease and its token are kept; same server, so nothing "moved"
        assertEquals(List.of(lease), client.leases());
        assertTrue(client.tokenManager().get(lease.id()).isPresent());
        assertTrue(events.moved.isEmpty());
        assertEquals(List.of(s.address()), events.disconnected);
    }

    @Test
    void a_peer_that_is_not_a_turnstile_server_is_skipped_for_the_next_server() throws Exception {
        // GIVEN a first address that answers like an HTTP server, and a real one second
        ScriptedServer http = server((p, i) -> {
            p.sendRaw("HTTP/1.1 400 Bad Request\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            p.read();
        });
        MiniServer mini = new MiniServer("s2", 100, 1000);
        ScriptedServer good = server(mini);
        TurnstileClientImpl client = client(builder(http.address(), good.address()));
        // WHEN the client connects
        SessionInfo info = client.connect();
        // THEN it is welcomed by the second
        assertEquals(good.address(), info.server());
        assertEquals("s2", info.serverId());
    }

    // ------------------------------------------------------------------ refusals and failover

    @Test
    void a_not_master_refusal_with_a_leader_hint_moves_the_client_to_the_leader() throws Exception {
        // GIVEN a leader the client was not configured with, and a follower that names it
        MiniServer leader = new MiniServer("leader", 100, 1000);
        ScriptedServer leaderServer = server(leader);
        MiniServer follower = new MiniServer("follower", 100, 1000);
        follower.onCheckout = (p, corr, c) -> new Message.Denied(ErrorCode.NOT_MASTER.code(), 0,
                leaderServer.address(), "ask the leader");
        ScriptedServer followerServer = server(follower);
        TurnstileClientImpl client = client(builder(followerServer.address()));
        // WHEN the client checks out
        Lease lease = client.checkout("cad");
        // THEN the leader granted it, and the leader joined the failover list
        assertEquals("ent-leader", lease.entitlementId());
        assertEquals(leaderServer.address(), client.session().orElseThrow().server());
        assertTrue(client.servers().contains(leaderServer.address()));
    }

    @Test
    void failover_to_the_next_server_reclaims_the_lease_and_reports_it_moved() throws Exception {
        // GIVEN a client holding a lease on the first of two servers
        MiniServer a = new MiniServer("a", 100, 1000);
        ScriptedServer sa = server(a);
        MiniServer b = new MiniServer("b", 100, 1000);
        ScriptedServer sb = server(b);
        TurnstileClientImpl client = client(builder(sa.address(), sb.address()));
        Lease lease = client.checkout("cad");
        // WHEN the first server dies
        sa.close();
        // THEN the client reclaims the lease on the second and reports it moved
        Await.until("the lease moved", () -> events.moved.size() == 1);
        assertEquals(new RecordingListener.Moved(lease, sa.address(), sb.address()), events.moved.get(0));
        assertEquals(lease.id(), b.reclaims().get(0).reclaimLeaseId());
        assertEquals(sb.address(), client.tokenManager().get(lease.id()).orElseThrow().server());
        Await.until("heartbeats on the new server", () -> !b.sent(Message.Heartbeat.class,
                h -> h.leaseIds().contains(lease.id())).isEmpty());
    }

    @Test
    void a_lease_checked_in_while_the_next_session_still_reclaims_others_is_given_back_at_once() throws Exception {
        // GIVEN a client holding two leases on the first of two servers, and a second server that answers the first
        // RECLAIM at once and holds the second
        MiniServer a = new MiniServer("a", 100, 1000);
        ScriptedServer sa = server(a);
        MiniServer b = new MiniServer("b", NO_HEARTBEATS_MS, 60_000);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicInteger reclaims = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicReference<UUID> first = new java.util.concurrent.atomic.AtomicReference<>();
        b.onCheckout = (p, corr, c) -> {
            if (!c.reclaim() || reclaims.incrementAndGet() == 1) {
                if (c.reclaim()) {
                    first.set(c.reclaimLeaseId());
                }
                return MiniServer.grant("b", c, 60_000);
            }
            Thread t = new Thread(() -> { // the second RECLAIM is answered only when the test says
                try {
                    release.await(10, TimeUnit.SECONDS);
                    p.send(corr, MiniServer.grant("b", c, 60_000));
                } catch (Exception closed) {
                    // the test ended
                }
            });
            t.setDaemon(true);
            t.start();
            return null;
        };
        ScriptedServer sb = server(b);
        TurnstileClientImpl client = client(builder(sa.address(), sb.address()));
        client.checkout("cad");
        client.checkout("cad");
        // WHEN the first server dies, and the application checks in the lease the second server already took back
        // while the other RECLAIM is still unanswered (the session is not ready yet)
        sa.close();
        Await.until("the first lease moved", () -> first.get() != null && events.moved.stream()
                .anyMatch(m -> m.lease().id().equals(first.get())));
        assertTrue(client.state() != TurnstileClient.State.CONNECTED, "the session still waits for a RECLAIM answer");
        client.checkin(first.get());
        // THEN the CHECKIN reaches the second server at once, not after the session that follows this one
        Await.until("the CHECKIN on b", () -> b.checkedIn.contains(first.get()));
        assertEquals(1, release.getCount(), "while the other RECLAIM was still unanswered");
        release.countDown();
        Await.until("the client ready on b", () -> client.state() == TurnstileClient.State.CONNECTED);
        assertEquals(1, client.leases().size());
    }

    @Test
    void a_refused_reclaim_loses_the_lease_and_removes_its_token() throws Exception {
        // GIVEN a second server that knows nothing of the first one's leases
        MiniServer a = new MiniServer("a", 100, 1000);
        ScriptedServer sa = server(a);
        MiniServer b = new MiniServer("b", 100, 1000);
        b.onCheckout = (p, corr, c) -> c.reclaim()
                ? new Message.Denied(ErrorCode.LEASE_ID_NOT_FOUND, "no such lease") : MiniServer.grant("b", c);
        ScriptedServer sb = server(b);
        TurnstileClientImpl client = client(builder(sa.address(), sb.address()));
        Lease lease = client.checkout("cad");
        // WHEN the first server dies
        sa.close();
        // THEN the lease is reported lost with leaseIdNotFound and its token is gone
        Await.until("the lease lost", () -> events.lostWith(lease.id(), ErrorCode.LEASE_ID_NOT_FOUND));
        Await.until("the client ready on b", () -> client.state() == TurnstileClient.State.CONNECTED);
        assertTrue(client.tokenManager().get(lease.id()).isEmpty());
        assertTrue(client.leases().isEmpty());
        // AND the client works on the second server
        assertEquals("ent-b", client.checkout("cad").entitlementId());
    }

    @Test
    void with_automatic_invalidation_disabled_a_refused_reclaim_keeps_the_token() throws Exception {
        // GIVEN the same failover as above, with the setting on
        MiniServer a = new MiniServer("a", 100, 1000);
        ScriptedServer sa = server(a);
        MiniServer b = new MiniServer("b", 100, 1000);
        b.onCheckout = (p, corr, c) -> new Message.Denied(ErrorCode.LEASE_ID_NOT_FOUND, "no such lease");
        ScriptedServer sb = server(b);
        TurnstileClientImpl client = client(builder(sa.address(), sb.address()).tokenAutomaticInvalidationDisabled(true));
        Lease lease = client.checkout("cad");
        // WHEN the first server dies and the reclaim is refused
        sa.close();
        Await.until("the lease lost", () -> events.lostWith(lease.id(), ErrorCode.LEASE_ID_NOT_FOUND));
        Await.until("the client ready on b", () -> client.state() == TurnstileClient.State.CONNECTED);
        // THEN the lease is lost but the token stays for the application to handle
        assertTrue(client.tokenManager().get(lease.id()).isPresent());
        assertTrue(client.leases().isEmpty());
    }

    @Test
    void a_hello_refused_for_the_client_version_fails_at_once_without_trying_further() throws Exception {
        // GIVEN a server that refuses the version, and a second one that would not
        ScriptedServer s = server((p, i) -> {
            p.readPreamble();
            p.sendPreamble(1);
            Envelope hello = p.read();
            p.send(hello.correlationId(), new Message.Error(ErrorCode.CLIENT_VERSION_NOT_ALLOWED, "too old"));
        });
        MiniServer second = new MiniServer("s2", 100, 1000);
        ScriptedServer s2 = server(second);
        TurnstileClientImpl client = client(builder(s.address(), s2.address()));
        // WHEN the client connects
        TurnstileException e = assertThrows(TurnstileException.class, client::connect);
        // THEN the refusal comes back with its code, and the client stops (no point asking others)
        assertEquals(ErrorCode.CLIENT_VERSION_NOT_ALLOWED, e.errorCode());
        assertEquals(TurnstileClient.State.FAILED, client.state());
        assertEquals(0, s2.connections());
        TurnstileException again = assertThrows(TurnstileException.class, () -> client.checkout("cad"));
        assertEquals(ErrorCode.CLIENT_VERSION_NOT_ALLOWED, again.errorCode());
    }

    @Test
    void a_denied_checkout_throws_the_servers_code_and_keeps_the_session() throws Exception {
        // GIVEN a server out of seats
        MiniServer mini = new MiniServer("s1", 100, 1000);
        mini.onCheckout = (p, corr, c) -> new Message.Denied(ErrorCode.NO_SEATS_AVAILABLE.code(), 2_500, "", "full");
        ScriptedServer s = server(mini);
        TurnstileClientImpl client = client(builder(s.address()));
        // WHEN the client checks out
        TurnstileException e = assertThrows(TurnstileException.class, () -> client.checkout("cad"));
        // THEN the exception carries the code and the retry hint, and the connection survives
        assertEquals(TurnstileException.Kind.REFUSED, e.kind());
        assertEquals(ErrorCode.NO_SEATS_AVAILABLE, e.errorCode());
        assertEquals(Duration.ofMillis(2_500), e.retryAfter());
        assertEquals(TurnstileClient.State.CONNECTED, client.state());
        assertEquals(1, s.connections());
    }

    // ------------------------------------------------------------------ heartbeat results and tokens

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = ErrorCode.class, names = {"LEASE_ID_NOT_FOUND", "LICENSE_CHECKOUT_EXPIRED",
            "LICENSE_KEY_VS_LEASE_ID_MISMATCH", "LICENSE_CONSUMPTION_QTY_ENFORCEMENT_TYPE_MISMATCH",
            "CLIENT_HW_ID_MISMATCH", "CLIENT_VERSION_NOT_ALLOWED", "CLIENT_VERSION_MISSING"})
    void a_heartbeat_failing_with_a_token_dropping_code_loses_the_lease_and_removes_its_token(ErrorCode code)
            throws Exception {
        // GIVEN a lease whose next heartbeat the server answers with the code
        MiniServer mini = new MiniServer("s1", NO_HEARTBEATS_MS, 60_000);
        TurnstileClientImpl client = client(builder(server(mini).address()));
        Lease lease = client.checkout("cad");
        mini.heartbeatCode = id -> id.equals(lease.id()) ? code.code() : 0;
        // WHEN the client heartbeats
        List<LeaseStatus> result = client.heartbeatNow().get(10, TimeUnit.SECONDS);
        // THEN the result carried the code, the lease is lost with it, and the token is removed
        assertEquals(code.code(), result.get(0).code());
        Await.until("leaseLost", () -> events.lostWith(lease.id(), code));
        assertTrue(client.tokenManager().get(lease.id()).isEmpty());
        assertTrue(client.leases().isEmpty());
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = ErrorCode.class, names = {"FORCED_RELEASE", "UNKNOWN_PRODUCT", "ENTITLEMENT_NOT_ACTIVE",
            "SESSION_LOST"})
    void a_heartbeat_failing_with_another_code_loses_the_lease_but_keeps_its_token(ErrorCode code) throws Exception {
        // GIVEN a lease whose heartbeat fails with a code outside the seven
        MiniServer mini = new MiniServer("s1", NO_HEARTBEATS_MS, 60_000);
        TurnstileClientImpl client = client(builder(server(mini).address()));
        Lease lease = client.checkout("cad");
        mini.heartbeatCode = id -> code.code();
        // WHEN the client heartbeats (the future completes after the token decision)
        client.heartbeatNow().get(10, TimeUnit.SECONDS);
        // THEN the lease is lost but the token is kept
        Await.until("leaseLost", () -> events.lostWith(lease.id(), code));
        assertTrue(client.tokenManager().get(lease.id()).isPresent());
    }

    @Test
    void a_heartbeat_failing_with_a_retry_code_keeps_both_the_lease_and_the_token() throws Exception {
        // GIVEN a busy server
        MiniServer mini = new MiniServer("s1", NO_HEARTBEATS_MS, 60_000);
        TurnstileClientImpl client = client(builder(server(mini).address()));
        Lease lease = client.checkout("cad");
        mini.heartbeatCode = id -> ErrorCode.SERVER_BUSY.code();
        // WHEN a heartbeat fails with serverBusy
        client.heartbeatNow().get(10, TimeUnit.SECONDS);
        // THEN the lease is still held and heartbeated, and the token is kept
        mini.heartbeatCode = id -> 0;
        assertEquals(0, client.heartbeatNow().get(10, TimeUnit.SECONDS).get(0).code());
        assertEquals(List.of(lease), client.leases());
        assertTrue(client.tokenManager().get(lease.id()).isPresent());
        assertTrue(events.lost.isEmpty());
    }

    @Test
    void with_automatic_invalidation_disabled_every_heartbeat_failure_keeps_the_token() throws Exception {
        // GIVEN the setting on, and an expired lease
        MiniServer mini = new MiniServer("s1", NO_HEARTBEATS_MS, 60_000);
        TurnstileClientImpl client = client(builder(server(mini).address()).tokenAutomaticInvalidationDisabled(true)
                .withTokenInvalidationHandler((t, r) -> {
                    throw new AssertionError("the handler must not be asked");
                }));
        Lease lease = client.checkout("cad");
        mini.heartbeatCode = id -> ErrorCode.LICENSE_CHECKOUT_EXPIRED.code();
        // WHEN the heartbeat reports it expired
        client.heartbeatNow().get(10, TimeUnit.SECONDS);
        // THEN the lease is lost but its token kept
        Await.until("leaseLost", () -> events.lostWith(lease.id(), ErrorCode.LICENSE_CHECKOUT_EXPIRED));
        assertTrue(client.tokenManager().get(lease.id()).isPresent());
    }

    @Test
    void a_custom_handler_decides_with_the_token_and_the_result_it_is_given() throws Exception {
        // GIVEN a handler that deletes only tokens of product "drop-me", for any failure
        List<String> asked = new CopyOnWriteArrayList<>();
        TokenInvalidationHandler handler = (token, result) -> {
            asked.add(token.product() + ":" + result.errorCode().wireName());
            return token.product().equals("drop-me");
        };
        MiniServer mini = new MiniServer("s1", NO_HEARTBEATS_MS, 60_000);
        TurnstileClientImpl client = client(builder(server(mini).address()).withTokenInvalidationHandler(handler));
        Lease keep = client.checkout("keep-me");
        Lease drop = client.checkout("drop-me");
        mini.heartbeatCode = id -> ErrorCode.SERVER_BUSY.code();
        // WHEN one heartbeat fails for both with serverBusy (a code the default would never drop on)
        client.heartbeatNow().get(10, TimeUnit.SECONDS);
        // THEN the handler saw each token with the code, and its answers were applied
        assertEquals(List.of("drop-me:serverBusy", "keep-me:serverBusy"), asked.stream().sorted().toList());
        assertTrue(client.tokenManager().get(keep.id()).isPresent());
        assertTrue(client.tokenManager().get(drop.id()).isEmpty());
    }

    @ParameterizedTest(name = "{0} removes the token: {1}")
    @CsvSource({"LICENSE_CHECKOUT_EXPIRED, true", "FORCED_RELEASE, false", "ENTITLEMENT_DELETED, false"})
    void a_lease_revoked_by_notice_is_lost_and_the_handler_decides_about_its_token(ErrorCode reason,
                                                                                   boolean removed) throws Exception {
        // GIVEN a client with a lease, and a handler that records what it is asked
        List<ErrorCode> asked = new CopyOnWriteArrayList<>();
        MiniServer mini = new MiniServer("s1", NO_HEARTBEATS_MS, 60_000);
        TurnstileClientImpl client = client(builder(server(mini).address()).withTokenInvalidationHandler((t, r) -> {
            asked.add(r.errorCode());
            return DefaultTokenInvalidationHandler.INSTANCE.shouldInvalidate(t, r);
        }));
        Lease lease = client.checkout("cad");
        // WHEN the server pushes LEASE_REVOKED with the reason
        mini.peer().send(0, new Message.Notice(NoticeKind.LEASE_REVOKED.code(), lease.id(), reason.code(), "cad", 0,
                "revoked"));
        // THEN the application hears the notice and the loss, and the handler's answer decides the token
        Await.until("leaseLost", () -> events.lostWith(lease.id(), reason));
        assertEquals(NoticeKind.LEASE_REVOKED, events.notices.get(0).noticeKind());
        client.heartbeatNow().get(10, TimeUnit.SECONDS); // the client thread is past the notice
        assertEquals(List.of(reason), asked);
        assertEquals(removed, client.tokenManager().get(lease.id()).isEmpty());
        assertTrue(client.leases().isEmpty());
    }

    @Test
    void with_automatic_invalidation_disabled_a_revoked_lease_keeps_its_token() throws Exception {
        // GIVEN the setting on
        MiniServer mini = new MiniServer("s1", NO_HEARTBEATS_MS, 60_000);
        TurnstileClientImpl client = client(builder(server(mini).address()).tokenAutomaticInvalidationDisabled(true));
        Lease lease = client.checkout("cad");
        // WHEN the lease is revoked because it expired
        mini.peer().send(0, new Message.Notice(NoticeKind.LEASE_REVOKED.code(), lease.id(),
                ErrorCode.LICENSE_CHECKOUT_EXPIRED.code(), "cad", 0, "expired"));
        // THEN it is lost, and the token stays
        Await.until("leaseLost", () -> events.lostWith(lease.id(), ErrorCode.LICENSE_CHECKOUT_EXPIRED));
        client.heartbeatNow().get(10, TimeUnit.SECONDS);
        assertTrue(client.tokenManager().get(lease.id()).isPresent());
    }

    // ------------------------------------------------------------------ restart and close

    @Test
    void after_a_restart_the_client_reclaims_the_leases_of_its_stored_tokens_for_its_hardware_id() throws Exception {
        // GIVEN a token file written by an earlier run: one lease of this machine, one of another
        MiniServer mini = new MiniServer("s1", 100, 1000);
        ScriptedServer s = server(mini);
        FileTokenManager file = new FileTokenManager(dir.resolve("tokens.properties"));
        Instant then = Instant.parse("2026-02-01T08:00:00Z");
        LeaseToken mine = new LeaseToken(UUID.randomUUID(), "cad", "k1", "ent-cad", 2, Enforcement.SEATS,
                s.address(), "hw-1", then, then);
        LeaseToken other = new LeaseToken(UUID.randomUUID(), "cad", "", "ent-cad", 1, Enforcement.SEATS,
                s.address(), "hw-OTHER", then, then);
        file.store(mine);
        file.store(other);
        // WHEN the program starts again with that file and connects
        TurnstileClientImpl client = client(builder(s.address())
                .withTokenManager(new FileTokenManager(dir.resolve("tokens.properties"))));
        client.connect();
        // THEN only its own lease was reclaimed, is held again and reported restored
        assertEquals(1, mini.reclaims().size());
        assertEquals(mine.leaseId(), mini.reclaims().get(0).reclaimLeaseId());
        Await.until("leaseRestored", () -> events.restored.size() == 1);
        assertEquals(List.of(Lease.of(mine)), client.leases());
        assertNotEquals(then, client.tokenManager().get(mine.leaseId()).orElseThrow().lastConfirmedAt());
    }

    @Test
    void close_says_goodbye_and_drops_the_tokens_of_the_leases_the_server_checked_in() throws Exception {
        // GIVEN a client with two leases
        MiniServer mini = new MiniServer("s1", 100, 1000);
        TurnstileClientImpl client = client(builder(server(mini).address()));
        client.checkout("a");
        client.checkout("b");
        // WHEN it closes
        client.close();
        // THEN the server got GOODBYE, the tokens are gone, and further calls fail as CLOSED
        assertFalse(mini.sent(Message.Goodbye.class, g -> true).isEmpty());
        assertTrue(client.tokenManager().all().isEmpty());
        assertEquals(TurnstileClient.State.CLOSED, client.state());
        assertEquals(TurnstileException.Kind.CLOSED,
                assertThrows(TurnstileException.class, () -> client.checkout("a")).kind());
    }

    @Test
    void peers_named_in_welcome_join_the_failover_list() throws Exception {
        // GIVEN a server whose WELCOME names two peers
        MiniServer mini = new MiniServer("s1", 100, 1000);
        mini.welcome = Peer.welcome("s1", 100, 1000, List.of("10.9.9.1:7070", "10.9.9.2:7070"));
        ScriptedServer s = server(mini);
        TurnstileClientImpl client = client(builder(s.address()));
        // WHEN connected
        SessionInfo info = client.connect();
        // THEN the session and the failover list show them
        assertEquals(List.of("10.9.9.1:7070", "10.9.9.2:7070"), info.peers());
        assertEquals(List.of(s.address(), "10.9.9.1:7070", "10.9.9.2:7070"), client.servers());
        assertEquals(Duration.ofMillis(100), info.heartbeatInterval());
        assertEquals(Duration.ofMillis(1000), info.leaseTimeout());
    }
}
