package dev.turnstile.appliance.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.ApplianceConfig;
import dev.turnstile.appliance.testing.TestAppliances;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The limit keys of {@code server:} (issue 12): bound with their units, defaults when absent, bad values named. */
class SessionLimitsConfigTest {

    private static ApplianceConfig bind(JsonObject serverKeys) {
        JsonObject tree = TestAppliances.config("limits-config", 1);
        tree.getJsonObject("server").mergeIn(serverKeys);
        return ApplianceConfig.from(tree);
    }

    @Test
    @DisplayName("GIVEN every limit key WHEN bound THEN each lands in the typed config with its unit")
    void every_limit_key_is_bound() {
        SessionLimitsConfig l = bind(new JsonObject()
                .put("max_sessions_per_address", 64)
                .put("fd_headroom", 1024)
                .put("evict_idle_after", "45s")
                .put("partial_frame_budget", "32MiB")
                .put("partial_frame_budget_per_address", "1MB")
                .put("auth_failures_before_backoff", 3)
                .put("auth_backoff", "500ms")
                .put("auth_backoff_max", "5m")
                .put("slow_consumer_close_wait", "2s")
                .put("socket_send_buffer", 131072)).server().limits();
        assertEquals(64, l.maxSessionsPerAddress());
        assertEquals(1024, l.fdHeadroom());
        assertEquals(45_000, l.evictIdleAfterMs());
        assertEquals(32L << 20, l.partialFrameBudget());
        assertEquals(1_000_000, l.partialFrameBudgetPerAddress());
        assertEquals(3, l.authFailuresBeforeBackoff());
        assertEquals(500, l.authBackoffMs());
        assertEquals(300_000, l.authBackoffMaxMs());
        assertEquals(2_000, l.slowConsumerCloseWaitMs());
        assertEquals(131_072, l.socketSendBuffer());
    }

    @Test
    @DisplayName("GIVEN no limit key THEN the documented defaults apply, and slow_consumer_timeout plus its close wait stay below the default lease timeout")
    void the_defaults_apply() {
        ServerConfig s = bind(new JsonObject()).server();
        assertEquals(SessionLimitsConfig.defaults(), s.limits());
        assertTrue(ServerConfig.DEFAULT_SLOW_CONSUMER_TIMEOUT_MS + SessionLimitsConfig.DEFAULT_SLOW_CONSUMER_CLOSE_WAIT_MS
                < ServerConfig.DEFAULT_LEASE_TIMEOUT_MS);
    }

    @Test
    @DisplayName("GIVEN bad limit values THEN every one is reported with its key")
    void bad_limit_values_are_named() {
        ConfigException e = assertThrows(ConfigException.class, () -> bind(new JsonObject()
                .put("max_sessions_per_address", 0)
                .put("evict_idle_after", "soon")
                .put("partial_frame_budget", "12 parsecs")
                .put("partial_frame_budget_per_address", "1KiB")
                .put("auth_backoff", "10s")
                .put("auth_backoff_max", "1s")
                .put("socket_send_buffer", 100)));
        String all = String.join("\n", e.problems());
        for (String key : new String[] {"server.max_sessions_per_address", "server.evict_idle_after",
                "server.partial_frame_budget:", "server.partial_frame_budget_per_address", "server.auth_backoff_max",
                "server.socket_send_buffer"}) {
            assertTrue(all.contains(key), key + " in\n" + all);
        }
    }
}
