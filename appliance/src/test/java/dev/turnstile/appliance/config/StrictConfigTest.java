package dev.turnstile.appliance.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.ApplianceConfig;
import dev.turnstile.appliance.Appliance;
import dev.turnstile.appliance.Main;
import dev.turnstile.appliance.testing.TestAppliances;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12, finding 9: a configuration mistake is an error that names the key (its dotted path and
 * file line) and the closest known key, never a silent default; check-config lists every problem of
 * every section at once.
 */
class StrictConfigTest {
    private static Vertx vertx;
    @TempDir
    Path dir;

    /** A valid file: 9 lines, so the line numbers below are known. */
    private static final String VALID = """
            server:
              id: "strict-1"
              host: "127.0.0.1"
              port: 0
            entitlements:
              - entitlement_id: "ent-a"
                tenant_id: "acme"
                product_id: "cad-pro"
                policy: { type: "concurrent", max_seats: 2, enforcement: "seats" }
            """;

    @BeforeAll
    static void startVertx() {
        vertx = Vertx.vertx();
    }

    @AfterAll
    static void stopVertx() throws Exception {
        vertx.close().await(20, TimeUnit.SECONDS);
    }

    private Path write(String name, String yaml) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, yaml);
        return p;
    }

    private static MainRunner checkConfig(Path file) {
        return MainRunner.run("check-config", "--config", file.toString());
    }

    private static Throwable startFailure(JsonObject tree) throws Exception {
        return Appliance.start(vertx, tree)
                .compose(a -> a.shutdown().map(v -> (Throwable) null), Future::succeededFuture)
                .await(60, TimeUnit.SECONDS);
    }

    @Test
    @DisplayName("GIVEN a file with `servr:` for `server:` WHEN check-config runs THEN it exits 2 naming servr, its line "
            + "and the closest known section")
    void a_misspelled_section_is_refused_naming_the_closest_known_one() throws Exception {
        MainRunner r = checkConfig(write("servr.yaml", VALID + "servr:\n  port: 7000\n"));
        assertEquals(Main.EXIT_CONFIG, r.code(), r.all());
        assertTrue(r.err().contains("servr: unknown key; did you mean server?"), r.all());
        assertTrue(r.err().contains("line 10"), r.all());
    }

    @Test
    @DisplayName("GIVEN `server.heartbeat_intervall` WHEN check-config runs THEN it exits 2 naming the dotted key, its "
            + "line and server.heartbeat_interval")
    void a_misspelled_key_is_refused_with_its_dotted_path_line_and_the_closest_known_key() throws Exception {
        MainRunner r = checkConfig(write("intervall.yaml", VALID.replace("  port: 0\n",
                "  port: 0\n  heartbeat_intervall: \"2s\"\n")));
        assertEquals(Main.EXIT_CONFIG, r.code(), r.all());
        assertTrue(r.err().contains("server.heartbeat_intervall: unknown key; did you mean server.heartbeat_interval?"),
                r.all());
        assertTrue(r.err().contains("line 5"), r.all());
    }

    @Test
    @DisplayName("GIVEN an unknown key in a deeper mapping (an entitlement's policy) WHEN the appliance starts THEN it "
            + "is refused with the full dotted path")
    void an_unknown_key_inside_a_list_entry_is_named_with_its_index() throws Exception {
        JsonObject tree = TestAppliances.config("strict-2", 1);
        tree.getJsonArray("entitlements").getJsonObject(1).getJsonObject("policy").put("max_seat", 3);
        ConfigException e = assertInstanceOf(ConfigException.class, startFailure(tree));
        assertTrue(e.getMessage().contains("entitlements[1].policy.max_seat: unknown key; did you mean "
                + "entitlements[1].policy.max_seats?"), e.getMessage());
    }

    @Test
    @DisplayName("GIVEN TURNSTILE_SERVER__PROTT in the environment WHEN the appliance starts THEN it is refused naming "
            + "server.prott and server.port")
    void an_unknown_environment_override_is_refused() throws Exception {
        JsonObject tree = ConfigLoader.load(vertx, write("env.yaml", VALID).toString(),
                Map.of("TURNSTILE_SERVER__PROTT", "7000")).await(20, TimeUnit.SECONDS);
        ConfigException e = assertInstanceOf(ConfigException.class, startFailure(tree));
        assertTrue(e.getMessage().contains("server.prott"), e.getMessage());
        assertTrue(e.getMessage().contains("did you mean server.port?"), e.getMessage());
    }

    @Test
    @DisplayName("GIVEN TURNSTILE_SERVER__PROTT WHEN the file is read and bound as the appliance does THEN the error "
            + "names the variable, and a valid override (TURNSTILE_SERVER__PORT) still works")
    void an_unknown_environment_override_names_the_variable() throws Exception {
        ConfigLoader.ConfigSource source = ConfigLoader.read(vertx, write("env2.yaml", VALID).toString(),
                Map.of("TURNSTILE_SERVER__PROTT", "7000", "TURNSTILE_CLIENT_TOKEN", "not an override"))
                .await(20, TimeUnit.SECONDS);
        ConfigException e = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                () -> dev.turnstile.appliance.Configuration.bind(source));
        assertEquals(java.util.List.of("server.prott: unknown key; did you mean server.port? (environment variable "
                + "TURNSTILE_SERVER__PROTT)"), e.problems());

        ConfigLoader.ConfigSource ok = ConfigLoader.read(vertx, write("env3.yaml", VALID).toString(),
                Map.of("TURNSTILE_SERVER__PORT", "7999")).await(20, TimeUnit.SECONDS);
        assertEquals(7999, dev.turnstile.appliance.Configuration.bind(ok).server().port());
    }

    @Test
    @DisplayName("GIVEN a key with no near match WHEN bound THEN the error lists the keys known at that level")
    void a_key_with_no_near_match_lists_the_known_keys() {
        JsonObject tree = TestAppliances.config("strict-3", 1);
        tree.getJsonObject("clients").put("password", "x");
        ConfigException e = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                () -> dev.turnstile.appliance.Configuration.bind(tree));
        assertEquals(java.util.List.of("clients.password: unknown key (known keys of clients: allowed_versions, "
                + "auth_token, min_version)"), e.problems());
    }

    @Test
    @DisplayName("GIVEN every section with every key (the full fixture plus store, sync, license, triad, logging) WHEN "
            + "bound strictly THEN nothing is unknown")
    void every_documented_key_is_known() throws Exception {
        JsonObject tree = ConfigLoader.load(vertx, Path.of(StrictConfigTest.class.getResource("/config/full.yaml").toURI())
                .toString(), Map.of("TEST_CLIENT_TOKEN", "t")).await(20, TimeUnit.SECONDS);
        tree.put("http", new JsonObject().put("enabled", false).put("host", "127.0.0.1").put("port", 8080)
                .put("api_token", "").put("read_open", false).put("max_body", 1_048_576).put("history_interval", "10s")
                .put("history_window", "1h").put("live_interval", "1s").put("tls", new JsonObject().put("enabled", false)
                        .put("cert", "").put("key", "")));
        tree.put("store", new JsonObject().put("url", "postgresql://turnstile@127.0.0.1:5432/turnstile")
                .put("host", "127.0.0.1").put("port", 5432).put("database", "turnstile").put("user", "turnstile")
                .put("password", "").put("flush_interval", "200ms").put("batch_size", 2000).put("queue_capacity", 50000)
                .put("spill_dir", "data/spill").put("write_mode", "write_behind").put("snapshot_interval", "60s")
                .put("connect_timeout", "3s").put("write_timeout", "15s").put("triad_buffer_events", 100000));
        tree.put("logging", new JsonObject().put("levels", new JsonObject().put("root", "info")
                .put("dev.turnstile.appliance.session", "debug")));
        tree.put("triad", new JsonObject().put("enabled", false).put("self", "a").put("state_dir", "/tmp/t")
                .put("members", new io.vertx.core.json.JsonArray().add(new JsonObject().put("id", "a")
                        .put("raft", "127.0.0.1:7900").put("client", "127.0.0.1:7878").put("raft_advertise", "127.0.0.1:7900")))
                .put("commit_timeout", "2s").put("failure_timeout", "4s").put("failure_interval", "500ms")
                .put("verify_suspect", "500ms").put("max_log_bytes", 4194304).put("fsync", true)
                .put("quorum_loss", new JsonObject().put("keep_leases_for", "14d")));
        tree.put("sync", new JsonObject().put("enabled", false).put("cloud_server_url", "").put("local_server_id", "")
                .put("schedule", new JsonObject().put("enabled", true).put("interval", "1h").put("timezone", "UTC"))
                .put("conflict_resolution", "cloud_wins")
                .put("authentication", new JsonObject().put("method", "bearer_token").put("token", ""))
                .put("retry", new JsonObject().put("max_attempts", 5).put("initial_delay_seconds", 1)
                        .put("max_delay_seconds", 300))
                .put("circuit_breaker", new JsonObject().put("max_failures", 5).put("reset_timeout", "60s")
                        .put("call_timeout", "30s"))
                .put("alerts", new JsonObject().put("repeated_failures", 3).put("conflicts", 10))
                .put("urgent_min_interval", "5m").put("state_dir", "data"));
        ApplianceConfig c = dev.turnstile.appliance.Configuration.bind(tree);
        assertEquals("plant-7", c.server().id());
    }

    @Test
    @DisplayName("GIVEN a second `server:` block WHEN check-config runs THEN it exits 2 naming the key and both lines")
    void a_duplicate_section_is_refused_naming_both_lines() throws Exception {
        MainRunner r = checkConfig(write("twice.yaml", VALID + "server:\n  port: 7001\n"));
        assertEquals(Main.EXIT_CONFIG, r.code(), r.all());
        assertTrue(r.err().contains("server: duplicate key"), r.all());
        assertTrue(r.err().contains("line 1") && r.err().contains("line 10"), r.all());
    }

    @Test
    @DisplayName("GIVEN a duplicate key inside a section WHEN check-config runs THEN it is refused with its dotted path")
    void a_duplicate_key_inside_a_section_is_refused() throws Exception {
        MainRunner r = checkConfig(write("port-twice.yaml", VALID.replace("  port: 0\n", "  port: 0\n  port: 7001\n")));
        assertEquals(Main.EXIT_CONFIG, r.code(), r.all());
        assertTrue(r.err().contains("server.port: duplicate key"), r.all());
    }

    @Test
    @DisplayName("GIVEN an empty file, or one with only comments WHEN check-config runs THEN it exits 2 saying the file "
            + "is empty")
    void an_empty_file_is_refused() throws Exception {
        for (String text : new String[] {"", "# nothing here yet\n\n"}) {
            MainRunner r = checkConfig(write("empty.yaml", text));
            assertEquals(Main.EXIT_CONFIG, r.code(), r.all());
            assertTrue(r.err().contains("is empty"), r.all());
        }
    }

    @Test
    @DisplayName("GIVEN mistakes in server:, store:, sync: and triad: WHEN check-config runs THEN every one is listed at "
            + "once, triad's included")
    void check_config_lists_the_problems_of_every_section_at_once() throws Exception {
        MainRunner r = checkConfig(write("many.yaml", """
                server:
                  port: "seventy"
                store:
                  batch_size: "lots"
                sync:
                  conflict_resolution: "coin_flip"
                triad:
                  enabled: true
                  state_dir: "/var/lib/turnstile/triad"
                  commit_timeout: "soon"
                  members:
                    - { id: "a", raft: "127.0.0.1:7900", client: "127.0.0.1:7878" }
                    - { id: "b", raft: "127.0.0.1", client: "127.0.0.1:7879" }
                entitlements: []
                """));
        assertEquals(Main.EXIT_CONFIG, r.code(), r.all());
        for (String key : new String[] {"server.port", "store.batch_size", "sync.conflict_resolution", "triad.self",
                "triad.members[1].raft", "triad.members: a triad has exactly 3 members", "triad.commit_timeout"}) {
            assertTrue(r.err().contains(key), key + " missing from\n" + r.all());
        }
    }

    @Test
    @DisplayName("GIVEN the demo and the installed configuration WHEN check-config runs THEN each is valid: every key "
            + "they use is known")
    void the_shipped_configurations_have_no_unknown_keys() throws Exception {
        assertEquals(0, MainRunner.run("check-config", "--demo").code());
        Path installed = Path.of("../systemd/turnstile.yaml");
        MainRunner r = checkConfig(installed);
        assertEquals(0, r.code(), r.all());
    }

    @Test
    @DisplayName("GIVEN a triad: section whose only mistakes are in triad (no self, a member without a port, two "
            + "members, a bad quorum_loss) WHEN check-config runs THEN it exits 2 listing each triad problem")
    void check_config_reports_a_bad_triad_section() throws Exception {
        MainRunner r = checkConfig(write("triad.yaml", VALID + """
                triad:
                  enabled: true
                  state_dir: "/var/lib/turnstile/triad"
                  quorum_loss: "sometimes"
                  members:
                    - { id: "a", raft: "127.0.0.1:7900", client: "127.0.0.1:7878" }
                    - { id: "b", raft: "127.0.0.1", client: "127.0.0.1:7879" }
                """));
        assertEquals(Main.EXIT_CONFIG, r.code(), r.all());
        for (String problem : new String[] {"triad.self: required", "triad.members[1].raft: expected host:port",
                "triad.members: a triad has exactly 3 members, got 2", "triad.quorum_loss: expected 'revoke' or"}) {
            assertTrue(r.err().contains(problem), problem + " missing from\n" + r.all());
        }
        assertTrue(r.err().contains("4 problems"), r.all());
    }

    @Test
    @DisplayName("GIVEN a valid triad: section WHEN check-config runs THEN it exits 0 and says which member this is")
    void check_config_binds_a_good_triad_section() throws Exception {
        MainRunner r = checkConfig(write("triad-ok.yaml", VALID + """
                triad:
                  enabled: true
                  self: "b"
                  state_dir: "/var/lib/turnstile/triad"
                  members:
                    - { id: "a", raft: "127.0.0.1:7900", client: "127.0.0.1:7878" }
                    - { id: "b", raft: "127.0.0.1:7910", client: "127.0.0.1:7879" }
                    - { id: "c", raft: "127.0.0.1:7920", client: "127.0.0.1:7880" }
                """));
        assertEquals(0, r.code(), r.all());
        assertTrue(r.out().contains("triad member b of 3"), r.all());
    }

    @Test
    @DisplayName("GIVEN the appliance WHEN `config-doc` runs THEN it prints CONFIG.md as the definitions generate it")
    void config_doc_prints_the_reference_of_every_key() {
        MainRunner r = MainRunner.run("config-doc");
        assertEquals(0, r.code(), r.all());
        assertEquals(dev.turnstile.appliance.Configuration.referenceMarkdown(), r.out());
        assertTrue(r.out().contains("| `triad.quorum_loss` |"), r.all());
    }

    @Test
    @DisplayName("GIVEN the demo and the installed configuration WHEN read THEN each names CONFIG.md, which exists and "
            + "install.sh installs where the installed one says")
    void the_shipped_configurations_name_config_md() throws Exception {
        String demo;
        try (java.io.InputStream in = StrictConfigTest.class.getResourceAsStream("/demo.yaml")) {
            demo = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
        assertTrue(demo.contains("appliance/CONFIG.md"), "demo.yaml names appliance/CONFIG.md");
        assertTrue(Files.isRegularFile(Path.of("CONFIG.md")), "appliance/CONFIG.md exists");
        String installed = Files.readString(Path.of("../systemd/turnstile.yaml"));
        assertTrue(installed.contains("/usr/local/share/doc/turnstile/CONFIG.md"), "turnstile.yaml names the installed copy");
        String install = Files.readString(Path.of("../systemd/install.sh"));
        assertTrue(install.contains("put \"$repo/appliance/CONFIG.md\" \"$docdir/CONFIG.md\""),
                "install.sh installs appliance/CONFIG.md as $docdir/CONFIG.md");
        assertTrue(install.contains("docdir=/usr/local/share/doc/turnstile"), "$docdir is the path turnstile.yaml names");
    }
}
