package dev.turnstile.appliance.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.Appliance;
import dev.turnstile.appliance.seat.CheckoutCommand;
import dev.turnstile.appliance.seat.CheckoutOutcome;
import dev.turnstile.appliance.seat.ClientRef;
import dev.turnstile.appliance.seat.PoolView;
import dev.turnstile.appliance.sync.SyncFixture;
import dev.turnstile.appliance.testing.RawClient;
import dev.turnstile.appliance.testing.TestAppliances;
import dev.turnstile.protocol.Envelope;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Message;
import dev.turnstile.protocol.NoticeKind;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The admin API's reads and its force-release, against a running appliance with real clients. */
class StatusApiTest {
    private final HttpFixture f = new HttpFixture();
    private final List<RawClient> clients = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        clients.forEach(RawClient::close);
        f.close();
    }

    private RawClient session(String clientId) throws Exception {
        RawClient c = RawClient.session(f.appliance.tcpPort(), clientId, "hw-" + clientId);
        clients.add(c);
        return c;
    }

    private static UUID granted(RawClient c, String product) throws Exception {
        Message m = c.request(c.checkout(product, 1)).message();
        assertTrue(m instanceof Message.Granted, "granted: " + m);
        return ((Message.Granted) m).leaseId();
    }

    @Test
    @DisplayName("GIVEN clients holding seats WHEN GET /v1/status THEN pools, sessions, leases, store and role are the ledger's")
    void status_is_the_ledgers() throws Exception {
        Appliance a = f.start("status-1", c -> c.getJsonObject("server").put("lease_timeout", "1h").put("heartbeat_interval", "10s"));
        RawClient one = session("one");
        granted(one, "cad-pro");
        granted(one, "viewer");
        granted(session("two"), "cad-pro");

        JsonObject s = f.get("/v1/status").json();
        assertEquals("status-1", s.getString("server_id"));
        assertEquals(true, s.getBoolean("ready"));
        assertEquals(2, s.getInteger("sessions"));
        assertEquals(3, s.getInteger("leases"));
        assertEquals(0, s.getInteger("waiting"));
        JsonArray pools = s.getJsonArray("pools");
        List<PoolView> ledger = a.ledger().pools();
        assertEquals(ledger.size(), pools.size());
        for (int i = 0; i < ledger.size(); i++) {
            assertEquals(HttpApi.poolJson(ledger.get(i)), pools.getJsonObject(i));
        }
        assertEquals(2, pools.getJsonObject(0).getInteger("used"));
        assertEquals("memory-only", s.getJsonObject("store").getString("mode"));
        assertTrue(s.containsKey("role"));
        assertNull(s.getValue("role"), "no triad: no role");
        assertEquals(new JsonObject().put("read_open", true).put("mutations_enabled", true), s.getJsonObject("admin"));
        assertEquals(f.get("/v1/pools").array(), pools);
    }

    @Test
    @DisplayName("GIVEN a client holding a seat WHEN an admin force-releases it THEN the seat is free and the client gets "
            + "NOTICE lease revoked with forcedRelease")
    void force_release_tells_the_client() throws Exception {
        Appliance a = f.start("status-2", c -> c.getJsonObject("server").put("lease_timeout", "1h").put("heartbeat_interval", "10s"));
        RawClient holder = session("holder");
        UUID lease = granted(holder, "cad-pro");
        HttpFixture.Reply r = f.call("POST", "/v1/leases/" + lease + "/release", "{\"reason\": \"hung session\"}", HttpFixture.TOKEN);
        assertEquals(200, r.status(), r.body());
        assertEquals(new JsonObject().put("lease_id", lease.toString()).put("released", true).put("product_id", "cad-pro")
                .put("client_id", "holder").put("hw_id", "hw-holder"), r.json());
        Envelope e = holder.read();
        assertEquals(0, e.correlationId(), "a push");
        Message.Notice n = (Message.Notice) e.message();
        assertEquals(NoticeKind.LEASE_REVOKED.code(), n.kind());
        assertEquals(lease, n.leaseId());
        assertEquals(ErrorCode.FORCED_RELEASE.code(), n.code());
        assertTrue(a.ledger().lease(lease).isEmpty());
        assertEquals(0, f.get("/v1/leases").json().getInteger("total"), "the table no longer lists it, at once");
        assertEquals(404, f.call("POST", "/v1/leases/" + lease + "/release", null, HttpFixture.TOKEN).status());
        assertEquals(200, f.call("GET", "/health/live", null, null).status());
    }

    /** Grants {@code n} leases straight through the ledger (no sockets): as the table sees 100,000 clients. */
    static void seed(Appliance a, String product, int n) {
        long now = a.nowMs();
        for (int i = 0; i < n; i++) {
            ClientRef c = new ClientRef(1_000_000L + i, "client-" + i, "hw-" + i,
                    "10." + (i >> 16 & 255) + "." + (i >> 8 & 255) + "." + (i & 255) + ":40000");
            CheckoutOutcome o = a.ledger().checkout(new CheckoutCommand(c, 1, product, "", 1, 1, false, 0, null,
                    UUID.randomUUID(), now));
            assertTrue(o instanceof CheckoutOutcome.Granted, "seeded: " + o);
        }
    }

    @Tag("slow") // 100,000 leases
    @Test
    @DisplayName("GIVEN 100,000 leases WHEN pages are fetched, filtered and ordered THEN each answer is one small page "
            + "(timings printed, not asserted)")
    void a_hundred_thousand_leases_are_paged_on_the_server() throws Exception {
        Appliance a = f.start("status-big", c -> {
            c.getJsonObject("server").put("lease_timeout", "1h").put("heartbeat_interval", "10s");
            c.getJsonArray("entitlements").add(TestAppliances.entitlement("ent-big", "big", 150_000, "seats"));
        });
        seed(a, "big", 100_000);

        JsonObject first = f.get("/v1/leases").json();
        assertEquals(100_000, first.getInteger("total"));
        assertEquals(50, first.getJsonArray("leases").size());
        assertEquals("client-0", first.getJsonArray("leases").getJsonObject(0).getString("client_id"));
        JsonObject last = f.get("/v1/leases?offset=99990&limit=50").json();
        assertEquals(10, last.getJsonArray("leases").size());
        assertEquals("client-99999", last.getJsonArray("leases").getJsonObject(9).getString("client_id"));
        JsonObject newest = f.get("/v1/leases?order=newest&limit=1").json();
        assertEquals("client-99999", newest.getJsonArray("leases").getJsonObject(0).getString("client_id"));
        JsonObject one = f.get("/v1/leases?q=CLIENT-99999").json();
        assertEquals(1, one.getInteger("total"));
        JsonObject byHost = f.get("/v1/leases?q=10.0.134.&limit=1000").json();
        assertEquals(256, byHost.getInteger("total"), "every lease from 10.0.134.x");
        assertEquals(100_000, f.get("/v1/leases?product=big&state=held&limit=1").json().getInteger("total"));
        assertEquals(0, f.get("/v1/leases?product=cad-pro").json().getInteger("total"));

        long[] plain = time(20, "/v1/leases?offset=50000&limit=50");
        long[] filtered = time(20, "/v1/leases?q=hw-4242");
        long[] status = time(20, "/v1/status");
        HttpFixture.Reply page = f.get("/v1/leases?limit=50");
        System.out.printf("FIGURE leases_page_100k page_ms_p50=%d page_ms_max=%d filtered_ms_p50=%d filtered_ms_max=%d "
                        + "status_ms_p50=%d status_ms_max=%d page_bytes=%d nproc=%d%n", plain[0], plain[1], filtered[0], filtered[1],
                status[0], status[1], page.body().length(), Runtime.getRuntime().availableProcessors());
        assertTrue(page.body().length() < 40_000, "one page, not the table: " + page.body().length() + " bytes");
    }

    /** p50 and max in ms of {@code n} sequential GETs of {@code path}. */
    private long[] time(int n, String path) throws Exception {
        long[] ms = new long[n];
        for (int i = 0; i < n; i++) {
            long t0 = System.nanoTime();
            assertEquals(200, f.get(path).status());
            ms[i] = (System.nanoTime() - t0) / 1_000_000;
        }
        Arrays.sort(ms);
        return new long[] {ms[n / 2], ms[n - 1]};
    }

    @Test
    @DisplayName("GIVEN a page listening to /v1/events WHEN a client checks out THEN a status event shows the new seat and "
            + "history samples arrive, without polling")
    void the_event_stream_pushes_status_and_samples() throws Exception {
        f.start("status-sse");
        HttpResponse<Stream<String>> r = f.http.sendAsync(HttpRequest.newBuilder(URI.create(f.base() + "/v1/events"))
                .timeout(Duration.ofSeconds(20)).header("Accept", "text/event-stream").build(), HttpResponse.BodyHandlers.ofLines())
                .get(20, TimeUnit.SECONDS);
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
        Iterator<String> lines = r.body().iterator();
        CompletableFuture<Void> seen = CompletableFuture.runAsync(() -> {
            boolean sample = false;
            boolean used = false;
            String event = null;
            while (!(sample && used) && lines.hasNext()) {
                String line = lines.next();
                if (line.startsWith("event: ")) {
                    event = line.substring(7);
                } else if (line.startsWith("data: ")) {
                    JsonObject data = new JsonObject(line.substring(6));
                    if ("sample".equals(event)) {
                        sample = true;
                    } else if ("status".equals(event)) {
                        used |= data.getJsonArray("pools").getJsonObject(0).getInteger("used") == 1;
                    }
                }
            }
        });
        try {
            granted(session("sse"), "cad-pro");
            seen.get(20, TimeUnit.SECONDS);
        } finally {
            r.body().close();
        }
    }

    @Test
    @DisplayName("GIVEN the history WHEN fetched THEN it covers the configured window with samples of seats in use per product")
    void history_has_samples_per_product() throws Exception {
        f.start("status-history");
        granted(session("h"), "viewer");
        HttpFixture.until("a sample with the viewer seat", () -> {
            try {
                JsonArray used = f.get("/v1/history").json().getJsonObject("products").getJsonObject("viewer").getJsonArray("used");
                return used.size() > 0 && Integer.valueOf(1).equals(used.getValue(used.size() - 1));
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
        JsonObject h = f.get("/v1/history").json();
        assertEquals(200, h.getLong("interval_ms"));
        assertEquals(120_000, h.getLong("window_ms"));
        assertEquals(h.getJsonArray("times").size(), h.getJsonObject("products").getJsonObject("cad-pro").getJsonArray("used").size());
        assertEquals(3, h.getJsonObject("products").getJsonObject("cad-pro").getInteger("max"));
    }

    @Test
    @DisplayName("GIVEN a license section but no license loaded WHEN /health/ready THEN 503 naming the license; /health/live 200")
    void ready_needs_a_loaded_license() throws Exception {
        try (SyncFixture s = new SyncFixture("status-nolicense", Instant.parse("2027-03-01T00:00:00Z"))) {
            JsonObject c = s.config();
            c.getJsonObject("sync").put("enabled", false).remove("cloud_server_url");
            s.start(c);
            f.appliance = s.appliance;
            try {
                HttpFixture.Reply ready = f.get("/health/ready");
                assertEquals(503, ready.status(), ready.body());
                assertEquals(new JsonObject().put("status", "DOWN").put("checks", new JsonObject().put("tcp_listening", true)
                        .put("config_loaded", true).put("license", "none").put("draining", false)), ready.json());
                assertEquals(200, f.get("/health/live").status());
                s.startCloud();
                s.cloud.put(SyncFixture.entitlement("ent-cad", "cad-pro", 2));
                String doc = s.cloud.licenseFile("status-nolicense", 30L * 86_400_000L).encode();
                assertEquals(200, f.call("POST", "/v1/license", doc, SyncFixture.API_TOKEN).status());
                HttpFixture.Reply after = f.get("/health/ready");
                assertEquals(200, after.status(), after.body());
                assertEquals("valid", after.json().getJsonObject("checks").getString("license"));
            } finally {
                f.appliance = null;
            }
        }
    }

    @Test
    @DisplayName("GIVEN a plain appliance WHEN /health/ready THEN 200 with the license not configured")
    void ready_without_a_license_section() throws Exception {
        f.start("status-ready");
        HttpFixture.Reply r = f.get("/health/ready");
        assertEquals(200, r.status());
        assertEquals("not_configured", r.json().getJsonObject("checks").getString("license"));
        assertEquals(new JsonObject().put("status", "UP"), f.get("/health/live").json());
    }
}
