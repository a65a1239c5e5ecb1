package dev.turnstile.appliance.sdk;

import static dev.turnstile.appliance.sdk.SdkFixture.CAD;
import static dev.turnstile.appliance.sdk.SdkFixture.HEARTBEAT_MS;
import static dev.turnstile.appliance.sdk.SdkFixture.LEASE_TIMEOUT_MS;
import static dev.turnstile.appliance.sdk.SdkFixture.until;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.Appliance;
import dev.turnstile.client.FileTokenManager;
import dev.turnstile.client.Lease;
import dev.turnstile.client.LeaseLossReason;
import dev.turnstile.client.TurnstileClient;
import dev.turnstile.client.impl.TurnstileClientImpl;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12, finding 2, end to end: the only appliance is killed; the SDK, which can reach no
 * server any more, tells the application within one lease timeout plus one heartbeat interval
 * ({@code expiredLocally}) and drops the token from its file, while it keeps trying to reconnect.
 */
class SdkLocalExpiryAgainstApplianceTest {
    private final SdkFixture fx = new SdkFixture();
    private final SdkFixture.Events events = new SdkFixture.Events();

    @TempDir
    Path dir;

    @AfterEach
    void tearDown() throws Exception {
        fx.close();
    }

    @Test
    void when_the_only_appliance_is_killed_the_application_is_told_within_a_lease_timeout_and_a_heartbeat()
            throws Exception {
        // GIVEN the only appliance (heartbeat 300 ms, lease timeout 1.5 s) and a client holding a lease,
        // its token in a file
        Appliance a = fx.start("sdk-1");
        Path file = dir.resolve("tokens.properties");
        TurnstileClientImpl client = fx.build(fx.client(events, a).withTokenManager(new FileTokenManager(file)));
        Lease lease = client.checkout(CAD);
        until("a heartbeat confirmed the lease", () -> client.tokenManager().get(lease.id())
                .map(t -> t.lastConfirmedAt().isAfter(t.checkedOutAt())).orElse(false));
        // WHEN the appliance dies (every socket closed at once) and stays dead
        long killedAt = System.nanoTime();
        fx.kill(a);
        // THEN the application is told the lease is lost, with the named reason expiredLocally
        until("leaseLost expiredLocally", () -> events.lostWith(lease.id(), LeaseLossReason.EXPIRED_LOCALLY));
        SdkFixture.Events.Lost lost = events.lost.get(0);
        long toldAfterMs = TimeUnit.NANOSECONDS.toMillis(lost.atNanos() - killedAt);
        System.out.printf("figure 2026-12-07 nproc=%d: appliance killed -> leaseLost(expiredLocally) after %d ms "
                + "(lease timeout %d ms, heartbeat %d ms)%n", Runtime.getRuntime().availableProcessors(),
                toldAfterMs, LEASE_TIMEOUT_MS, HEARTBEAT_MS);
        assertTrue(toldAfterMs <= LEASE_TIMEOUT_MS + HEARTBEAT_MS,
                "told within lease timeout + one heartbeat interval: " + toldAfterMs + " ms");
        assertNull(lost.reason(), "no server code: the ErrorCode callback gets null");
        // AND the lease is gone from the client and its token from the file
        assertTrue(client.leases().isEmpty());
        // the invalidation handler drops the token right after the callback, on the SDK's own thread: bounded wait
        until("the token is dropped from the file", () -> new FileTokenManager(file).get(lease.id()).isEmpty());
        // AND the client keeps trying to reconnect
        assertEquals(TurnstileClient.State.RECONNECTING, client.state());
        assertEquals(1, events.lost.size());
    }
}
