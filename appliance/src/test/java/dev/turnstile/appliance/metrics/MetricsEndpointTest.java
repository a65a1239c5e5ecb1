package dev.turnstile.appliance.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.Appliance;
import dev.turnstile.appliance.sync.SyncFixture;
import dev.turnstile.appliance.testing.RawClient;
import dev.turnstile.appliance.testing.TestAppliances;
import dev.turnstile.protocol.Message;
import dev.turnstile.testsupport.Wait;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.DoublePredicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * {@code /metrics} in Prometheus text format: the appliance's own meters follow what clients do
 * (seats, checkouts, denials by code, expiries, forced releases, sessions, heartbeat age), next to the
 * store's, the sync's and the license's, the JVM's and the event loops'; on a Vert.x made like the
 * production one (metrics enabled) Vert.x's own meters are in the same registry.
 */
class MetricsEndpointTest {
    private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)\\})? (\\S+)$");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    private final List<RawClient> clients = new ArrayList<>();
    private final List<AutoCloseable> closers = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        clients.forEach(RawClient::close);
        for (int i = closers.size() - 1; i >= 0; i--) {
            closers.get(i).close();
        }
    }

    /** One sample of the exposition: name, labels, value. */
    record Sample(String name, Map<String, String> labels, double value) {
    }

    static List<Sample> parse(String text) {
        List<Sample> out = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            Matcher m = SAMPLE.matcher(line);
            assertTrue(m.matches(), "not a Prometheus sample line: " + line);
            Map<String, String> labels = new HashMap<>();
            if (m.group(3) != null) {
                Matcher l = LABEL.matcher(m.group(3));
                while (l.find()) {
                    labels.put(l.group(1), l.group(2));
                }
            }
            String v = m.group(4);
            out.add(new Sample(m.group(1), labels, v.equals("+Inf") ? Double.POSITIVE_INFINITY
                    : v.equals("-Inf") ? Double.NEGATIVE_INFINITY : v.equals("NaN") ? Double.NaN : Double.parseDouble(v)));
        }
        return out;
    }

    /** The value of {@code name} with (at least) {@code labels}; fails when there is none. */
    static double value(List<Sample> samples, String name, String... labels) {
        Double found = find(samples, name, labels);
        assertNotNull(found, "no " + name + " " + String.join(",", labels) + " in /metrics");
        return found;
    }

    static Double find(List<Sample> samples, String name, String... labels) {
        for (Sample s : samples) {
            if (!s.name().equals(name)) {
                continue;
            }
            boolean all = true;
            for (int i = 0; i < labels.length; i += 2) {
                all &= labels[i + 1].equals(s.labels().get(labels[i]));
            }
            if (all) {
                return s.value();
            }
        }
        return null;
    }

    private HttpResponse<String> get(Appliance a, String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + a.httpPort() + path))
                .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private List<Sample> scrape(Appliance a) throws Exception {
        HttpResponse<String> r = get(a, "/metrics");
        assertEquals(200, r.statusCode());
        assertEquals("text/plain; version=0.0.4; charset=utf-8", r.headers().firstValue("content-type").orElse(""));
        return parse(r.body());
    }

    /** Scrapes until {@code name{labels}} satisfies {@code ok} (bounded), returns the last scrape. */
    private List<Sample> scrapeUntil(Appliance a, String name, DoublePredicate ok, String... labels) throws Exception {
        return Wait.forValue("/metrics to show the expected " + name + " " + String.join(",", labels),
                Duration.ofSeconds(20), () -> scrape(a), s -> {
                    Double v = find(s, name, labels);
                    return v != null && ok.test(v);
                });
    }

    private static JsonObject config(String id) {
        JsonObject c = TestAppliances.config(id, 2);
        c.put("entitlements", new JsonArray().add(TestAppliances.entitlement("ent-cad", "cad-pro", 2, "seats")));
        c.put("http", new JsonObject().put("enabled", true).put("host", "127.0.0.1").put("port", 0).put("api_token", "t0k")
                .put("read_open", true)); // /metrics read without the token here
        return c;
    }

    private Appliance start(Vertx vertx, JsonObject config) throws Exception {
        Appliance a = Appliance.start(vertx, config).await(30, TimeUnit.SECONDS);
        closers.add(() -> a.shutdown().await(30, TimeUnit.SECONDS));
        return a;
    }

    private RawClient session(Appliance a, String clientId) throws Exception {
        RawClient c = RawClient.session(a.tcpPort(), clientId, "hw-" + clientId);
        clients.add(c);
        return c;
    }

    @Test
    @DisplayName("GIVEN checkouts, a denial, a queue timeout, an expiry and a forced release WHEN /metrics is scraped THEN "
            + "seats, checkouts, denials by code, lease ends, sessions and heartbeat age say so")
    void seat_meters_follow_the_ledger() throws Exception {
        Vertx vertx = Vertx.vertx();
        closers.add(() -> vertx.close().await(30, TimeUnit.SECONDS));
        Appliance a = start(vertx, config("metrics-1"));

        // GIVEN two seats taken (one by a client that will stop heartbeating), a denial and a queue timeout
        RawClient holder = session(a, "holder");
        Message.Granted g1 = (Message.Granted) holder.request(holder.checkout("cad-pro", 1)).message();
        RawClient silent = session(a, "silent");
        silent.request(silent.checkout("cad-pro", 1));
        RawClient third = session(a, "third");
        assertEquals("noSeatsAvailable", ((Message.Denied) third.request(third.checkout("cad-pro", 1)).message())
                .errorCode().wireName());
        Message waited = third.request(new Message.Checkout("cad-pro", "", 1, 1, Message.Checkout.FLAG_WAIT, 300, Message.NO_LEASE))
                .message();
        assertTrue(waited instanceof Message.Queued, "queued first: " + waited);
        assertEquals("unknownProduct", ((Message.Denied) third.request(third.checkout("no-such-product", 1)).message())
                .errorCode().wireName());

        List<Sample> s = scrapeUntil(a, "turnstile_denials_total", v -> v == 1, "product_id", "cad-pro", "code", "queueTimeout");
        assertEquals(2, value(s, "turnstile_seats_used", "entitlement_id", "ent-cad", "product_id", "cad-pro", "tenant_id", "acme"));
        assertEquals(2, value(s, "turnstile_seats_max", "entitlement_id", "ent-cad"));
        assertEquals(0, value(s, "turnstile_seats_waiting", "entitlement_id", "ent-cad"));
        assertEquals(2, value(s, "turnstile_seats_high_water", "entitlement_id", "ent-cad"));
        assertEquals(2, value(s, "turnstile_checkouts_total", "product_id", "cad-pro", "kind", "checkout"));
        assertEquals(1, value(s, "turnstile_denials_total", "product_id", "cad-pro", "code", "noSeatsAvailable"));
        assertEquals(1, value(s, "turnstile_denials_total", "product_id", "(none)", "code", "unknownProduct"),
                "denials for made-up products share one label value");
        assertEquals(1, value(s, "turnstile_queued_total", "product_id", "cad-pro"));
        assertEquals(3, value(s, "turnstile_sessions"));
        assertEquals(2, value(s, "turnstile_leases"));
        assertTrue(value(s, "turnstile_heartbeat_age_max_seconds") >= 0);
        assertEquals(0, value(s, "turnstile_store_persistent"), "memory only");
        assertEquals(0, value(s, "turnstile_store_queue_depth"));

        // WHEN the admin force-releases the holder's lease and the silent client's lease expires (1.5 s timeout)
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + a.httpPort() + "/v1/leases/"
                + g1.leaseId() + "/release")).header("Authorization", "Bearer t0k").POST(HttpRequest.BodyPublishers.noBody())
                .build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());

        // THEN
        s = scrapeUntil(a, "turnstile_lease_expiries_total", v -> v == 1, "product_id", "cad-pro");
        assertEquals(1, value(s, "turnstile_lease_ends_total", "product_id", "cad-pro", "kind", "release", "reason", "forcedRelease"));
        assertEquals(1, value(s, "turnstile_lease_ends_total", "product_id", "cad-pro", "kind", "expiry", "reason",
                "licenseCheckoutExpired"));
        assertEquals(0, value(s, "turnstile_seats_used", "entitlement_id", "ent-cad"));
        assertEquals(2, value(s, "turnstile_seats_high_water", "entitlement_id", "ent-cad"));
        assertTrue(value(s, "turnstile_ledger_events_total") >= 8);
        // the JVM and the event loops (this test's Vert.x has no metrics of its own: the appliance binds them)
        assertTrue(s.stream().filter(x -> x.name().equals("jvm_memory_used_bytes") && "heap".equals(x.labels().get("area")))
                .mapToDouble(Sample::value).sum() > 0, "heap in use");
        assertTrue(find(s, "netty_eventexecutor_tasks_pending") != null, "pending tasks per event loop");
        s = scrapeUntil(a, "turnstile_event_loop_delay_seconds_count", v -> v > 0);
        assertTrue(find(s, "turnstile_event_loop_delay_latest_seconds", "loop", "0") != null);
        assertTrue(find(s, "process_uptime_seconds") != null);
    }

    @Test
    @DisplayName("GIVEN the production Vert.x (metrics enabled) WHEN the appliance serves THEN Vert.x's own HTTP and TCP "
            + "meters and the appliance's share one registry behind /metrics")
    void production_vertx_meters_share_the_registry() throws Exception {
        Vertx vertx = VertxMetricsSetup.vertx(new VertxOptions());
        closers.add(() -> vertx.close().await(30, TimeUnit.SECONDS));
        Appliance a = start(vertx, config("metrics-prod"));
        assertSame(VertxMetricsSetup.registryOf(vertx), a.metrics().registry(), "the appliance uses Vert.x's registry");
        RawClient c = session(a, "c1");
        c.request(c.checkout("cad-pro", 1));
        for (int i = 0; i < 3; i++) {
            assertEquals(200, get(a, "/v1/status").statusCode());
        }
        List<Sample> s = scrapeUntil(a, "vertx_http_server_requests_total", v -> v >= 3, "method", "GET", "code", "200");
        assertTrue(value(s, "vertx_net_server_active_connections") >= 1, "the client's TCP connection");
        assertEquals(1, value(s, "turnstile_seats_used", "entitlement_id", "ent-cad"));
        assertTrue(value(s, "jvm_threads_live_threads") > 0);
        assertTrue(find(s, "netty_eventexecutor_tasks_pending") != null);
        assertEquals(1, s.stream().filter(x -> x.name().equals("turnstile_seats_used")).count(), "one appliance, one pool");
    }

    @Test
    @DisplayName("GIVEN a licensed, syncing appliance WHEN /metrics is scraped THEN the license seconds left and the sync "
            + "counters are there")
    void license_and_sync_meters_are_scraped() throws Exception {
        SyncFixture f = new SyncFixture("metrics-sync", Instant.parse("2027-03-01T00:00:00Z"));
        closers.add(f);
        f.startCloud();
        f.cloud.put(SyncFixture.entitlement("ent-cad", "cad-pro", 2));
        f.start(c -> { });
        f.awaitFirstSync();
        List<Sample> s = scrape(f.appliance);
        assertEquals(14 * 86_400, value(s, "turnstile_license_seconds_left", "server_id", "metrics-sync"), 1.0,
                "a fresh 14-day license on a clock that stands still");
        assertEquals(1, value(s, "turnstile_sync_attempts_total", "outcome", "success", "server_id", "metrics-sync"));
        assertEquals(2, value(s, "turnstile_seats_max", "entitlement_id", "ent-cad"), "synced pools are metered too");
    }
}
