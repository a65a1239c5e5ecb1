package dev.turnstile.appliance.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.config.ConfigReader;
import dev.turnstile.appliance.license.LicenseConfig;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.SplittableRandom;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The sync: and license: sections, the schedule and the backoff. */
class SyncConfigTest {

    private static JsonObject issueExample() {
        return new JsonObject()
                .put("enabled", true)
                .put("cloud_server_url", "https://cloud.example.com/")
                .put("local_server_id", "local-server-abc123")
                .put("schedule", new JsonObject().put("enabled", true).put("interval", "1h").putNull("cron"))
                .put("conflict_resolution", "cloud_wins")
                .put("authentication", new JsonObject().put("method", "bearer_token").put("token", "t0k"))
                .put("retry", new JsonObject().put("max_attempts", 5).put("initial_delay_seconds", 1).put("max_delay_seconds", 300));
    }

    @Test
    @DisplayName("GIVEN the issue's example sync: section WHEN bound THEN every key is taken as written")
    void the_issue_example_binds() {
        ConfigReader r = new ConfigReader();
        SyncConfig c = SyncConfig.bind(issueExample(), r);
        assertTrue(r.problems().isEmpty(), r.problems().toString());
        assertEquals("https://cloud.example.com/v1/sync/entitlements", c.endpoint());
        assertEquals(3_600_000L, c.schedule().intervalMs());
        assertNull(c.schedule().cronExpression());
        assertEquals(ConflictPolicy.CLOUD_WINS, c.conflictResolution());
        assertEquals(5, c.retry().maxAttempts());
        assertEquals(1_000, c.retry().initialDelayMs());
        assertEquals(300_000, c.retry().maxDelayMs());
        assertEquals(5, c.breaker().maxFailures());
        assertFalse(c.authentication().toString().contains("t0k"), "the token is never printed");
    }

    @Test
    @DisplayName("GIVEN bad values WHEN bound THEN each problem names its key")
    void problems_name_their_keys() {
        JsonObject s = issueExample()
                .put("cloud_server_url", "ftp://x")
                .put("conflict_resolution", "whoever_shouts")
                .put("schedule", new JsonObject().put("cron", "every tuesday"))
                .put("authentication", new JsonObject().put("method", "mtls"))
                .put("retry", new JsonObject().put("max_attempts", 0).put("initial_delay_seconds", "soon"));
        ConfigReader r = new ConfigReader();
        SyncConfig.bind(s, r);
        String all = String.join("\n", r.problems());
        for (String key : new String[] {"sync.cloud_server_url", "sync.conflict_resolution", "sync.schedule.cron",
                "sync.authentication.cert", "sync.authentication.key", "sync.retry.max_attempts",
                "sync.retry.initial_delay_seconds"}) {
            assertTrue(all.contains(key + ":"), key + " in\n" + all);
        }
        ConfigReader r2 = new ConfigReader();
        LicenseConfig.bind(new JsonObject().put("sync", new JsonObject().put("enabled", true)), r2);
        assertTrue(String.join("\n", r2.problems()).contains("license.public_key"), "sync needs the vendor key");
    }

    @Test
    @DisplayName("GIVEN a cron schedule WHEN asked for the next sync THEN cron-utils' next match; an interval adds itself")
    void schedule() {
        long now = Instant.parse("2027-03-01T10:17:00Z").toEpochMilli();
        SyncSchedule cron = new SyncSchedule(new SyncConfig.Schedule(true, 3_600_000, "0 * * * *", ZoneOffset.UTC));
        assertEquals(Instant.parse("2027-03-01T11:00:00Z").toEpochMilli(), cron.nextAfter(now));
        SyncSchedule every = new SyncSchedule(new SyncConfig.Schedule(true, 600_000, null, ZoneOffset.UTC));
        assertEquals(now + 600_000, every.nextAfter(now));
        assertEquals(-1, new SyncSchedule(new SyncConfig.Schedule(false, 600_000, null, ZoneOffset.UTC)).nextAfter(now));
    }

    @Test
    @DisplayName("GIVEN backoff from 1 s to 8 s WHEN attempts fail THEN ceilings double up to the cap and every delay "
            + "lies in the upper half of its ceiling")
    void backoff_doubles_with_jitter() {
        Backoff b = new Backoff(1_000, 8_000, new SplittableRandom(42));
        long[] ceilings = {1_000, 2_000, 4_000, 8_000, 8_000};
        for (int attempt = 1; attempt <= ceilings.length; attempt++) {
            assertEquals(ceilings[attempt - 1], b.ceilingMs(attempt));
            for (int i = 0; i < 200; i++) {
                long d = b.delayMs(attempt);
                assertTrue(d >= ceilings[attempt - 1] / 2 && d <= ceilings[attempt - 1], "delay " + d);
            }
        }
    }
}
