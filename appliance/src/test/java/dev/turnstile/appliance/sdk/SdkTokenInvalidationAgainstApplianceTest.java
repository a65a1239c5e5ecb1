package dev.turnstile.appliance.sdk;

import static dev.turnstile.appliance.sdk.SdkFixture.CAD;
import static dev.turnstile.appliance.sdk.SdkFixture.until;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.Appliance;
import dev.turnstile.appliance.seat.LeaseState;
import dev.turnstile.appliance.seat.LeaseView;
import dev.turnstile.client.FileTokenManager;
import dev.turnstile.client.Lease;
import dev.turnstile.client.TokenInvalidationHandler;
import dev.turnstile.client.impl.TurnstileClientImpl;
import dev.turnstile.protocol.ErrorCode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which codes from a real appliance remove a stored token, and which keep it: with the default
 * handler, with {@code token_automatic_invalidation_disabled}, with a custom handler, and across a
 * restart of the program (tokens in a file).
 */
class SdkTokenInvalidationAgainstApplianceTest {
    private final SdkFixture fx = new SdkFixture();
    private final SdkFixture.Events events = new SdkFixture.Events();

    @TempDir
    Path dir;

    @AfterEach
    void tearDown() throws Exception {
        fx.close();
    }

    /**
     * Lets the appliance expire {@code lease}: the client stops heartbeating it (keepalives go on),
     * the appliance's clock passes the lease timeout, then heartbeats resume. The appliance reports
     * the expiry with licenseCheckoutExpired, by NOTICE LEASE_REVOKED or in the next heartbeat's
     * result, whichever comes first; the client must react the same either way.
     */
    private void expire(TurnstileClientImpl client, Lease lease) {
        client.pauseLeaseHeartbeats(true);
        fx.clock.advance(Duration.ofMillis(SdkFixture.LEASE_TIMEOUT_MS + 500));
        client.pauseLeaseHeartbeats(false);
        until("the lease reported lost with licenseCheckoutExpired",
                () -> events.lostWith(lease.id(), ErrorCode.LICENSE_CHECKOUT_EXPIRED));
    }

    /** Waits until the client thread has handled everything received so far (a heartbeat round trip). */
    private static void settle(TurnstileClientImpl client) throws Exception {
        client.heartbeatNow().get(10, TimeUnit.SECONDS);
    }

    @Test
    void a_lease_the_appliance_expired_is_lost_and_its_token_removed() throws Exception {
        // GIVEN a client with a lease and the default handler
        Appliance a = fx.start("sdk-1");
        TurnstileClientImpl client = fx.build(fx.client(events, a));
        Lease lease = client.checkout(CAD);
        // WHEN the appliance expires it
        expire(client, lease);
        // THEN the ledger no longer has it, the client no longer holds it, and its token is gone
        settle(client);
        assertTrue(a.ledger().lease(lease.id()).isEmpty());
        assertTrue(client.leases().isEmpty());
        assertTrue(client.tokenManager().get(lease.id()).isEmpty());
    }

    @Test
    void with_automatic_invalidation_disabled_the_expired_leases_token_is_kept() throws Exception {
        // GIVEN the setting token_automatic_invalidation_disabled=true (read from properties)
        Appliance a = fx.start("sdk-1");
        java.util.Properties p = new java.util.Properties();
        p.setProperty("token_automatic_invalidation_disabled", "true");
        TurnstileClientImpl client = fx.build(fx.client(events, a).fromProperties(p));
        Lease lease = client.checkout(CAD);
        // WHEN the appliance expires the lease
        expire(client, lease);
        settle(client);
        // THEN the lease is lost but its token stays for the application
        assertTrue(client.leases().isEmpty());
        assertTrue(client.tokenManager().get(lease.id()).isPresent());
    }

    @Test
    void a_custom_handler_is_asked_with_the_appliances_code_and_its_answer_is_applied() throws Exception {
        // GIVEN a handler that keeps every token, recording what it is asked
        List<String> asked = new CopyOnWriteArrayList<>();
        TokenInvalidationHandler keepAll = (token, result) -> {
            asked.add(token.product() + ":" + result.errorCode().wireName());
            return false;
        };
        Appliance a = fx.start("sdk-1");
        TurnstileClientImpl client = fx.build(fx.client(events, a).withTokenInvalidationHandler(keepAll));
        Lease lease = client.checkout(CAD);
        // WHEN the appliance expires the lease
        expire(client, lease);
        settle(client);
        // THEN the handler was asked once, with licenseCheckoutExpired, and the token is kept as it said
        assertEquals(List.of(CAD + ":licenseCheckoutExpired"), asked);
        assertTrue(client.tokenManager().get(lease.id()).isPresent());
    }

    @Test
    void a_lease_force_released_by_the_admin_is_lost_but_keeps_its_token_with_the_default_handler() throws Exception {
        // GIVEN a client with a lease
        Appliance a = fx.start("sdk-1");
        TurnstileClientImpl client = fx.build(fx.client(events, a));
        Lease lease = client.checkout(CAD);
        // WHEN the admin force-releases it (the appliance pushes LEASE_REVOKED forcedRelease)
        assertEquals(ErrorCode.OK, a.ledger().forceRelease(lease.id(), fx.clock.millis()));
        // THEN the client reports it lost with forcedRelease; forcedRelease is not a token-dropping code
        until("leaseLost forcedRelease", () -> events.lostWith(lease.id(), ErrorCode.FORCED_RELEASE));
        settle(client);
        assertTrue(client.leases().isEmpty());
        assertTrue(client.tokenManager().get(lease.id()).isPresent());
    }

    @Test
    void a_restarted_program_reclaims_its_orphaned_lease_from_the_token_file() throws Exception {
        // GIVEN an appliance that keeps a lost session's leases for 60 s, and a program with a token file
        Appliance a = fx.start("sdk-1", c -> c.getJsonObject("server").put("reclaim_grace", "60s"));
        Path file = dir.resolve("tokens.properties");
        TurnstileClientImpl first = fx.build(fx.client(events, a).withTokenManager(new FileTokenManager(file)));
        Lease lease = first.checkout(CAD);
        long firstSession = a.ledger().lease(lease.id()).orElseThrow().sessionId();
        // WHEN the program dies (no GOODBYE) and the appliance orphans the lease
        first.abandon();
        until("the lease orphaned", () -> a.ledger().lease(lease.id())
                .map(v -> v.state() == LeaseState.ORPHANED).orElse(false));
        // AND the program starts again with the same token file and hardware id
        TurnstileClientImpl second = fx.build(fx.client(events, a).withTokenManager(new FileTokenManager(file)));
        second.connect();
        // THEN it holds the same lease again, in a new session, and says so
        until("leaseRestored", () -> events.restored.size() == 1);
        assertEquals(List.of(lease), second.leases());
        LeaseView v = a.ledger().lease(lease.id()).orElseThrow();
        assertEquals(LeaseState.HELD, v.state());
        assertNotEquals(firstSession, v.sessionId());
    }

    @Test
    void a_restarted_program_whose_lease_expired_meanwhile_drops_the_token_on_licenseCheckoutExpired()
            throws Exception {
        // GIVEN a first run that kept the token of a lease the appliance expired (invalidation disabled)
        Appliance a = fx.start("sdk-1");
        Path file = dir.resolve("tokens.properties");
        TurnstileClientImpl first = fx.build(fx.client(events, a).withTokenManager(new FileTokenManager(file))
                .tokenAutomaticInvalidationDisabled(true));
        Lease lease = first.checkout(CAD);
        expire(first, lease);
        first.abandon();
        assertTrue(new FileTokenManager(file).get(lease.id()).isPresent());
        events.lost.clear();
        // WHEN the program starts again with the default handler and reclaims from the file
        TurnstileClientImpl second = fx.build(fx.client(events, a).withTokenManager(new FileTokenManager(file)));
        second.connect();
        // THEN the appliance refuses the reclaim with licenseCheckoutExpired, the lease is reported
        // lost, and the token is deleted from the file
        // (connect() returns once every reclaim is answered and decided)
        assertTrue(new FileTokenManager(file).get(lease.id()).isEmpty());
        assertTrue(second.leases().isEmpty());
        until("leaseLost licenseCheckoutExpired", () -> events.lostWith(lease.id(), ErrorCode.LICENSE_CHECKOUT_EXPIRED));
    }
}
