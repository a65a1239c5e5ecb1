package dev.turnstile.appliance.metrics;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.Appliance;
import dev.turnstile.appliance.sync.SyncFixture;
import dev.turnstile.appliance.testing.RawClient;
import dev.turnstile.appliance.testing.TestAppliances;
import dev.turnstile.protocol.Message;
import io.micrometer.core.instrument.Meter;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The metrics component owns its meters and its seat history: the history runs without the HTTP server, the
 * meters go to the registry the appliance was given (never Micrometer's global one), and a stopped appliance
 * leaves none behind.
 */
class MetricsComponentTest {
    private final List<AutoCloseable> closers = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (int i = closers.size() - 1; i >= 0; i--) {
            closers.get(i).close();
        }
    }

    private Vertx vertx(Vertx v) {
        closers.add(() -> v.close().await(30, TimeUnit.SECONDS));
        return v;
    }

    private Appliance start(Vertx vertx, JsonObject config) throws Exception {
        Appliance a = Appliance.start(vertx, config).await(30, TimeUnit.SECONDS);
        closers.add(() -> a.shutdown().await(30, TimeUnit.SECONDS));
        return a;
    }

    /** The samples of {@code product} in the seat history, oldest first (null: no value in that sample). */
    private static JsonArray used(Appliance a, String product) {
        SeatHistory h = a.metrics().history();
        if (h == null) {
            return new JsonArray();
        }
        JsonObject p = h.toJson().getJsonObject("products").getJsonObject(product);
        return p == null ? new JsonArray() : p.getJsonArray("used");
    }

    @Test
    @DisplayName("GIVEN http.enabled: false WHEN a client holds a seat THEN the seat history still samples it")
    void seat_history_is_sampled_with_http_disabled() throws Exception {
        JsonObject c = TestAppliances.config("history-no-http", 2);
        c.put("http", new JsonObject().put("enabled", false).put("history_interval", "100ms")
                .put("history_window", "10s"));
        Appliance a = start(vertx(Vertx.vertx()), c);
        assertEquals(-1, a.httpPort(), "no HTTP server");
        assertNotNull(a.metrics().history(), "the history started with the appliance, not with HTTP");

        try (RawClient client = RawClient.session(a.tcpPort(), "press-1", "hw-1")) {
            Message granted = client.request(client.checkout("cad-pro", 1)).message();
            assertTrue(granted instanceof Message.Granted, "granted: " + granted);

            await().atMost(Duration.ofSeconds(20)).until(() -> used(a, "cad-pro").contains(1L)
                    || used(a, "cad-pro").contains(1));
        }
        assertEquals(100, a.metrics().history().intervalMs());
    }

    @Test
    @DisplayName("GIVEN two licensed appliances in one JVM WHEN each is scraped THEN each shows its own sync and "
            + "license meters and none of the other's")
    void two_appliances_in_one_jvm_do_not_see_each_others_meters() throws Exception {
        SyncFixture one = new SyncFixture("meters-one", Instant.parse("2027-03-01T00:00:00Z"));
        closers.add(one);
        SyncFixture two = new SyncFixture("meters-two", Instant.parse("2027-03-01T00:00:00Z"));
        closers.add(two);
        for (SyncFixture f : List.of(one, two)) {
            f.startCloud();
            f.cloud.put(SyncFixture.entitlement("ent-cad", "cad-pro", 2));
            f.start(cfg -> { });
            f.awaitFirstSync();
        }
        for (SyncFixture f : List.of(one, two)) {
            String other = f == one ? "meters-two" : "meters-one";
            String text = f.appliance.metrics().scrape();
            assertTrue(text.contains("turnstile_license_seconds_left{server_id=\"" + f.serverId + "\"}"), text);
            assertTrue(text.contains("turnstile_sync_attempts_total{outcome=\"success\",server_id=\"" + f.serverId
                    + "\"}"), text);
            assertFalse(text.contains("server_id=\"" + other + "\""), f.serverId + " shows " + other + "'s meters:\n"
                    + text);
        }
    }

    @Test
    @DisplayName("GIVEN a registry that outlives the appliance (the production Vert.x's) WHEN the appliance stops "
            + "THEN none of its meters is left in it")
    void a_stopped_appliance_leaves_no_meter_in_a_shared_registry() throws Exception {
        Vertx vertx = vertx(VertxMetricsSetup.vertx(new VertxOptions()));
        PrometheusMeterRegistry registry = VertxMetricsSetup.registryOf(vertx);
        Appliance a = Appliance.start(vertx, TestAppliances.config("meters-left", 2)).await(30, TimeUnit.SECONDS);
        a.metrics().refresh(); // the pool gauges and the counters made on demand
        assertTrue(turnstileMeters(registry).size() > 10, "the appliance's meters are in the shared registry");

        a.shutdown().await(30, TimeUnit.SECONDS);

        assertEquals(List.of(), turnstileMeters(registry));
    }

    private static List<String> turnstileMeters(PrometheusMeterRegistry registry) {
        return registry.getMeters().stream().map(Meter::getId).map(Meter.Id::getName)
                .filter(n -> n.startsWith("turnstile")).toList();
    }
}
