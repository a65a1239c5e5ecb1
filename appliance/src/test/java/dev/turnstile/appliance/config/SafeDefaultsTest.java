package dev.turnstile.appliance.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.ApplianceConfig;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.turnstile.appliance.Appliance;
import dev.turnstile.appliance.testing.TestAppliances;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Issue 12, findings 1 (first half) and 12: the installed configuration serves HTTP on loopback with
 * reads behind the token; reads need the token unless {@code http.read_open} opts in; a TCP listener
 * on a non-loopback address without a client token is warned about at start and in the status.
 */
class SafeDefaultsTest {
    private static final String TOKEN = "admin-t0ken";
    private Vertx vertx;
    private Appliance appliance;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    @TempDir
    Path tmp;

    @BeforeEach
    void setUp() {
        vertx = Vertx.vertx();
    }

    @AfterEach
    void tearDown() throws Exception {
        if (appliance != null) {
            appliance.shutdown().await(30, TimeUnit.SECONDS);
        }
        vertx.close().await(20, TimeUnit.SECONDS);
    }

    private HttpResponse<String> get(String path, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + appliance.httpPort() + path))
                .timeout(Duration.ofSeconds(10));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    @DisplayName("GIVEN the configuration install.sh installs WHEN the appliance runs on it THEN HTTP listens on loopback "
            + "and GET /v1/leases without the token is refused (with it: 200)")
    void the_installed_configuration_keeps_http_on_loopback_and_reads_behind_the_token() throws Exception {
        JsonObject tree = ConfigLoader.load(vertx, Path.of("../systemd/turnstile.yaml").toString(),
                Map.of("LOCAL_API_TOKEN", TOKEN)).await(20, TimeUnit.SECONDS);
        assertEquals("127.0.0.1", tree.getJsonObject("http").getString("host"), "the installed http.host");
        assertTrue(tree.getJsonObject("http").getValue("read_open") == null
                || Boolean.FALSE.equals(tree.getJsonObject("http").getValue("read_open")), "reads are not opened");
        tree.getJsonObject("server").put("host", "127.0.0.1").put("port", 0); // loopback only in tests
        tree.getJsonObject("http").put("port", 0);
        appliance = Appliance.start(vertx, tree).await(30, TimeUnit.SECONDS);

        assertEquals(401, get("/v1/leases", null).statusCode());
        assertEquals(401, get("/v1/status", null).statusCode());
        assertEquals(401, get("/metrics", null).statusCode());
        assertEquals(401, get("/v1/leases", "wrong").statusCode());
        assertEquals(200, get("/v1/leases", TOKEN).statusCode());
        assertEquals(200, get("/health/live", null).statusCode(), "health stays open for probes");
    }

    @Test
    @DisplayName("GIVEN an http: section that does not mention read_open WHEN a client reads GET /v1/leases without the "
            + "token THEN it is refused")
    void reads_need_the_token_unless_read_open_opts_in() throws Exception {
        JsonObject tree = TestAppliances.config("safe-1", 2);
        tree.put("http", new JsonObject().put("enabled", true).put("host", "127.0.0.1").put("port", 0)
                .put("api_token", TOKEN));
        appliance = Appliance.start(vertx, tree).await(30, TimeUnit.SECONDS);
        assertEquals(401, get("/v1/leases", null).statusCode());
        assertFalse(appliance.config().http().readOpen());
    }

    @Test
    @DisplayName("GIVEN http: without a host WHEN bound THEN it listens on loopback")
    void http_defaults_to_loopback() {
        JsonObject tree = TestAppliances.config("safe-2", 2);
        tree.put("http", new JsonObject().put("enabled", true));
        assertEquals("127.0.0.1", ApplianceConfig.from(tree).http().host());
    }

    @Test
    @DisplayName("GIVEN the TCP listener on all interfaces and no client token WHEN the appliance starts THEN it warns "
            + "in the log and in the warnings list of /v1/status")
    void a_tcp_listener_open_to_the_network_without_a_client_token_is_warned_about() throws Exception {
        Logger logger = (Logger) LoggerFactory.getLogger(Appliance.class);
        ListAppender<ILoggingEvent> logged = new ListAppender<>();
        logged.start();
        logger.addAppender(logged);
        try {
            JsonObject tree = TestAppliances.config("safe-3", 2);
            tree.getJsonObject("server").put("host", "0.0.0.0"); // port 0; the test talks to it on loopback only
            tree.put("http", new JsonObject().put("enabled", true).put("host", "127.0.0.1").put("port", 0)
                    .put("api_token", TOKEN));
            appliance = Appliance.start(vertx, tree).await(30, TimeUnit.SECONDS);
            JsonObject status = new JsonObject(get("/v1/status", TOKEN).body());
            JsonArray warnings = status.getJsonArray("warnings");
            assertTrue(warnings != null && warnings.size() == 1, status.encodePrettily());
            JsonObject w = warnings.getJsonObject(0);
            assertEquals("tcpOpenWithoutClientToken", w.getString("code"), w.encode());
            assertTrue(w.getString("message").contains("server.host") && w.getString("message").contains("clients.auth_token"),
                    w.encode());
            assertTrue(logged.list.stream().anyMatch(e -> e.getLevel() == ch.qos.logback.classic.Level.WARN
                    && e.getFormattedMessage().contains("clients.auth_token")), "a WARN at start");
        } finally {
            logger.detachAppender(logged);
        }
    }

    @Test
    @DisplayName("GIVEN the TCP listener on loopback, or on all interfaces with a client token WHEN the appliance "
            + "starts THEN the warnings list is empty")
    void no_warning_when_the_listener_is_loopback_or_token_protected() throws Exception {
        for (boolean withToken : new boolean[] {false, true}) {
            JsonObject tree = TestAppliances.config("safe-4", 2);
            if (withToken) {
                tree.getJsonObject("server").put("host", "0.0.0.0");
                tree.getJsonObject("clients").put("auth_token", "client-secret");
            }
            tree.put("http", new JsonObject().put("enabled", true).put("host", "127.0.0.1").put("port", 0)
                    .put("api_token", TOKEN));
            appliance = Appliance.start(vertx, tree).await(30, TimeUnit.SECONDS);
            JsonObject status = new JsonObject(get("/v1/status", TOKEN).body());
            assertEquals(new JsonArray(), status.getJsonArray("warnings"), status.encodePrettily());
            appliance.shutdown().await(30, TimeUnit.SECONDS);
            appliance = null;
        }
    }
}
