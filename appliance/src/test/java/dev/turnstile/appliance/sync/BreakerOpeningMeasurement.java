package dev.turnstile.appliance.sync;

import dev.turnstile.harness.cloud.FakeCloud;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * A one-off measurement, not a test (issue 12, finding 5): with the default breaker (max_failures 5, call_timeout
 * 30 s) and the default retry schedule (initial 1 s, max 300 s) but 6 attempts per sync, against a cloud that never
 * answers, how long until the breaker opens, after how many calls, and whether the sixth attempt is refused and
 * raises retries_exhausted. Takes about 2.5 minutes of real time, so it runs only when asked (it prints a
 * {@code FIGURES} line and asserts nothing the suite relies on):
 * <pre>
 * mvn -B -q -ntp -o -pl appliance -am test -Dtest=BreakerOpeningMeasurement -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dturnstile.measure.breaker=true
 * </pre>
 */
@EnabledIfSystemProperty(named = "turnstile.measure.breaker", matches = "true")
class BreakerOpeningMeasurement {
    @Test
    void the_breaker_opens_after_max_failures_real_30_s_timeouts() throws Exception {
        try (SyncFixture f = new SyncFixture("plant-measure", Instant.parse("2027-03-01T00:00:00Z"))) {
            f.startCloud();
            f.cloud.put(SyncFixture.entitlement("ent-cad", "cad-pro", 3));
            f.start(c -> {
                JsonObject s = c.getJsonObject("sync");
                s.put("retry", new JsonObject().put("max_attempts", 6).put("initial_delay_seconds", 1)
                        .put("max_delay_seconds", 300));
                s.put("circuit_breaker", new JsonObject().put("max_failures", 5).put("reset_timeout", "60s")
                        .put("call_timeout", "30s"));
            });
            f.awaitFirstSync();
            JsonObject breaker = f.syncStatus().getJsonObject("breaker");
            f.cloud.failAlways(FakeCloud.Failure.TIMEOUT);
            int before = f.cloud.requestCount();
            long t0 = System.nanoTime();
            f.call("POST", "/v1/sync/trigger", null, SyncFixture.API_TOKEN);
            long end = t0 + TimeUnit.MINUTES.toNanos(6);
            long openedMs = -1;
            int callsAtOpen = -1;
            JsonObject s = null;
            while (System.nanoTime() < end) {
                s = f.syncStatus();
                if (openedMs < 0 && "open".equals(s.getJsonObject("breaker").getString("state"))) {
                    openedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                    callsAtOpen = f.cloud.requestCount() - before;
                }
                if (openedMs >= 0 && !"syncing".equals(s.getString("status"))) {
                    break;
                }
                Thread.sleep(200);
            }
            JsonObject row = f.get("/v1/sync/audit?limit=1").getJsonArray("audit").getJsonObject(0);
            boolean alert = s != null && s.getJsonArray("alerts").stream()
                    .anyMatch(a -> "retries_exhausted".equals(((JsonObject) a).getString("kind")));
            System.out.printf("FIGURES breaker: max_failures=%d call_timeout_ms=%d failure_window_ms=%d opened_after_ms=%d "
                            + "calls_at_open=%d calls_total=%d sync_outcome=%s attempts=%d retries_exhausted_alert=%s%n",
                    breaker.getInteger("max_failures"), breaker.getLong("call_timeout_ms"),
                    breaker.getLong("failure_window_ms"), openedMs, callsAtOpen, f.cloud.requestCount() - before,
                    row.getString("outcome"), row.getInteger("attempts"), alert);
            org.junit.jupiter.api.Assertions.assertTrue(openedMs > 0, "the breaker opened");
        }
    }
}
