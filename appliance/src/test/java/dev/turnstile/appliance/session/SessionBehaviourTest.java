package dev.turnstile.appliance.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.Appliance;
import dev.turnstile.appliance.testing.RawClient;
import dev.turnstile.appliance.testing.TestAppliances;
import dev.turnstile.protocol.Envelope;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Message;
import dev.turnstile.protocol.NoticeKind;
import dev.turnstile.testsupport.Wait;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The lease lifecycle as a client sees it, over real loopback sockets against a real appliance. */
class SessionBehaviourTest {
    private Vertx vertx;
    private Appliance appliance;

    @BeforeEach
    void start() throws Exception {
        vertx = Vertx.vertx();
        appliance = Appliance.start(vertx, TestAppliances.config("s1", 2)).await(20, TimeUnit.SECONDS);
    }

    @AfterEach
    void stop() throws Exception {
        appliance.shutdown().await(20, TimeUnit.SECONDS);
        vertx.close().await(20, TimeUnit.SECONDS);
    }

    private RawClient client(String name) throws Exception {
        return RawClient.session(appliance.tcpPort(), name, "hw-" + name);
    }

    @Test
    @DisplayName("GIVEN two seats WHEN three clients check out THEN the third is denied, and killing a holder gives its seat back")
    void seats_run_out_and_a_killed_clients_seat_comes_back() throws Exception {
        try (RawClient a = client("a"); RawClient b = client("b"); RawClient c = client("c")) {
            assertInstanceOf(Message.Granted.class, a.request(a.checkout("cad-pro", 1)).message());
            assertInstanceOf(Message.Granted.class, b.request(b.checkout("cad-pro", 1)).message());
            Message.Denied d = (Message.Denied) c.request(c.checkout("cad-pro", 1)).message();
            assertEquals(ErrorCode.NO_SEATS_AVAILABLE, d.errorCode());

            a.close(); // the client "crashes": its socket dies
            Message m = Wait.forValue("the killed client's seat returned", java.time.Duration.ofSeconds(10),
                    () -> c.request(c.checkout("cad-pro", 1)).message(), x -> x instanceof Message.Granted);
            assertInstanceOf(Message.Granted.class, m, "the killed client's seat returned");
            assertEquals(2, appliance.ledger().pools().stream().filter(p -> p.productId().equals("cad-pro"))
                    .findFirst().orElseThrow().used());
        }
    }

    @Test
    @DisplayName("GIVEN a held lease WHEN the client heartbeats past the lease timeout THEN the lease stays")
    void heartbeats_keep_a_lease_alive() throws Exception {
        try (RawClient a = client("a")) {
            Message.Granted g = (Message.Granted) a.request(a.checkout("cad-pro", 1)).message();
            for (int i = 0; i < 8; i++) { // 8 x 400 ms = 3.2 s, more than twice the 1.5 s timeout
                Thread.sleep(400); // the behaviour under test: time passes between heartbeats
                Message.HeartbeatResult r = (Message.HeartbeatResult) a.request(
                        new Message.Heartbeat(List.of(g.leaseId()))).message();
                assertTrue(r.results().get(0).ok(), "heartbeat " + i + ": " + r);
            }
            assertTrue(appliance.ledger().lease(g.leaseId()).isPresent());
        }
    }

    @Test
    @DisplayName("GIVEN a held lease WHEN heartbeats stop THEN it expires, the client is told, and the next heartbeat gets licenseCheckoutExpired")
    void a_silent_lease_expires() throws Exception {
        try (RawClient a = client("a")) {
            Message.Granted g = (Message.Granted) a.request(a.checkout("cad-pro", 1)).message();
            Envelope notice = a.read(); // blocks up to 5 s; the lease times out after 1.5 s
            Message.Notice n = assertInstanceOf(Message.Notice.class, notice.message());
            assertEquals(0, notice.correlationId());
            assertEquals(NoticeKind.LEASE_REVOKED, n.noticeKind());
            assertEquals(g.leaseId(), n.leaseId());
            assertEquals(ErrorCode.LICENSE_CHECKOUT_EXPIRED, n.reason());
            Message.HeartbeatResult r = (Message.HeartbeatResult) a.request(
                    new Message.Heartbeat(List.of(g.leaseId()))).message();
            assertEquals(ErrorCode.LICENSE_CHECKOUT_EXPIRED, r.results().get(0).errorCode());
        }
    }

    @Test
    @DisplayName("GIVEN no free seat WHEN a client checks out with WAIT THEN it is QUEUED and GRANTED on the same id once a seat frees")
    void a_waiting_checkout_is_served_in_order() throws Exception {
        try (RawClient a = client("a"); RawClient b = client("b")) {
            Message.Granted g = (Message.Granted) a.request(a.checkout("cad-pro", 2)).message();
            int id = b.nextId();
            b.send(id, new Message.Checkout("cad-pro", "", 1, 1, Message.Checkout.FLAG_WAIT, 5_000, Message.NO_LEASE));
            Envelope q = b.read();
            assertEquals(id, q.correlationId());
            assertEquals(1, assertInstanceOf(Message.Queued.class, q.message()).position());
            assertInstanceOf(Message.CheckedIn.class, a.request(new Message.Checkin(g.leaseId())).message());
            Envelope later = b.read();
            assertEquals(id, later.correlationId());
            assertInstanceOf(Message.Granted.class, later.message());
        }
    }

    @Test
    @DisplayName("GIVEN a queued checkout WHEN its wait timeout passes THEN it is DENIED with queueTimeout")
    void a_queued_checkout_times_out() throws Exception {
        try (RawClient a = client("a"); RawClient b = client("b")) {
            a.request(a.checkout("cad-pro", 2));
            int id = b.nextId();
            b.send(id, new Message.Checkout("cad-pro", "", 1, 1, Message.Checkout.FLAG_WAIT, 300, Message.NO_LEASE));
            assertInstanceOf(Message.Queued.class, b.read().message());
            Envelope e = b.read();
            assertEquals(id, e.correlationId());
            assertEquals(ErrorCode.QUEUE_TIMEOUT, assertInstanceOf(Message.Denied.class, e.message()).errorCode());
        }
    }

    @Test
    @DisplayName("GIVEN a checkouts pool WHEN a client asks for seats enforcement THEN it gets licenseConsumptionQtyEnforcementTypeMismatch")
    void enforcement_type_must_match() throws Exception {
        try (RawClient a = client("a")) {
            Message.Denied d = (Message.Denied) a.request(a.checkout("sim-suite", 1)).message();
            assertEquals(ErrorCode.LICENSE_CONSUMPTION_QTY_ENFORCEMENT_TYPE_MISMATCH, d.errorCode());
            Message.Denied u = (Message.Denied) a.request(a.checkout("no-such-product", 1)).message();
            assertEquals(ErrorCode.UNKNOWN_PRODUCT, u.errorCode());
        }
    }

    @Test
    @DisplayName("GIVEN a lease of client a WHEN client b on another machine heartbeats it THEN clientHwIdMismatch; WHEN b "
            + "reclaims it without the secret THEN reclaimSecretMismatch (checked first, PROTOCOL.md 10.6)")
    void another_machine_cannot_touch_a_lease() throws Exception {
        try (RawClient a = client("a"); RawClient b = client("b")) {
            Message.Granted g = (Message.Granted) a.request(a.checkout("cad-pro", 1)).message();
            Message.HeartbeatResult r = (Message.HeartbeatResult) b.request(
                    new Message.Heartbeat(List.of(g.leaseId()))).message();
            assertEquals(ErrorCode.CLIENT_HW_ID_MISMATCH, r.results().get(0).errorCode());
            Message.Denied d = (Message.Denied) b.request(b.reclaim("cad-pro", g.leaseId())).message();
            assertEquals(ErrorCode.RECLAIM_SECRET_MISMATCH, d.errorCode());
            assertTrue(r.results().size() == 1);
        }
    }

    @Test
    @DisplayName("GIVEN a HELLO without client_version or with a disallowed one THEN the server answers the named error and closes")
    void client_versions_are_checked() throws Exception {
        try (RawClient c = RawClient.connect(appliance.tcpPort())) {
            c.preamble();
            Message.Error e = (Message.Error) c.request(new Message.Hello("x", "hw", "", "")).message();
            assertEquals(ErrorCode.CLIENT_VERSION_MISSING, e.errorCode());
            assertTrue(c.closedByServer());
        }
        try (RawClient c = RawClient.connect(appliance.tcpPort())) {
            c.preamble();
            Message.Error e = (Message.Error) c.request(new Message.Hello("x", "hw", "0.9.0", "")).message();
            assertEquals(ErrorCode.CLIENT_VERSION_NOT_ALLOWED, e.errorCode());
            assertTrue(c.closedByServer());
        }
    }

    @Test
    @DisplayName("GIVEN a configured client token WHEN a client presents a wrong one THEN authenticationFailed and close")
    void a_wrong_token_is_refused() throws Exception {
        JsonObject cfg = TestAppliances.config("s2", 1);
        cfg.getJsonObject("clients").put("auth_token", "right-token");
        Appliance secured = Appliance.start(vertx, cfg).await(20, TimeUnit.SECONDS);
        try (RawClient c = RawClient.connect(secured.tcpPort())) {
            c.preamble();
            Message.Error e = (Message.Error) c.request(new Message.Hello("x", "hw", "1.0.0", "wrong-token")).message();
            assertEquals(ErrorCode.AUTHENTICATION_FAILED, e.errorCode());
            assertTrue(c.closedByServer());
        }
        try (RawClient c = RawClient.connect(secured.tcpPort())) {
            c.preamble();
            assertInstanceOf(Message.Welcome.class, c.request(new Message.Hello("x", "hw", "1.0.0", "right-token")).message());
        } finally {
            secured.shutdown().await(20, TimeUnit.SECONDS);
        }
    }

    @Test
    @DisplayName("GIVEN connected clients WHEN the appliance shuts down THEN they get NOTICE DRAINING, new checkouts get draining, then GOODBYE")
    void shutdown_drains_clients() throws Exception {
        RawClient a = client("a");
        try {
            a.request(a.checkout("cad-pro", 1));
            List<dev.turnstile.appliance.seat.LedgerEvent> denials = new java.util.concurrent.CopyOnWriteArrayList<>();
            appliance.registry().addJournalSink(ev -> {
                if (ev.kind() == dev.turnstile.appliance.seat.LedgerEvent.Kind.DENIAL) {
                    denials.add(ev);
                }
            });
            var done = appliance.shutdown();
            Envelope e = a.read();
            Message.Notice n = assertInstanceOf(Message.Notice.class, e.message());
            assertEquals(NoticeKind.DRAINING, n.noticeKind());
            assertTrue(n.deadlineMs() > 0);
            Message.Denied d = (Message.Denied) a.request(a.checkout("cad-pro", 1)).message();
            assertEquals(ErrorCode.DRAINING, d.errorCode());
            assertEquals(1, denials.size(), "a refusal before the ledger is journaled like the ledger's own");
            assertEquals(ErrorCode.DRAINING, denials.get(0).reason());
            Message last = a.read().message();
            assertInstanceOf(Message.Goodbye.class, last);
            assertTrue(a.closedByServer());
            done.await(10, TimeUnit.SECONDS);
        } finally {
            a.close();
        }
    }

    @Test
    @DisplayName("GIVEN a client that says GOODBYE THEN its leases are checked in and the server answers GOODBYE and closes")
    void goodbye_checks_in_everything() throws Exception {
        try (RawClient a = client("a")) {
            a.request(a.checkout("cad-pro", 2));
            Envelope e = a.request(new Message.Goodbye(0, "bye"));
            assertInstanceOf(Message.Goodbye.class, e.message());
            assertTrue(a.closedByServer());
            assertEquals(0, appliance.ledger().leaseCount());
            assertFalse(appliance.ledger().pools().isEmpty());
        }
    }
}
