package dev.turnstile.appliance.session;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.turnstile.appliance.authority.AuthorityRefusal;
import dev.turnstile.appliance.authority.CheckoutResult;
import dev.turnstile.appliance.authority.LeaseDecision;
import dev.turnstile.appliance.authority.SeatAuthority;
import dev.turnstile.appliance.config.ClientPolicy;
import dev.turnstile.appliance.config.SessionLimitsConfig;
import dev.turnstile.appliance.seat.CheckoutCommand;
import dev.turnstile.appliance.seat.CheckoutOutcome;
import dev.turnstile.appliance.seat.ClientRef;
import dev.turnstile.appliance.seat.ConcurrentLedger;
import dev.turnstile.appliance.seat.Entitlement;
import dev.turnstile.appliance.seat.LeaseState;
import dev.turnstile.appliance.seat.LeaseView;
import dev.turnstile.appliance.seat.LedgerSettings;
import dev.turnstile.appliance.seat.SecretHash;
import dev.turnstile.appliance.testing.RawClient;
import dev.turnstile.protocol.Envelope;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Message;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetServerOptions;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A session keeps several requests in flight and answers them in the order they came (PROTOCOL.md 5.3),
 * whatever order the seat authority decides them in: a real server socket on loopback, a scripted seat
 * authority whose decisions the test completes, one at a time, on the session's context (as the triad's does).
 */
class SessionPipelineTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    private Vertx vertx;
    private Services services;
    private int port;

    /** A decision the test makes: completed on the context that asked for it, like the replicated authority's. */
    static final class Pending<T> {
        final String what;
        final Object request;
        final Context context = Vertx.currentContext();
        final Promise<T> promise = Promise.promise();

        Pending(String what, Object request) {
            this.what = what;
            this.request = request;
        }

        void complete(T value) {
            context.runOnContext(v -> promise.complete(value));
        }
    }

    /** Records every call; each answers only when the test completes it. */
    static final class ScriptedAuthority implements SeatAuthority {
        final List<Pending<?>> calls = new CopyOnWriteArrayList<>();

        private <T> Future<T> record(String what, Object request) {
            Pending<T> p = new Pending<>(what, request);
            calls.add(p);
            return p.promise.future();
        }

        @SuppressWarnings("unchecked")
        <T> Pending<T> call(int i) {
            return (Pending<T>) calls.get(i);
        }

        @Override
        public Future<CheckoutResult> checkout(CheckoutCommand command) {
            return record("checkout", command);
        }

        @Override
        public Future<List<Message.LeaseStatus>> heartbeat(ClientRef client, List<UUID> leaseIds, long nowMs) {
            return record("heartbeat", leaseIds);
        }

        @Override
        public Future<LeaseDecision> checkin(ClientRef client, UUID leaseId, SecretHash proof, long nowMs) {
            return record("checkin", leaseId);
        }

        @Override
        public Future<Integer> releaseAll(ClientRef client, long nowMs) {
            return record("releaseAll", client);
        }

        @Override
        public Future<Void> sessionLost(long sessionId, long nowMs) {
            return Future.succeededFuture();
        }

        @Override
        public Future<LeaseDecision> forceRelease(UUID leaseId, long nowMs) {
            return record("forceRelease", leaseId);
        }

        @Override
        public Future<Void> upsertEntitlement(Entitlement entitlement, long nowMs) {
            return Future.succeededFuture();
        }

        @Override
        public Future<Void> removeEntitlement(String entitlementId, long nowMs) {
            return Future.succeededFuture();
        }

        @Override
        public boolean decidesHere() {
            return true;
        }

        @Override
        public AuthorityRefusal refusal() {
            return null;
        }

        @Override
        public long term() {
            return 7;
        }

        @Override
        public long logIndex() {
            return 42;
        }
    }

    static final class Services implements SessionServices {
        final ScriptedAuthority authority = new ScriptedAuthority();
        final SessionRegistry registry = new SessionRegistry();
        final ConcurrentLedger ledger = new ConcurrentLedger(LedgerSettings.defaults(), registry);
        final int maxInFlight;

        Services(int maxInFlight) {
            this.maxInFlight = maxInFlight;
            registry.configureLimits(SessionLimitsConfig.defaults(), 100);
        }

        @Override
        public SeatAuthority authority() {
            return authority;
        }

        @Override
        public ConcurrentLedger ledger() {
            return ledger;
        }

        @Override
        public SessionRegistry registry() {
            return registry;
        }

        @Override
        public ClientPolicy clientPolicy() {
            return new ClientPolicy("", "", List.of());
        }

        @Override
        public long nowMs() {
            return System.currentTimeMillis();
        }

        @Override
        public long helloTimeoutMs() {
            return 10_000;
        }

        @Override
        public long slowConsumerTimeoutMs() {
            return 10_000;
        }

        @Override
        public long leaseTimeoutMs() {
            return 30_000;
        }

        @Override
        public int maxInFlight() {
            return maxInFlight;
        }

        @Override
        public Message.Welcome welcome() {
            return new Message.Welcome("pipeline-test", 10_000, 30_000, nowMs(), 0, 0, List.of());
        }

        @Override
        public boolean draining() {
            return false;
        }
    }

    private void start(int maxInFlight) throws Exception {
        vertx = Vertx.vertx();
        services = new Services(maxInFlight);
        TcpServerVerticle server = new TcpServerVerticle(services,
                new NetServerOptions().setHost("127.0.0.1").setPort(0));
        vertx.deployVerticle(server).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        port = server.actualPort();
    }

    @AfterEach
    void stop() throws Exception {
        if (vertx != null) {
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        }
    }

    private static LeaseView lease(String product) {
        return new LeaseView(UUID.randomUUID(), "ent-" + product, product, 1, "press-1", "hw-1", "127.0.0.1:1", 1,
                0, 0, 0, LeaseState.HELD);
    }

    /** Frames written in one go, so the server reads them together. */
    private static void sendAll(RawClient c, List<Integer> corrs, List<Message> messages) throws Exception {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (int i = 0; i < corrs.size(); i++) {
            all.write(dev.turnstile.protocol.Codec.encode(corrs.get(i), messages.get(i), c.version()));
        }
        c.sendRaw(all.toByteArray());
    }

    @Test
    void eight_pipelined_checkouts_are_all_with_the_authority_before_one_is_decided_and_are_answered_in_request_order()
            throws Exception {
        start(32);
        try (RawClient c = RawClient.session(port, "press-1", "hw-1")) {
            List<Integer> corrs = new ArrayList<>();
            List<Message> frames = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                corrs.add(100 + i);
                frames.add(c.checkout("cad-pro", 1));
            }
            sendAll(c, corrs, frames);

            // WHEN all eight are in flight at once (before this, a triad session had one)
            await().atMost(WAIT).until(() -> services.authority.calls.size() == 8);
            // THEN deciding them last to first still answers them first to last
            for (int i = 7; i >= 0; i--) {
                services.authority.<CheckoutResult>call(i).complete(
                        new CheckoutResult(new CheckoutOutcome.Granted(lease("cad-pro"), false), 7, 42 + i));
            }
            for (int i = 0; i < 8; i++) {
                Envelope e = c.read();
                assertEquals(100 + i, e.correlationId(), "answers in the order of the requests");
                Message.Granted g = assertInstanceOf(Message.Granted.class, e.message());
                assertEquals(42 + i, g.logIndex(), "each answer is its own request's decision");
                assertEquals(7, g.term());
            }
        }
    }

    @Test
    void at_the_in_flight_limit_the_server_reads_the_next_request_only_once_an_answer_is_written() throws Exception {
        start(4);
        try (RawClient c = RawClient.session(port, "press-1", "hw-1")) {
            List<Integer> corrs = new ArrayList<>();
            List<Message> frames = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                corrs.add(200 + i);
                frames.add(c.checkout("cad-pro", 1));
            }
            sendAll(c, corrs, frames);
            await().atMost(WAIT).until(() -> services.authority.calls.size() == 4);
            // the fifth waits unread while four are in flight: it must not arrive during a while (bounded)
            await("no fifth request while four are in flight").during(Duration.ofMillis(300)).atMost(WAIT)
                    .until(() -> services.authority.calls.size() == 4);

            services.authority.<CheckoutResult>call(0).complete(
                    new CheckoutResult(new CheckoutOutcome.Denied(ErrorCode.NO_SEATS_AVAILABLE, "none"), 0, 0));
            assertEquals(200, c.read().correlationId());
            await().atMost(WAIT).until(() -> services.authority.calls.size() == 5);
            for (int i = 1; i < 5; i++) {
                services.authority.<CheckoutResult>call(i).complete(
                        new CheckoutResult(new CheckoutOutcome.Denied(ErrorCode.NO_SEATS_AVAILABLE, "none"), 0, 0));
            }
            await().atMost(WAIT).until(() -> services.authority.calls.size() == 6);
            services.authority.<CheckoutResult>call(5).complete(
                    new CheckoutResult(new CheckoutOutcome.Denied(ErrorCode.NO_SEATS_AVAILABLE, "none"), 0, 0));
            for (int i = 1; i < 6; i++) {
                assertEquals(200 + i, c.read().correlationId());
            }
        }
    }

    @Test
    void a_heartbeat_behind_a_checkin_in_flight_is_decided_only_after_the_checkin() throws Exception {
        start(32);
        try (RawClient c = RawClient.session(port, "press-1", "hw-1")) {
            UUID lease = UUID.randomUUID();
            sendAll(c, List.of(1, 2), List.of(c.checkin(lease, null), new Message.Heartbeat(List.of(lease))));
            await().atMost(WAIT).until(() -> services.authority.calls.size() == 1);
            // the heartbeat must not be decided while the checkin is in flight
            await("the heartbeat waits for the checkin's decision").during(Duration.ofMillis(300)).atMost(WAIT)
                    .until(() -> services.authority.calls.size() == 1);

            services.authority.<LeaseDecision>call(0).complete(new LeaseDecision(ErrorCode.OK, 0));
            await().atMost(WAIT).until(() -> services.authority.calls.size() == 2);
            assertEquals("heartbeat", services.authority.calls.get(1).what);
            services.authority.<List<Message.LeaseStatus>>call(1).complete(
                    List.of(new Message.LeaseStatus(lease, ErrorCode.LEASE_ID_NOT_FOUND.code(), 0)));
            assertInstanceOf(Message.CheckedIn.class, c.read().message());
            Message.HeartbeatResult hb = assertInstanceOf(Message.HeartbeatResult.class, c.read().message());
            assertEquals(ErrorCode.LEASE_ID_NOT_FOUND.code(), hb.results().get(0).code());
        }
    }

    @Test
    void a_queued_checkouts_grant_never_overtakes_its_QUEUED_answer() throws Exception {
        start(32);
        try (RawClient c = RawClient.session(port, "press-1", "hw-1")) {
            UUID held = UUID.randomUUID();
            Message.Checkout wait = c.checkout("cad-pro", "", 1, Message.Checkout.FLAG_WAIT, 60_000);
            sendAll(c, List.of(1, 2), List.of(c.checkin(held, null), wait));
            await().atMost(WAIT).until(() -> services.authority.calls.size() == 2);
            // the checkout is queued, then granted, while the checkin before it is still undecided
            services.authority.<CheckoutResult>call(1).complete(
                    new CheckoutResult(new CheckoutOutcome.Queued(1, 60_000), 7, 40));
            long sessionId = services.registry.all().iterator().next().id();
            LeaseView granted = lease("cad-pro");
            services.registry.all().iterator().next().runOnContext(() -> services.registry.queuedGranted(sessionId, 2,
                    granted));
            services.authority.<LeaseDecision>call(0).complete(new LeaseDecision(ErrorCode.OK, 7));

            Envelope first = c.read();
            assertEquals(1, first.correlationId());
            assertInstanceOf(Message.CheckedIn.class, first.message());
            Envelope second = c.read();
            assertEquals(2, second.correlationId());
            assertInstanceOf(Message.Queued.class, second.message());
            Envelope third = c.read();
            assertEquals(2, third.correlationId());
            assertEquals(granted.leaseId(), assertInstanceOf(Message.Granted.class, third.message()).leaseId());
        }
    }
}
