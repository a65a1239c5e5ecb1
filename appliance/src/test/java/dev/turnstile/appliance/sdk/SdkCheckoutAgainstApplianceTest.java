package dev.turnstile.appliance.sdk;

import static dev.turnstile.appliance.sdk.SdkFixture.CAD;
import static dev.turnstile.appliance.sdk.SdkFixture.SIM;
import static dev.turnstile.appliance.sdk.SdkFixture.until;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.Appliance;
import dev.turnstile.appliance.seat.LeaseState;
import dev.turnstile.appliance.seat.LeaseView;
import dev.turnstile.client.CheckoutRequest;
import dev.turnstile.client.Lease;
import dev.turnstile.client.SessionInfo;
import dev.turnstile.client.TurnstileClient;
import dev.turnstile.client.TurnstileException;
import dev.turnstile.client.impl.TurnstileClientImpl;
import dev.turnstile.protocol.Enforcement;
import dev.turnstile.protocol.ErrorCode;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The Java SDK against the real appliance: checkout, checkin, refusals, queueing, heartbeats. */
class SdkCheckoutAgainstApplianceTest {
    private final SdkFixture fx = new SdkFixture();
    private final SdkFixture.Events events = new SdkFixture.Events();

    @AfterEach
    void tearDown() throws Exception {
        fx.close();
    }

    @Test
    void checkout_and_checkin_take_and_return_seats_in_the_appliances_ledger() throws Exception {
        // GIVEN an appliance with 3 cad-pro seats and a client
        Appliance a = fx.start("sdk-1");
        TurnstileClientImpl client = fx.build(fx.client(events, a));
        // WHEN the client checks out 2 seats
        Lease lease = client.checkout(CheckoutRequest.of(CAD).withQuantity(2));
        // THEN the ledger holds that lease for this client's hardware id
        LeaseView v = a.ledger().lease(lease.id()).orElseThrow();
        assertEquals(LeaseState.HELD, v.state());
        assertEquals(2, v.quantity());
        assertEquals("hw-it-1", v.hwId());
        assertEquals("ent-cad", lease.entitlementId());
        assertTrue(client.tokenManager().get(lease.id()).isPresent());
        // AND 2 more seats do not fit: a typed refusal, and the session survives it
        TurnstileException full = assertThrows(TurnstileException.class,
                () -> client.checkout(CheckoutRequest.of(CAD).withQuantity(2)));
        assertEquals(ErrorCode.NO_SEATS_AVAILABLE, full.errorCode());
        assertEquals(TurnstileClient.State.CONNECTED, client.state());
        // WHEN it checks the lease in
        client.checkin(lease);
        // THEN the seats are back (all 3 fit again) and the token is gone
        assertTrue(a.ledger().lease(lease.id()).isEmpty());
        assertTrue(client.tokenManager().get(lease.id()).isEmpty());
        Lease all = client.checkout(CheckoutRequest.of(CAD).withQuantity(SdkFixture.CAD_SEATS));
        assertEquals(SdkFixture.CAD_SEATS, all.quantity());
    }

    @Test
    void the_appliances_refusals_arrive_as_typed_exceptions_carrying_their_codes() throws Exception {
        // GIVEN an appliance and a client
        Appliance a = fx.start("sdk-1");
        TurnstileClientImpl client = fx.build(fx.client(events, a));
        // WHEN checking out what the appliance must refuse; THEN each refusal names its code
        assertEquals(ErrorCode.UNKNOWN_PRODUCT,
                assertThrows(TurnstileException.class, () -> client.checkout("no-such-product")).errorCode());
        assertEquals(ErrorCode.LICENSE_CONSUMPTION_QTY_ENFORCEMENT_TYPE_MISMATCH, assertThrows(TurnstileException.class,
                () -> client.checkout(CheckoutRequest.of(SIM).withEnforcement(Enforcement.SEATS))).errorCode());
        Lease sim = client.checkout(CheckoutRequest.of(SIM).withEnforcement(Enforcement.CHECKOUTS));
        assertEquals(1, sim.quantity());
        assertEquals(TurnstileClient.State.CONNECTED, client.state());
    }

    @Test
    void a_client_version_the_appliance_does_not_allow_is_refused_at_connect() throws Exception {
        // GIVEN an appliance that requires version 1.0.0 or newer
        Appliance a = fx.start("sdk-1");
        // WHEN an old client and a client without a version connect
        TurnstileClientImpl old = fx.build(fx.client(events, a).clientVersion("0.9.0"));
        TurnstileClientImpl none = fx.build(fx.client(events, a).clientVersion(""));
        // THEN each is refused with its own code and stops retrying
        assertEquals(ErrorCode.CLIENT_VERSION_NOT_ALLOWED,
                assertThrows(TurnstileException.class, old::connect).errorCode());
        assertEquals(ErrorCode.CLIENT_VERSION_MISSING,
                assertThrows(TurnstileException.class, none::connect).errorCode());
        assertEquals(TurnstileClient.State.FAILED, old.state());
    }

    @Test
    void a_checkout_waiting_in_the_queue_gets_the_seat_another_client_gives_back() throws Exception {
        // GIVEN one client holding all cad-pro seats
        Appliance a = fx.start("sdk-1");
        TurnstileClientImpl holder = fx.build(fx.client(events, a).clientId("holder"));
        Lease all = holder.checkout(CheckoutRequest.of(CAD).withQuantity(SdkFixture.CAD_SEATS));
        // WHEN a second client asks for a seat, willing to wait
        TurnstileClientImpl waiter = fx.build(fx.client(events, a).clientId("waiter").hwId("hw-it-2"));
        CompletableFuture<Lease> f = waiter.checkoutAsync(CheckoutRequest.of(CAD).waitingInQueue(Duration.ofSeconds(20)));
        until("the checkout queued", () -> a.ledger().waiterCount() == 1);
        // AND the holder gives its seats back
        holder.checkin(all);
        // THEN the waiting client gets a seat
        Lease got = f.get(20, TimeUnit.SECONDS);
        assertEquals("hw-it-2", a.ledger().lease(got.id()).orElseThrow().hwId());
    }

    @Test
    void heartbeats_keep_a_lease_alive_across_many_lease_timeouts() throws Exception {
        // GIVEN a lease (lease timeout 1.5 s on the appliance's clock)
        Appliance a = fx.start("sdk-1");
        TurnstileClientImpl client = fx.build(fx.client(events, a));
        SessionInfo session = client.connect();
        assertEquals(Duration.ofMillis(SdkFixture.HEARTBEAT_MS), session.heartbeatInterval());
        assertEquals(Duration.ofMillis(SdkFixture.LEASE_TIMEOUT_MS), session.leaseTimeout());
        Lease lease = client.checkout(CAD);
        // WHEN the appliance's time moves on 1 s at a time, 6 times (4 lease timeouts in all),
        // each step followed by the client's next heartbeat
        for (int i = 0; i < 6; i++) {
            fx.clock.advance(Duration.ofSeconds(1));
            long now = fx.clock.millis();
            until("a heartbeat after step " + i, () -> a.ledger().lease(lease.id())
                    .map(v -> v.lastHeartbeatMs() >= now).orElse(false));
        }
        // THEN the lease is still held, by this client, and nothing was lost
        assertEquals(LeaseState.HELD, a.ledger().lease(lease.id()).orElseThrow().state());
        assertEquals(java.util.List.of(lease), client.leases());
        assertTrue(events.lost.isEmpty());
        assertTrue(client.tokenManager().get(lease.id()).orElseThrow().lastConfirmedAt()
                .isAfter(client.tokenManager().get(lease.id()).orElseThrow().checkedOutAt()));
    }
}
