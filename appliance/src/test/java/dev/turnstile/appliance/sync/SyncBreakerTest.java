package dev.turnstile.appliance.sync;

import static dev.turnstile.appliance.sync.SyncFixture.entitlement;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.turnstile.appliance.Appliance;
import dev.turnstile.harness.cloud.FakeCloud;
import io.micrometer.core.instrument.Counter;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Issue 12, finding 5: the circuit breaker counts failures as far apart as the retry schedule spaces them (its
 * rolling window is derived from the sync configuration, no longer vertx-circuit-breaker's 10 s default), a sync
 * whose last attempt the open breaker refused raises {@code retries_exhausted}, and a stop is not a failure.
 * Against the fake cloud over real HTTP; durations are scaled down, but the failed calls stay more than 10 s
 * apart, which is what the default window never saw.
 */
class SyncBreakerTest {
    private static int serial;
    private SyncFixture f;
    private ListAppender<ILoggingEvent> log;
    private String serverId;

    @BeforeEach
    void setUp() throws Exception {
        serverId = "plant-b" + (++serial);
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

    @Tag("slow") // real call timeouts spaced wider than 10 s
    @Test
    @DisplayName("GIVEN max_failures 3 and a cloud that never answers, each call timing out after 5 s with 1-2 s between "
            + "attempts (the three failures span more than 10 s) WHEN a sync of 4 attempts runs THEN the breaker opens after "
            + "the third timeout, refuses the fourth attempt, and the sync raises retries_exhausted")
    void the_breaker_opens_after_max_failures_timeouts_spaced_wider_than_ten_seconds() throws Exception {
        startSynced(c -> {
            JsonObject s = c.getJsonObject("sync");
            s.put("retry", new JsonObject().put("max_attempts", 4).put("initial_delay_seconds", 1).put("max_delay_seconds", 2));
            s.put("circuit_breaker", new JsonObject().put("max_failures", 3).put("reset_timeout", "10m")
                    .put("call_timeout", "5s"));
        });
        f.cloud.failAlways(FakeCloud.Failure.TIMEOUT);
        int before = f.cloud.requestCount();
        long t0 = System.nanoTime();
        JsonObject row = f.syncNow();
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(tookMs >= 3 * 5_000 + 500 + 1_000, "three 5 s timeouts and two waits: the failures are more than 10 s "
                + "apart (" + tookMs + " ms)");

        assertEquals("breaker_open", row.getString("outcome"), row.encodePrettily());
        assertEquals(4, row.getInteger("attempts"));
        assertEquals(3, f.cloud.requestCount() - before, "three calls timed out; the open breaker refused the fourth");
        JsonObject s = f.syncStatus();
        assertEquals("open", s.getJsonObject("breaker").getString("state"), s.encodePrettily());
        assertTrue(logged(Level.WARN, "circuit breaker OPEN"));
        assertTrue(hasAlert(s, "retries_exhausted"), s.encodePrettily());
        assertTrue(logged(Level.ERROR, "sync ALERT [retries_exhausted]"));
        assertEquals(1.0, counter("turnstile_sync_alerts_total", "kind", "retries_exhausted"));
        JsonObject overall = f.get("/v1/status");
        assertTrue(hasAlert(overall.getJsonObject("sync"), "retries_exhausted"), "shown in /v1/status too");

        // a sync that the open breaker refuses at once raises it again (and makes no call)
        JsonObject next = f.syncNow();
        assertEquals("breaker_open", next.getString("outcome"));
        assertEquals(3, f.cloud.requestCount() - before, "an open breaker makes no call");
        assertEquals(2.0, counter("turnstile_sync_alerts_total", "kind", "retries_exhausted"));

        // the window covers max_failures x (call_timeout + the largest wait): 3 x (5 s + 2 s)
        assertEquals(21_000L, f.syncStatus().getJsonObject("breaker").getLong("failure_window_ms"));
    }

    @Test
    @DisplayName("GIVEN a sync waiting on a cloud that never answers WHEN the appliance stops THEN the breaker records no "
            + "failure and nothing says 'Client is closed'")
    void stopping_during_a_call_records_no_breaker_failure() throws Exception {
        startSynced(c -> {
            JsonObject s = c.getJsonObject("sync");
            s.put("retry", new JsonObject().put("max_attempts", 3).put("initial_delay_seconds", 0.05).put("max_delay_seconds", 0.1));
            s.put("circuit_breaker", new JsonObject().put("max_failures", 5).put("reset_timeout", "10m")
                    .put("call_timeout", "30s"));
        });
        f.cloud.failAlways(FakeCloud.Failure.TIMEOUT);
        int before = f.cloud.requestCount();
        f.call("POST", "/v1/sync/trigger", null, SyncFixture.API_TOKEN);
        f.await("the call to reach the cloud", f::syncStatus, x -> f.cloud.requestCount() > before);
        Appliance a = f.appliance;
        f.stopAppliance();

        JsonObject s = a.statusJson().getJsonObject("sync");
        assertEquals(0L, s.getJsonObject("breaker").getLong("failure_count"), s.encodePrettily());
        assertFalse(logged(Level.WARN, "Client is closed"), "a stop is not a failed call");
        assertFalse(hasAlert(s, "retries_exhausted"), s.encodePrettily());
    }

    @Test
    @DisplayName("GIVEN a sync waiting between two attempts WHEN the appliance stops THEN no further attempt is made and "
            + "the breaker keeps only the failure the cloud really caused")
    void stopping_between_attempts_makes_no_further_call_and_records_no_failure() throws Exception {
        startSynced(c -> {
            JsonObject s = c.getJsonObject("sync");
            s.put("retry", new JsonObject().put("max_attempts", 3).put("initial_delay_seconds", 3).put("max_delay_seconds", 3));
            s.put("circuit_breaker", new JsonObject().put("max_failures", 5).put("reset_timeout", "10m")
                    .put("call_timeout", "5s"));
        });
        f.cloud.failAlways(FakeCloud.Failure.SERVER_ERROR);
        int before = f.cloud.requestCount();
        f.call("POST", "/v1/sync/trigger", null, SyncFixture.API_TOKEN);
        f.await("the first attempt to fail", f::syncStatus,
                x -> x.getJsonObject("breaker").getLong("failure_count") == 1L);
        Appliance a = f.appliance;
        long stopAt = System.nanoTime();
        f.stopAppliance();
        // the retry was due at most 3 s after the first failure: wait past it (bounded), then look
        long left = stopAt + TimeUnit.SECONDS.toNanos(4) - System.nanoTime();
        if (left > 0) {
            Thread.sleep(TimeUnit.NANOSECONDS.toMillis(left) + 1); // the behaviour under test: the retry time passes, no call
        }
        JsonObject s = a.statusJson().getJsonObject("sync");
        assertEquals(1L, s.getJsonObject("breaker").getLong("failure_count"), s.encodePrettily());
        assertEquals(1, f.cloud.requestCount() - before, "no attempt after the stop");
        assertFalse(logged(Level.WARN, "Client is closed"), "a stop is not a failed call");
        List<String> outcomes = f.cloud.requests().subList(before, f.cloud.requestCount()).stream()
                .map(FakeCloud.Request::outcome).toList();
        assertEquals(List.of("5xx"), outcomes);
    }
}
