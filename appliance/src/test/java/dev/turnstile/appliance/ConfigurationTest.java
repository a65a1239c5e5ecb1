package dev.turnstile.appliance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.config.ConfigDoc;
import dev.turnstile.appliance.config.ConfigException;
import dev.turnstile.appliance.config.ConfigKey;
import dev.turnstile.appliance.config.ConfigLoader;
import dev.turnstile.appliance.config.ConfigReader;
import dev.turnstile.appliance.config.ConfigSection;
import dev.turnstile.appliance.license.LicenseConfig;
import dev.turnstile.appliance.store.StoreConfig;
import dev.turnstile.appliance.triad.TriadConfig;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Issue 13: one typed config tree, bound once with every problem collected; CONFIG.md generated from the same
 * definitions that bind and validate, and tests that fail when the file, the definitions and the binders drift.
 */
class ConfigurationTest {

    /** appliance/CONFIG.md (the tests run in the appliance module's directory). */
    static final Path CONFIG_MD = Path.of("CONFIG.md");

    private static JsonObject everyKey() throws Exception {
        Path file = Path.of(ConfigurationTest.class.getResource("/config/every-key.yaml").toURI());
        return ConfigLoader.read(file, Map.of()).checkedTree();
    }

    private static Set<String> documentedPaths() {
        Set<String> out = new LinkedHashSet<>();
        for (ConfigSection s : Configuration.SECTIONS) {
            out.add(s.key().path());
            for (ConfigKey k : s.keys()) {
                assertTrue(out.add(k.path()), k.path() + " is defined twice");
            }
        }
        return out;
    }

    @Test
    @DisplayName("GIVEN the key definitions WHEN CONFIG.md is generated from them THEN it is the committed "
            + "appliance/CONFIG.md, byte for byte")
    void config_md_is_what_the_definitions_generate() throws Exception {
        String expected = Configuration.referenceMarkdown();
        String actual = Files.exists(CONFIG_MD) ? Files.readString(CONFIG_MD, StandardCharsets.UTF_8) : "(missing)";
        if (!expected.equals(actual)) {
            Path generated = Path.of("target", "CONFIG.md.generated");
            Files.createDirectories(generated.getParent());
            Files.writeString(generated, expected, StandardCharsets.UTF_8);
            assertEquals(expected, actual, "appliance/CONFIG.md differs from the key definitions (ConfigKey in each "
                    + "*Config class). Regenerate it from the repository root:\n  " + ConfigDoc.REGENERATE
                    + "\nor copy appliance/" + generated + " (just written) over appliance/CONFIG.md.");
        }
    }

    @Test
    @DisplayName("GIVEN a file setting every key of every section WHEN it is bound THEN the binders read exactly the "
            + "defined keys: none read outside a definition, no definition left unread")
    void the_binders_read_exactly_the_defined_keys() throws Exception {
        ConfigReader r = new ConfigReader();
        Configuration.bindInto(everyKey(), r, Map.of());
        assertEquals(List.of(), r.problems());

        Set<String> documented = documentedPaths();
        Set<String> readThroughDefinitions = new TreeSet<>();
        for (ConfigKey k : r.definitionsRead()) {
            readThroughDefinitions.add(k.path());
        }
        Set<String> read = new TreeSet<>();
        for (String k : r.knownKeys()) {
            read.add(k.replaceAll("\\[\\d+]", "[]"));
        }
        assertEquals(new TreeSet<>(documented), readThroughDefinitions,
                "every key CONFIG.md documents is read by a binder through its definition, and no other");
        assertEquals(new TreeSet<>(documented), read, "no binder reads a key by name, around its definition");
    }

    @Test
    @DisplayName("GIVEN a file setting every key WHEN bound THEN every section lands in the one tree, once")
    void every_section_is_bound_into_the_one_tree() throws Exception {
        JsonObject tree = everyKey();
        ApplianceConfig c = Configuration.bind(tree, Map.of(), List.of(), Map.of());
        assertEquals("plant-9", c.server().id());
        assertEquals(128 * 1024, c.server().limits().socketSendBuffer());
        assertTrue(c.clients().tokenMatches("client-secret"));
        assertEquals(1, c.entitlements().size());
        assertEquals(8081, c.http().port());
        StoreConfig store = c.store().orElseThrow();
        assertEquals(500, store.batchSize());
        assertEquals("db-secret", store.password());
        assertEquals(1_000, store.triadBufferEvents());
        assertEquals("plant-9-cloud", c.sync().localServerId());
        assertEquals(120_000, c.sync().retry().maxDelayMs());
        assertTrue(c.license().enabled());
        assertEquals("plant-9-license", c.license().localServerId());
        assertEquals(LicenseConfig.OnExpiry.REVOKE_LEASES, c.license().onExpiry());
        assertFalse(c.triad().enabled());
        assertEquals("warn", c.loggingLevels().get("dev.turnstile.appliance.session"));

        tree.getJsonObject("triad").put("enabled", true).put("members", new JsonArray()
                .add(member("a", 7900)).add(member("b", 7910)).add(member("c", 7920)));
        TriadConfig triad = Configuration.bind(tree, Map.of(), List.of(), Map.of()).triad();
        assertTrue(triad.enabled());
        assertEquals(3_000, triad.commitTimeoutMs());
        assertEquals(14L * 86_400_000L, triad.quorumLoss().keepLeasesForMs());

        tree.remove("store");
        assertTrue(Configuration.bind(tree, Map.of(), List.of(), Map.of()).store().isEmpty(),
                "no store: section, no store (memory only)");
    }

    private static JsonObject member(String id, int port) {
        return new JsonObject().put("id", id).put("raft", "127.0.0.1:" + port).put("client", "127.0.0.1:" + (port + 1));
    }

    @Test
    @DisplayName("GIVEN license.local_server_id unset WHEN bound THEN it is sync.local_server_id, else server.id, as "
            + "CONFIG.md says")
    void the_license_server_id_defaults_through_the_tree() throws Exception {
        JsonObject tree = everyKey();
        tree.getJsonObject("license").remove("local_server_id");
        assertEquals("plant-9-cloud", Configuration.bind(tree, Map.of(), List.of(), Map.of()).license().localServerId());
        tree.getJsonObject("sync").remove("local_server_id");
        assertEquals("plant-9", Configuration.bind(tree, Map.of(), List.of(), Map.of()).license().localServerId());
    }

    @Test
    @DisplayName("GIVEN problems in server:, store:, triad: and license: WHEN the file is bound THEN one "
            + "ConfigException names every one of them, each by its dotted key")
    void a_file_with_problems_in_three_sections_names_all_three() throws Exception {
        JsonObject tree = everyKey();
        tree.getJsonObject("server").put("port", "seventy");
        tree.getJsonObject("store").put("batch_size", "lots");
        tree.getJsonObject("triad").put("enabled", true).put("commit_timeout", "soon");
        tree.getJsonObject("license").put("on_expiry", "panic");
        ConfigException e = assertThrows(ConfigException.class,
                () -> Configuration.bind(tree, Map.of(), List.of(), Map.of()));
        String all = String.join("\n", e.problems());
        for (String key : List.of("server.port: expected an integer", "store.batch_size: expected an integer",
                "triad.commit_timeout: expected a duration", "triad.members: a triad has exactly 3 members",
                "license.on_expiry: expected keep_leases or revoke_leases")) {
            assertTrue(all.contains(key), key + " missing from\n" + all);
        }
        assertEquals(5, e.problems().size(), all);
    }

    @Test
    @DisplayName("GIVEN a secret key with a value of the wrong type WHEN bound THEN the problem names the key and "
            + "never shows the value")
    void a_bad_secret_is_named_but_its_value_is_never_shown() throws Exception {
        JsonObject tree = everyKey();
        tree.getJsonObject("clients").put("auth_token", new JsonObject().put("value", "hunter2-client"));
        tree.getJsonObject("store").put("password", new JsonArray().add("hunter2-db"));
        ConfigException e = assertThrows(ConfigException.class,
                () -> Configuration.bind(tree, Map.of(), List.of(), Map.of()));
        String all = String.join("\n", e.problems());
        assertTrue(all.contains("clients.auth_token: expected a string"), all);
        assertTrue(all.contains("store.password: expected a string"), all);
        assertFalse(all.contains("hunter2"), all);
    }

    @Test
    @DisplayName("GIVEN every definition WHEN documented THEN each has a meaning, and each key of a value has a type "
            + "and a default or says it is required")
    void every_definition_has_a_meaning_and_a_default() {
        List<String> missing = new ArrayList<>();
        for (ConfigSection s : Configuration.SECTIONS) {
            for (ConfigKey k : s.keys()) {
                if (k.doc().isBlank()) {
                    missing.add(k.path() + ": no meaning");
                }
                if (k.type() != ConfigKey.Type.MAPPING && k.defaultText().isBlank()) {
                    missing.add(k.path() + ": no default");
                }
                if (k.defaultValue() != null && k.type() == ConfigKey.Type.DURATION
                        && (k.defaultLong() < k.min() || k.defaultLong() > k.max())) {
                    missing.add(k.path() + ": default outside its range");
                }
            }
        }
        assertEquals(List.of(), missing);
    }
}
