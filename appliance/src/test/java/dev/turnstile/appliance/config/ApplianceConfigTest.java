package dev.turnstile.appliance.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.ApplianceConfig;
import dev.turnstile.appliance.Main;
import dev.turnstile.protocol.Enforcement;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class ApplianceConfigTest {
    private static Vertx vertx;

    @BeforeAll
    static void startVertx() {
        vertx = Vertx.vertx();
    }

    @AfterAll
    static void stopVertx() {
        vertx.close();
    }

    private static Path resource(String name) throws Exception {
        return Path.of(ApplianceConfigTest.class.getResource(name).toURI());
    }

    private static JsonObject load(String resource, Map<String, String> env) throws Exception {
        return ConfigLoader.load(vertx, resource(resource).toString(), env).await(10, TimeUnit.SECONDS);
    }

    @Test
    @DisplayName("GIVEN the full YAML fixture WHEN it is bound THEN every key lands in the typed config")
    void every_key_of_the_fixture_is_bound() throws Exception {
        ApplianceConfig c = ApplianceConfig.from(load("/config/full.yaml", Map.of("TEST_CLIENT_TOKEN", "s3cret")));
        ServerConfig s = c.server();
        assertEquals("plant-7", s.id());
        assertEquals("127.0.0.1", s.host());
        assertEquals(7900, s.port());
        assertEquals(3, s.eventLoops());
        assertEquals(2_000, s.heartbeatIntervalMs());
        assertEquals(6_000, s.leaseTimeoutMs());
        assertEquals(30_000, s.reclaimGraceMs());
        assertEquals(4_000, s.helloTimeoutMs());
        assertEquals(3_000, s.drainTimeoutMs());
        assertEquals(20_000, s.slowConsumerTimeoutMs());
        assertEquals(5_000, s.maxSessions());
        assertEquals(16, s.maxLeasesPerSession());
        assertEquals(50, s.maxQueuePerPool());
        assertEquals(10_000, s.defaultWaitMs());
        assertEquals(120_000, s.maxWaitMs());
        assertEquals(List.of("10.0.0.2:7878", "10.0.0.3:7878"), s.peers());
        assertFalse(s.tls().enabled());
        assertEquals(dev.turnstile.appliance.seat.LegacyReclaim.ORPHANED, s.legacyReclaim());
        assertTrue(c.clients().tokenMatches("s3cret"));
        assertFalse(c.clients().tokenMatches("s3creT"));
        assertTrue(c.clients().versionAllowed("2.4.1"));
        assertTrue(c.clients().versionAllowed("3.1.4"));
        assertFalse(c.clients().versionAllowed("3.1.5"), "not on the allow-list");
        assertFalse(c.clients().versionAllowed("1.9.9"), "below the minimum and not listed");
        assertEquals(2, c.entitlements().size());
        assertEquals("cad-pro", c.entitlements().get(0).productId());
        assertEquals(10, c.entitlements().get(0).maxSeats());
        assertEquals(Instant.parse("2027-01-01T00:00:00Z"), c.entitlements().get(0).endsAt());
        assertEquals(Enforcement.CHECKOUTS, c.entitlements().get(1).enforcement());
        assertNull(c.entitlements().get(1).startsAt(), "an absent window bound stays open");
    }

    @Test
    @DisplayName("GIVEN TURNSTILE_SERVER__PORT in the environment WHEN the file is loaded THEN the variable overrides the key")
    void environment_variables_override_keys() throws Exception {
        JsonObject tree = load("/config/full.yaml", Map.of("TEST_CLIENT_TOKEN", "t",
                "TURNSTILE_SERVER__PORT", "7999", "TURNSTILE_SERVER__LEASE_TIMEOUT", "9s"));
        ApplianceConfig c = ApplianceConfig.from(tree);
        assertEquals(7999, c.server().port());
        assertEquals(9_000, c.server().leaseTimeoutMs());
    }

    @Test
    @DisplayName("GIVEN a placeholder whose variable is unset WHEN the file is loaded THEN the error names the key and the variable")
    void a_missing_secret_variable_is_named() {
        Exception e = assertThrows(Exception.class, () -> load("/config/full.yaml", Map.of()));
        Throwable t = e instanceof ConfigException ? e : e.getCause();
        assertTrue(t.getMessage().contains("clients.auth_token"), t.getMessage());
        assertTrue(t.getMessage().contains("TEST_CLIENT_TOKEN"), t.getMessage());
    }

    @Test
    @DisplayName("GIVEN a file with several bad values WHEN it is bound THEN every problem names its key and what was expected")
    void every_bad_value_is_reported_with_its_key() throws Exception {
        ConfigException e = assertThrows(ConfigException.class,
                () -> ApplianceConfig.from(load("/config/bad.yaml", Map.of())));
        String all = String.join("\n", e.problems());
        assertTrue(all.contains("server.port: expected an integer from 0 to 65535, got 'seventy'"), all);
        assertTrue(all.contains("server.heartbeat_interval: expected a duration"), all);
        assertTrue(all.contains("entitlements[0].policy.max_seats: expected an integer"), all);
        assertTrue(all.contains("entitlements[0].policy.enforcement: expected seats or checkouts, got 'wishes'"), all);
    }

    @Test
    @DisplayName("GIVEN no legacy_reclaim THEN refuse (safe); GIVEN an unknown one THEN it is refused naming the key and the choices")
    void legacy_reclaim_defaults_to_refuse_and_names_its_choices() {
        assertEquals(dev.turnstile.appliance.seat.LegacyReclaim.REFUSE,
                ApplianceConfig.from(new JsonObject().put("server", new JsonObject())).server().legacyReclaim());
        ConfigException e = assertThrows(ConfigException.class, () -> ApplianceConfig.from(
                new JsonObject().put("server", new JsonObject().put("legacy_reclaim", "always"))));
        assertTrue(e.getMessage().contains("server.legacy_reclaim: expected one of refuse, orphaned, identity, got 'always'"),
                e.getMessage());
    }

    @Test
    @DisplayName("GIVEN a lease timeout shorter than two heartbeats WHEN bound THEN it is refused with both keys named")
    void lease_timeout_must_cover_two_heartbeats() {
        JsonObject tree = new JsonObject().put("server",
                new JsonObject().put("heartbeat_interval", "10s").put("lease_timeout", "15s"));
        ConfigException e = assertThrows(ConfigException.class, () -> ApplianceConfig.from(tree));
        assertTrue(e.getMessage().contains("server.lease_timeout"), e.getMessage());
        assertTrue(e.getMessage().contains("server.heartbeat_interval"), e.getMessage());
    }

    @Test
    @DisplayName("GIVEN a bad file WHEN check-config runs THEN it exits 2 and prints the key")
    void check_config_exits_non_zero_naming_the_key() throws Exception {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream old = System.err;
        int code;
        try {
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            code = new CommandLine(new Main()).execute("check-config", "--config", resource("/config/bad.yaml").toString());
        } finally {
            System.setErr(old);
        }
        assertEquals(Main.EXIT_CONFIG, code);
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("server.port"), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    @DisplayName("GIVEN bad store: and sync: values WHEN check-config runs THEN it exits 2 naming those keys")
    void check_config_validates_the_store_and_sync_sections() throws Exception {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream old = System.err;
        int code;
        try {
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            code = new CommandLine(new Main()).execute("check-config", "--config",
                    resource("/config/bad-sections.yaml").toString());
        } finally {
            System.setErr(old);
        }
        String text = err.toString(StandardCharsets.UTF_8);
        assertEquals(Main.EXIT_CONFIG, code, text);
        assertTrue(text.contains("sync.conflict_resolution") || text.contains("store.batch_size"), text);
    }

    @Test
    @DisplayName("GIVEN the shipped demo configuration WHEN check-config runs THEN it is valid")
    void the_demo_configuration_is_valid() {
        assertEquals(0, new CommandLine(new Main()).execute("check-config", "--demo"));
    }

    @Test
    @DisplayName("GIVEN dotted versions WHEN compared THEN parts compare as numbers")
    void versions_compare_numerically() {
        assertTrue(ClientPolicy.compareVersions("1.10.0", "1.9.9") > 0);
        assertEquals(0, ClientPolicy.compareVersions("2.0", "2.0.0"));
        assertTrue(ClientPolicy.compareVersions("1.0.0", "1.0.1") < 0);
    }
}
