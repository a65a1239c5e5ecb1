package dev.turnstile.appliance.license;

import static dev.turnstile.appliance.sync.SyncFixture.entitlement;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.turnstile.appliance.sync.SyncFixture;
import dev.turnstile.appliance.testing.RawClient;
import dev.turnstile.harness.cloud.FakeCloud;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Message;
import dev.turnstile.protocol.NoticeKind;
import io.micrometer.core.instrument.Gauge;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Offline validity: the cloud goes away, the clock moves on (an injected clock: no sleeping),
 * the appliance keeps serving, alerts below 7 days left, refuses checkouts at zero, and comes back
 * with the next successful sync.
 */
class LicenseValidityTest {
    private static final Instant T0 = Instant.parse("2027-03-01T00:00:00Z");
    private static int serial;
    private SyncFixture f;
    private ListAppender<ILoggingEvent> log;
    private String serverId;

    @BeforeEach
    void setUp() throws Exception {
        serverId = "plant-v" + (++serial);
        f = new SyncFixture(serverId, T0);
        f.startCloud();
        f.cloud.put(entitlement("ent-cad", "cad-pro", 3));
        log = new ListAppender<>();
        log.start();
        ((Logger) LoggerFactory.getLogger(LicenseService.class)).addAppender(log);
    }

    @AfterEach
    void tearDown() throws Exception {
        ((Logger) LoggerFactory.getLogger(LicenseService.class)).detachAppender(log);
        f.close();
    }

    private double gauge(String name) {
        // the appliance's own registry (the one /metrics serves): nothing goes through the global one
        Gauge g = f.appliance.metrics().registry().find(name).tag("server_id", serverId).gauge();
        assertNotNull(g, name);
        return g.value();
    }

    /** Moves the clock to {@code target} in half-day steps, heartbeating {@code lease} after each (lease timeout: 1 day). */
    private void liveUntil(Instant target, RawClient holder, UUID lease, List<Message.Notice> notices) throws Exception {
        for (int i = 0; i < 100 && f.clock.instant().isBefore(target); i++) {
            Instant next = f.clock.instant().plus(Duration.ofHours(12));
            f.clock.set(next.isAfter(target) ? target : next);
            Message.HeartbeatResult r = (Message.HeartbeatResult) SyncFixture.request(holder,
                    new Message.Heartbeat(List.of(lease)), notices);
            assertEquals(ErrorCode.OK, r.results().get(0).errorCode(), "the lease lives on at " + f.clock.instant());
        }
    }

    private void awaitLogged(Level level, String text) throws Exception {
        f.await("a " + level + " log line with '" + text + "'", () -> new JsonObject().put("found", List.copyOf(log.list).stream()
                .anyMatch(e -> e.getLevel() == level && e.getFormattedMessage().contains(text))), x -> x.getBoolean("found"));
    }

    private JsonObject awaitLicenseState(String state) throws Exception {
        return f.await("license state " + state, f::licenseStatus, x -> state.equals(x.getString("state")));
    }

    @Test
    @DisplayName("GIVEN a 14-day license and a cloud that goes away WHEN the days pass THEN seats are served, below 7 days "
            + "left it alerts (log, metric, status, WELCOME flag, NOTICE), at zero checkouts are refused with licenseExpired "
            + "while held leases are kept, and a successful sync restores it at once")
    void validity_counts_down_alerts_refuses_and_comes_back() throws Exception {
        f.start(c -> { });
        f.awaitFirstSync();
        RawClient holder = f.client("holder");
        UUID lease = ((Message.Granted) holder.request(holder.checkout("cad-pro", 1)).message()).leaseId();
        assertEquals(14 * 86_400.0, gauge("turnstile_license_seconds_left"));
        assertEquals(0.0, gauge("turnstile_license_expiring"));
        f.cloud.failAlways(FakeCloud.Failure.SERVER_ERROR);
        List<Message.Notice> notices = new ArrayList<>();

        // 6.5 days in: 7.5 days left, no alert, seats served
        liveUntil(T0.plus(Duration.ofHours(156)), holder, lease, notices);
        JsonObject lic = f.licenseStatus();
        assertEquals("valid", lic.getString("state"));
        assertEquals(7L, lic.getLong("days_left"));
        assertEquals(0, f.welcome("w1").flags() & Message.Welcome.FLAG_LICENSE_EXPIRING);

        // 7.5 days in: 6.5 days left: alert
        liveUntil(T0.plus(Duration.ofHours(180)), holder, lease, notices);
        lic = awaitLicenseState("expiring");
        assertEquals(true, lic.getBoolean("expiring"));
        assertEquals(6L, lic.getLong("days_left"));
        assertEquals(6.5 * 86_400, gauge("turnstile_license_seconds_left"), "the metric carries the seconds left");
        assertEquals(1.0, gauge("turnstile_license_expiring"));
        awaitLogged(Level.WARN, "license ALERT");
        Message.Welcome w = f.welcome("w2");
        assertEquals(Message.Welcome.FLAG_LICENSE_EXPIRING, w.flags() & Message.Welcome.FLAG_LICENSE_EXPIRING);
        assertEquals(T0.plus(Duration.ofDays(14)).toEpochMilli(), w.licenseValidUntilMs());
        SyncFixture.request(holder, new Message.Heartbeat(List.of(lease)), notices);
        assertTrue(notices.stream().anyMatch(n -> n.kind() == NoticeKind.LICENSE_EXPIRING.code()
                && n.deadlineMs() == T0.plus(Duration.ofDays(14)).toEpochMilli()), "connected clients are told: " + notices);
        RawClient other = f.client("other");
        Message.Granted g = assertInstanceOf(Message.Granted.class, other.request(other.checkout("cad-pro", 1)).message());
        other.request(new Message.Checkin(g.leaseId()));

        // 14 days in: validity over
        liveUntil(T0.plus(Duration.ofDays(14)), holder, lease, notices);
        lic = awaitLicenseState("expired");
        assertEquals(false, lic.getBoolean("checkouts_allowed"));
        Message.Denied d = assertInstanceOf(Message.Denied.class, other.request(other.checkout("cad-pro", 1)).message());
        assertEquals(ErrorCode.LICENSE_EXPIRED, d.errorCode());
        assertTrue(d.message().contains("expired"), d.message());
        Message.HeartbeatResult hb = (Message.HeartbeatResult) holder.request(new Message.Heartbeat(List.of(lease))).message();
        assertEquals(ErrorCode.OK, hb.results().get(0).errorCode(), "license.on_expiry keep_leases: held leases are kept");
        awaitLogged(Level.ERROR, "expired at");
        assertEquals(0.0, gauge("turnstile_license_valid"));

        // the cloud is back: one sync extends validity at once
        f.cloud.heal();
        f.syncUntilSuccess();
        lic = f.licenseStatus();
        assertEquals("valid", lic.getString("state"));
        assertEquals(T0.plus(Duration.ofDays(28)).toString(), lic.getString("valid_until"));
        assertInstanceOf(Message.Granted.class, other.request(other.checkout("cad-pro", 1)).message());
        assertEquals(0, f.welcome("w3").flags() & Message.Welcome.FLAG_LICENSE_EXPIRING);
        assertEquals(1.0, gauge("turnstile_license_valid"));
    }

    @Test
    @DisplayName("GIVEN license.on_expiry revoke_leases WHEN validity ends THEN every held lease is revoked with a notice")
    void revoke_leases_on_expiry() throws Exception {
        f.start(c -> c.getJsonObject("license").put("on_expiry", "revoke_leases").put("expiry_warning", "1d"));
        f.awaitFirstSync();
        RawClient holder = f.client("holder");
        UUID lease = ((Message.Granted) holder.request(holder.checkout("cad-pro", 1)).message()).leaseId();
        f.cloud.failAlways(FakeCloud.Failure.SERVER_ERROR);
        List<Message.Notice> notices = new ArrayList<>();
        liveUntil(T0.plus(Duration.ofDays(14)).minusSeconds(1), holder, lease, notices);
        f.clock.advance(Duration.ofSeconds(1));
        awaitLicenseState("expired");
        f.await("the lease to be revoked", () -> new JsonObject().put("leases", f.appliance.ledger().leaseCount()),
                x -> x.getInteger("leases") == 0);
        Message.HeartbeatResult hb = (Message.HeartbeatResult) SyncFixture.request(holder,
                new Message.Heartbeat(List.of(lease)), notices);
        assertEquals(ErrorCode.LEASE_ID_NOT_FOUND, hb.results().get(0).errorCode());
        // The notices are pushed from the thread that revoked; the event loop may write the heartbeat's
        // answer first, so read on (bounded) until both have arrived.
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < until
                && !(notices.stream().anyMatch(n -> n.kind() == NoticeKind.LEASE_REVOKED.code())
                && notices.stream().anyMatch(n -> n.kind() == NoticeKind.LICENSE_EXPIRING.code()))) {
            try {
                if (holder.read().message() instanceof Message.Notice n) {
                    notices.add(n);
                }
            } catch (java.net.SocketTimeoutException e) {
                break;
            }
        }
        assertTrue(notices.stream().anyMatch(n -> n.kind() == NoticeKind.LEASE_REVOKED.code() && n.leaseId().equals(lease)),
                "the holder is told: " + notices);
        assertTrue(notices.stream().anyMatch(n -> n.kind() == NoticeKind.LICENSE_EXPIRING.code()
                && n.code() == ErrorCode.LICENSE_EXPIRED.code()), "and why: " + notices);
    }

    @Test
    @DisplayName("GIVEN an appliance that never synced and has no license file WHEN a client checks out THEN licenseExpired "
            + "(no valid license yet), and WELCOME says no expiry is known")
    void no_license_yet_refuses_checkouts() throws Exception {
        f.cloud.failAlways(FakeCloud.Failure.SERVER_ERROR);
        f.start(c -> { });
        RawClient c = f.client("c");
        Message.Denied d = assertInstanceOf(Message.Denied.class, c.request(c.checkout("cad-pro", 1)).message());
        assertEquals(ErrorCode.LICENSE_EXPIRED, d.errorCode());
        assertTrue(d.message().contains("no valid license"), d.message());
        assertEquals(0, f.welcome("w").licenseValidUntilMs());
        assertEquals("none", f.licenseStatus().getString("state"));
    }
}
