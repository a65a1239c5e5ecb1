package dev.turnstile.appliance.license;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.Appliance;
import dev.turnstile.appliance.config.ConfigException;
import dev.turnstile.appliance.config.ConfigLoader;
import dev.turnstile.appliance.testing.RawClient;
import dev.turnstile.protocol.Message;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's demo runs on the DEMO license; the production configuration refuses the DEMO key. */
class DemoAndProductionConfigTest {
    private Vertx vertx;
    @TempDir
    Path tmp;

    @BeforeEach
    void setUp() {
        vertx = Vertx.vertx();
    }

    @AfterEach
    void tearDown() throws Exception {
        vertx.close().await(20, TimeUnit.SECONDS);
    }

    private JsonObject load(Path yaml, Map<String, String> env) throws Exception {
        return ConfigLoader.load(vertx, yaml.toString(), env).await(20, TimeUnit.SECONDS);
    }

    private Path demoYaml() throws Exception {
        Path p = tmp.resolve("demo.yaml");
        try (InputStream in = Appliance.class.getResourceAsStream("/demo.yaml")) {
            Files.write(p, in.readAllBytes());
        }
        return p;
    }

    /** systemd/turnstile.yaml, the configuration systemd/install.sh installs. */
    private static Path productionYaml() {
        Path p = Path.of("../systemd/turnstile.yaml");
        return Files.exists(p) ? p : Path.of("systemd/turnstile.yaml");
    }

    @Test
    @DisplayName("GIVEN the built-in demo configuration on a fresh machine WHEN the appliance starts THEN it runs on the "
            + "built-in DEMO license (verified with the DEMO key) and grants seats")
    void the_demo_runs_on_the_demo_license() throws Exception {
        JsonObject tree = load(demoYaml(), Map.of("TMPDIR", tmp.toString(), "TURNSTILE_SERVER__PORT", "0", "TURNSTILE_HTTP__PORT", "0"));
        Appliance a = Appliance.start(vertx, tree).await(30, TimeUnit.SECONDS);
        try {
            JsonObject lic = a.statusJson().getJsonObject("license");
            assertEquals("valid", lic.getString("state"), lic.encodePrettily());
            assertEquals(true, lic.getBoolean("demo"));
            assertEquals("DEMO", lic.getString("key_id"));
            assertEquals("DEMO-license-1", lic.getString("license_id"));
            try (RawClient c = RawClient.session(a.tcpPort(), "demo", "hw-demo")) {
                assertInstanceOf(Message.Granted.class, c.request(c.checkout("cad-pro", 1)).message());
            }
        } finally {
            a.shutdown().await(30, TimeUnit.SECONDS);
        }
    }

    @Test
    @DisplayName("GIVEN the production configuration WHEN it names the DEMO key THEN the appliance refuses to start and "
            + "the message names license.public_key")
    void production_refuses_the_demo_key() throws Exception {
        Path prod = productionYaml();
        assertTrue(Files.exists(prod), "the production configuration " + prod.toAbsolutePath());
        JsonObject tree = load(prod, Map.of());
        tree.put("license", new JsonObject().put("public_key", "DEMO"));
        tree.getJsonObject("server").put("port", 0).put("host", "127.0.0.1");
        tree.getJsonObject("http").put("port", 0).put("host", "127.0.0.1");
        Throwable failure = Appliance.start(vertx, tree).transform(ar -> io.vertx.core.Future.succeededFuture(ar.cause()))
                .await(30, TimeUnit.SECONDS);
        ConfigException e = assertInstanceOf(ConfigException.class, failure);
        assertTrue(e.getMessage().contains("license.public_key") && e.getMessage().contains("DEMO"), e.getMessage());
    }

    @Test
    @DisplayName("GIVEN a production configuration whose key FILE holds the DEMO key WHEN the appliance starts THEN it is "
            + "refused just the same")
    void a_key_file_with_the_demo_key_is_refused() throws Exception {
        Path key = tmp.resolve("vendor.pem");
        Files.writeString(key, LicenseKeys.toPem(LicenseKeys.demoPublicKey()));
        JsonObject tree = load(productionYaml(), Map.of());
        tree.put("license", new JsonObject().put("public_key", key.toString()).put("file", tmp.resolve("l.json").toString()));
        tree.getJsonObject("server").put("port", 0).put("host", "127.0.0.1");
        tree.getJsonObject("http").put("port", 0).put("host", "127.0.0.1");
        Throwable failure = Appliance.start(vertx, tree).transform(ar -> io.vertx.core.Future.succeededFuture(ar.cause()))
                .await(30, TimeUnit.SECONDS);
        assertTrue(failure != null && String.valueOf(failure.getMessage()).contains("DEMO key"), String.valueOf(failure));
    }
}
