package dev.turnstile.appliance.sync;

import static dev.turnstile.appliance.sync.SyncFixture.entitlement;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.turnstile.appliance.testing.RawClient;
import dev.turnstile.harness.cloud.FakeCloud;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Message;
import io.micrometer.core.instrument.Counter;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Every way the cloud can fail, against the fake cloud over real HTTP: each test first syncs
 * once (so a license is installed), holds a lease, makes the cloud fail, and checks that the
 * failure is handled as SYNC.md says AND that seat service never stopped.
 */
class SyncFailuresTest {
    private static int serial;
    private SyncFixture f;
    private RawClient holder;
    private UUID lease;
    private ListAppender<ILoggingEvent> log;
    private String serverId;

    @BeforeEach
    void setUp() throws Exception {
        serverId = "plant-f" + (++serial);
        f = new SyncFixture(serverId, Instant.parse("2027-03-01T00:00:00Z"));
        f.startCloud();
        f.cloud.put(entitlement("ent-cad", "cad-pro", 3));
        log = new ListAppender<>();
        log.start();
        ((Logger) LoggerFactory.getLogger(SyncService.class)).addAppender(log);
    }

    @AfterEach
    void tearDown() throws Exception {
        ((Logger) LoggerFactory.getLogger(SyncService.class)).detachAppender(log);
        f.close();
    }

    private void startSynced(Consumer<JsonObject> tweak) throws Exception {
        f.start(tweak);
        f.awaitFirstSync();
        holder = f.client("holder");
        lease = ((Message.Granted) holder.request(holder.checkout("cad-pro", 1)).message()).leaseId();
    }

    /** The lease still heartbeats, and a new client gets and returns a seat. */
    private void seatServiceContinues() throws Exception {
        Message.HeartbeatResult hb = (Message.HeartbeatResult) holder.request(new Message.Heartbeat(List.of(lease))).message();
        assertEquals(ErrorCode.OK, hb.results().get(0).errorCode(), "the held lease heartbeats");
        RawClient c = f.client("newcomer-" + UUID.randomUUID());
        Message m = c.request(c.checkout("cad-pro", 1)).message();
        Message.Granted g = assertInstanceOf(Message.Granted.class, m, "a new checkout is granted");
        assertInstanceOf(Message.CheckedIn.class, c.request(new Message.Checkin(g.leaseId())).message());
    }

    private double counter(String name, String tagKey, String tagValue) {
        // the appliance's own registry (the one /metrics serves): nothing goes through the global one
        Counter c = f.appliance.metrics().registry().find(name).tag("server_id", serverId).tag(tagKey, tagValue).counter();
        return c == null ? 0 : c.count();
    }

    private boolean logged(Level level, String text) {
        return log.list.stream().anyMatch(e -> e.getLevel() == level && e.getFormattedMessage().contains(text));
    }

    private static boolean hasAlert(JsonObject status, String kind) {
        JsonArray a = status.getJsonArray("alerts");
        return a.stream().anyMatch(x -> kind.equals(((JsonObject) x).getString("kind")));
    }

    @Test
    @DisplayName("GIVEN a cloud that answers 503 twice WHEN a sync runs THEN it retries with growing, jittered waits and "
            + "succeeds on the third attempt")
    void retries_with_backoff() throws Exception {
        startSynced(c -> c.getJsonObject("sync").getJsonObject("retry").put("max_attempts", 5)
                .put("initial_delay_seconds", 0.05).put("max_delay_seconds", 0.4));
        f.cloud.patch("ent-cad", new JsonObject().put("policy", new JsonObject().put("max_seats", 4)));
        f.cloud.failNext(FakeCloud.Failure.SERVER_ERROR, 2);
        int before = f.cloud.requestCount();
        JsonObject row = f.syncNow();
        assertEquals("success", row.getString("outcome"));
        assertEquals(3, row.getInteger("attempts"));
        List<FakeCloud.Request> r = f.cloud.requests().subList(before, f.cloud.requestCount());
        assertEquals(List.of("5xx", "5xx", "ok"), r.stream().map(FakeCloud.Request::outcome).toList());
        // The ceilings are 50 ms then 100 ms; a delay is at least half its ceiling.
        assertTrue(r.get(1).atMs() - r.get(0).atMs() >= 25, "first wait at least 25 ms");
        assertTrue(r.get(2).atMs() - r.get(1).atMs() >= 50, "second wait at least 50 ms (it doubles)");
        assertEquals(4, f.pool("ent-cad").getInteger("max_seats"));
        assertEquals(0.0, counter("turnstile_sync_attempts_total", "outcome", "failure"), "retried attempts are not failed syncs");
        seatServiceContinues();
    }

    @Test
    @DisplayName("GIVEN a cloud that keeps failing WHEN syncs exhaust their retries THEN each fails with an ERROR alert, "
            + "a metric and the status; repeated failures raise their own alert; seats are still served")
    void failure_after_max_retries_and_repeated_failures_alert() throws Exception {
        startSynced(c -> c.getJsonObject("sync").put("alerts", new JsonObject().put("repeated_failures", 2)));
        f.cloud.failAlways(FakeCloud.Failure.SERVER_ERROR);
        JsonObject row = f.syncNow();
        assertEquals("failed", row.getString("outcome"));
        assertEquals(3, row.getInteger("attempts"));
        assertTrue(row.getString("error").contains("503"), row.getString("error"));
        JsonObject s = f.syncStatus();
        assertEquals("failed", s.getString("status"));
        assertEquals(1L, s.getLong("error_count"));
        assertTrue(hasAlert(s, "retries_exhausted"), s.encodePrettily());
        assertTrue(logged(Level.ERROR, "sync ALERT [retries_exhausted]"));
        assertEquals(1.0, counter("turnstile_sync_alerts_total", "kind", "retries_exhausted"));
        assertEquals(1.0, counter("turnstile_sync_attempts_total", "outcome", "failure"));
        assertEquals(1.0, counter("turnstile_sync_attempts_total", "outcome", "success"));
        seatServiceContinues();

        f.syncNow();
        s = f.syncStatus();
        assertEquals(2L, s.getLong("consecutive_failures"));
        assertTrue(hasAlert(s, "repeated_failures"), s.encodePrettily());
        assertTrue(logged(Level.ERROR, "sync ALERT [repeated_failures]"));
        JsonArray audit = f.get("/v1/sync/audit?limit=2").getJsonArray("audit");
        assertEquals("failed", audit.getJsonObject(0).getString("outcome"));
        seatServiceContinues();

        f.cloud.heal();
        assertEquals("success", f.syncUntilSuccess().getString("outcome"));
        s = f.syncStatus();
        assertEquals(0, s.getJsonArray("alerts").size(), "a successful sync clears the failure alerts");
        assertEquals(0L, s.getLong("consecutive_failures"));
    }

    @Test
    @DisplayName("GIVEN a breaker that opens after 2 failed calls WHEN the cloud fails twice THEN the breaker opens and "
            + "the next sync makes no call; after reset_timeout it half-opens and a good trial call closes it")
    void breaker_opens_and_half_opens() throws Exception {
        startSynced(c -> {
            JsonObject s = c.getJsonObject("sync");
            s.getJsonObject("retry").put("max_attempts", 1);
            s.put("circuit_breaker", new JsonObject().put("max_failures", 2).put("reset_timeout", "300ms").put("call_timeout", "2s"));
        });
        f.cloud.failAlways(FakeCloud.Failure.SERVER_ERROR);
        assertEquals("failed", f.syncNow().getString("outcome"));
        assertEquals("failed", f.syncNow().getString("outcome"));
        JsonObject s = f.syncStatus();
        assertEquals("open", s.getJsonObject("breaker").getString("state"));
        int calls = f.cloud.requestCount();
        JsonObject row = f.syncNow();
        assertEquals("breaker_open", row.getString("outcome"));
        assertEquals(calls, f.cloud.requestCount(), "an open breaker makes no call");
        assertTrue(logged(Level.WARN, "circuit breaker OPEN"));
        seatServiceContinues();

        f.cloud.heal();
        f.await("the breaker to half-open", f::syncStatus,
                x -> "half_open".equals(x.getJsonObject("breaker").getString("state")));
        assertEquals("success", f.syncNow().getString("outcome"));
        assertEquals("closed", f.syncStatus().getJsonObject("breaker").getString("state"));
        assertEquals(calls + 1, f.cloud.requestCount());
    }

    @Test
    @DisplayName("GIVEN an appliance whose sync token the cloud refuses WHEN it syncs THEN one call, no retry, an auth "
            + "alert, and seats are still served from the installed license")
    void auth_failure_is_not_retried() throws Exception {
        startSynced(c -> { });
        JsonObject wrong = f.config();
        wrong.getJsonObject("sync").getJsonObject("authentication").put("token", "revoked-token");
        f.restart(wrong);
        f.await("the start sync to fail", f::syncStatus, x -> "auth_failed".equals(x.getString("status")));
        JsonObject row = f.get("/v1/sync/audit?limit=1").getJsonArray("audit").getJsonObject(0);
        assertEquals("auth_failed", row.getString("outcome"));
        assertEquals(1, row.getInteger("attempts"), "an auth failure is not retried");
        assertEquals("401", f.cloud.requests().get(f.cloud.requestCount() - 1).outcome());
        JsonObject s = f.syncStatus();
        assertTrue(hasAlert(s, "auth"), s.encodePrettily());
        assertTrue(logged(Level.ERROR, "sync ALERT [auth]"));
        assertEquals("valid", f.licenseStatus().getString("state"), "the license installed before still holds");
        holder = f.client("holder2");
        lease = ((Message.Granted) holder.request(holder.checkout("cad-pro", 1)).message()).leaseId();
        seatServiceContinues();
    }

    @Test
    @DisplayName("GIVEN a cloud answer signed with another key, or changed after signing WHEN the appliance syncs THEN "
            + "it is refused as an error, nothing is applied, token and license stay")
    void bad_signature_is_refused() throws Exception {
        startSynced(c -> { });
        String token = f.syncStatus().getString("last_sync_token");
        String licenseId = f.licenseStatus().getString("license_id");
        f.cloud.patch("ent-cad", new JsonObject().put("policy", new JsonObject().put("max_seats", 9)));

        f.cloud.failNext(FakeCloud.Failure.BAD_SIGNATURE, 1);
        JsonObject row = f.syncNow();
        assertEquals("invalid", row.getString("outcome"));
        assertEquals(1, row.getInteger("attempts"), "a bad signature is not retried");
        assertTrue(row.getString("error").contains("licenseBadSignature"), row.getString("error"));
        assertTrue(logged(Level.ERROR, "sync ALERT [invalid]"));

        f.cloud.failNext(FakeCloud.Failure.TAMPERED, 1);
        row = f.syncNow();
        assertEquals("invalid", row.getString("outcome"));
        assertTrue(row.getString("error").contains("does not sign these changes"), row.getString("error"));

        assertEquals(3, f.pool("ent-cad").getInteger("max_seats"), "nothing applied");
        assertEquals(token, f.syncStatus().getString("last_sync_token"));
        assertEquals(licenseId, f.licenseStatus().getString("license_id"));
        seatServiceContinues();
        assertEquals("success", f.syncNow().getString("outcome"));
        assertEquals(9, f.pool("ent-cad").getInteger("max_seats"));
    }

    @Test
    @DisplayName("GIVEN a batch with one invalid change WHEN the appliance syncs THEN the whole batch is refused, the error "
            + "names the entitlement and why, and the valid changes in it are not applied either")
    void invalid_change_data_rejects_the_batch_whole() throws Exception {
        startSynced(c -> { });
        f.cloud.put(entitlement("ent-extra", "extra", 2));
        f.cloud.failNext(FakeCloud.Failure.INVALID_CHANGE, 1);
        JsonObject row = f.syncNow();
        assertEquals("invalid", row.getString("outcome"));
        String error = row.getString("error");
        assertTrue(error.contains("'broken-entitlement'") && error.contains("policy.max_seats"), error);
        assertEquals(null, f.pool("ent-extra"), "the valid create in the same batch is not applied");
        seatServiceContinues();
        assertEquals("success", f.syncNow().getString("outcome"));
        assertNotNull(f.pool("ent-extra"));
    }

    @Test
    @DisplayName("GIVEN a cloud that times out once and then sends garbage once WHEN the appliance syncs THEN both "
            + "count as retriable failures and the third attempt succeeds; a slow answer within the timeout is fine")
    void timeouts_and_garbage_are_retried() throws Exception {
        startSynced(c -> {
            JsonObject s = c.getJsonObject("sync");
            s.getJsonObject("circuit_breaker").put("call_timeout", "300ms");
            s.getJsonObject("retry").put("max_attempts", 4);
        });
        f.cloud.failNext(FakeCloud.Failure.TIMEOUT, 1).failNext(FakeCloud.Failure.GARBAGE, 1);
        JsonObject row = f.syncNow();
        assertEquals("success", row.getString("outcome"));
        assertEquals(3, row.getInteger("attempts"));
        assertTrue(logged(Level.WARN, "(timeout)"), "the timeout is logged");
        assertTrue(logged(Level.WARN, "(malformed)"), "the garbage answer is logged");
        seatServiceContinues();

        f.cloud.failNext(FakeCloud.Failure.SLOW, 1); // 200 ms: slow, but within the 300 ms call timeout
        row = f.syncNow();
        assertEquals("success", row.getString("outcome"));
        assertEquals(1, row.getInteger("attempts"), "a slow answer within the call timeout is just slow");
    }
}
