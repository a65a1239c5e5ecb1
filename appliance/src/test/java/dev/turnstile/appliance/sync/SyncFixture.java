package dev.turnstile.appliance.sync;

import static org.junit.jupiter.api.Assertions.fail;

import dev.turnstile.appliance.Appliance;
import dev.turnstile.appliance.testing.RawClient;
import dev.turnstile.appliance.testing.TestAppliances;
import dev.turnstile.harness.cloud.CloudSigner;
import dev.turnstile.harness.cloud.FakeCloud;
import dev.turnstile.protocol.Envelope;
import dev.turnstile.protocol.Message;
import dev.turnstile.testsupport.Wait;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * One test's world: a fake cloud (real HTTP on a loopback port chosen at run time) signing with a
 * fresh vendor key, an appliance configured to sync from it, a clock the test moves, a private
 * state directory, and helpers for the admin API and protocol clients. Every wait is bounded.
 */
public final class SyncFixture implements AutoCloseable {
    public static final String API_TOKEN = "test-admin-token";
    public static final String SYNC_TOKEN = "sync-secret";
    /** Long enough that nothing here waits this long unless something is wrong. */
    public static final Duration WAIT = Duration.ofSeconds(30);

    public final Vertx vertx = Vertx.vertx();
    public final MutableClock clock;
    public final Path dir;
    public final KeyPair vendor = CloudSigner.newKeyPair();
    public final CloudSigner signer = new CloudSigner(vendor.getPrivate(), "vendor-test");
    public final String serverId;
    public FakeCloud cloud;
    public Appliance appliance;
    private final List<RawClient> clients = new ArrayList<>();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    public SyncFixture(String serverId, Instant start) throws IOException {
        this.serverId = serverId;
        this.clock = new MutableClock(start);
        this.dir = Files.createTempDirectory("turnstile-sync-test");
    }

    public FakeCloud startCloud() throws Exception {
        FakeCloud.Options o = new FakeCloud.Options();
        o.signer = signer;
        o.clock = clock;
        o.expectedToken = SYNC_TOKEN;
        o.slowMs = 200;
        cloud = FakeCloud.start(vertx, o).await(30, TimeUnit.SECONDS);
        return cloud;
    }

    public static JsonObject entitlement(String id, String product, int seats) {
        return new JsonObject().put("entitlement_id", id).put("tenant_id", "acme").put("product_id", product)
                .put("policy", new JsonObject().put("type", "concurrent").put("max_seats", seats))
                .put("starts_at", "2026-01-01T00:00:00Z").put("ends_at", "2036-01-01T00:00:00Z");
    }

    /** An appliance configuration syncing from {@link #cloud}: no configured entitlements, admin API on, schedule off. */
    public JsonObject config() {
        JsonObject c = TestAppliances.config(serverId, 1);
        c.put("entitlements", new JsonArray());
        c.getJsonObject("server").put("lease_timeout", "1d").put("heartbeat_interval", "1h");
        c.put("http", new JsonObject().put("enabled", true).put("host", "127.0.0.1").put("port", 0).put("api_token", API_TOKEN)
                .put("read_open", true)); // reads without the token here; SafeDefaultsTest covers the default
        c.put("license", new JsonObject()
                .put("public_key", CloudSigner.publicPem(vendor.getPublic()))
                .put("file", dir.resolve("license.json").toString())
                .put("check_interval", "50ms"));
        c.put("sync", new JsonObject()
                .put("enabled", true)
                .put("cloud_server_url", cloud == null ? "http://127.0.0.1:9" : cloud.url())
                .put("local_server_id", serverId)
                .put("schedule", new JsonObject().put("enabled", false))
                .put("conflict_resolution", "cloud_wins")
                .put("authentication", new JsonObject().put("method", "bearer_token").put("token", SYNC_TOKEN))
                .put("retry", new JsonObject().put("max_attempts", 3).put("initial_delay_seconds", 0.02)
                        .put("max_delay_seconds", 0.2))
                .put("circuit_breaker", new JsonObject().put("max_failures", 20).put("reset_timeout", "500ms")
                        .put("call_timeout", "2s"))
                .put("urgent_min_interval", "1h")
                .put("state_dir", dir.toString()));
        return c;
    }

    public Appliance start(JsonObject config) throws Exception {
        appliance = Appliance.start(vertx, config, clock).await(30, TimeUnit.SECONDS);
        return appliance;
    }

    /** Starts with {@code tweak} applied to {@link #config()}. */
    public Appliance start(Consumer<JsonObject> tweak) throws Exception {
        JsonObject c = config();
        tweak.accept(c);
        return start(c);
    }

    public void restart(JsonObject config) throws Exception {
        stopAppliance();
        start(config);
    }

    public void stopAppliance() throws Exception {
        for (RawClient c : clients) {
            c.close();
        }
        clients.clear();
        if (appliance != null) {
            appliance.shutdown().await(30, TimeUnit.SECONDS);
            appliance = null;
        }
    }

    // ------------------------------------------------------------------ HTTP

    public record Reply(int status, JsonObject json) {
    }

    public Reply call(String method, String path, String body, String token) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + appliance.httpPort() + path))
                .timeout(WAIT)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json");
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        JsonObject json;
        try {
            json = r.body().isBlank() ? new JsonObject() : new JsonObject(r.body());
        } catch (RuntimeException e) {
            json = new JsonObject().put("raw", r.body());
        }
        return new Reply(r.statusCode(), json);
    }

    public JsonObject get(String path) throws Exception {
        Reply r = call("GET", path, null, API_TOKEN);
        if (r.status() != 200) {
            fail("GET " + path + " -> " + r.status() + " " + r.json());
        }
        return r.json();
    }

    public JsonObject syncStatus() throws Exception {
        return get("/v1/sync/status");
    }

    public JsonObject licenseStatus() throws Exception {
        return get("/v1/license");
    }

    /** Runs a sync now and waits for its audit row. */
    public JsonObject syncNow() throws Exception {
        Reply r = call("POST", "/v1/sync/trigger?wait=true", null, API_TOKEN);
        if (r.status() != 200) {
            fail("sync trigger -> " + r.status() + " " + r.json());
        }
        return r.json();
    }

    /** Triggers syncs until one succeeds (a background sync may be running when the test asks). */
    public JsonObject syncUntilSuccess() throws Exception {
        JsonObject[] last = new JsonObject[1];
        try {
            return Wait.await("a successful sync", WAIT).pollInterval(java.time.Duration.ofMillis(50))
                    .until(() -> last[0] = syncNow(), x -> "success".equals(x.getString("outcome")));
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            fail("no successful sync within " + WAIT + "; last: " + last[0]);
        }
        return null;
    }

    /** Polls {@code what} until {@code ok}; fails after {@link #WAIT}. */
    public JsonObject await(String what, ThrowingSupplier<JsonObject> get, Predicate<JsonObject> ok) throws Exception {
        JsonObject[] last = new JsonObject[1];
        try {
            return Wait.await(what, WAIT).until(() -> last[0] = get.get(), ok);
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            fail("waited " + WAIT + " for " + what + "; last: " + last[0]);
        }
        return null;
    }

    public interface ThrowingSupplier<T> {
        T get() throws Exception;
    }

    /** Waits until the first sync (triggered at start) has succeeded. */
    public JsonObject awaitFirstSync() throws Exception {
        return await("the first sync", this::syncStatus, s -> s.getLong("sync_count", 0L) >= 1);
    }

    public JsonObject pool(String entitlementId) throws Exception {
        for (Object o : appliance.statusJson().getJsonArray("pools")) {
            JsonObject p = (JsonObject) o;
            if (p.getString("entitlement_id").equals(entitlementId)) {
                return p;
            }
        }
        return null;
    }

    // ------------------------------------------------------------------ protocol clients

    public RawClient client(String name) throws Exception {
        RawClient c = RawClient.session(appliance.tcpPort(), name, "hw-" + name);
        clients.add(c);
        return c;
    }

    /** The WELCOME a new client gets now. */
    public Message.Welcome welcome(String name) throws Exception {
        try (RawClient c = RawClient.connect(appliance.tcpPort())) {
            c.preamble();
            Envelope e = c.request(new Message.Hello(name, "hw-" + name, "1.0.0", ""));
            return (Message.Welcome) e.message();
        }
    }

    /** Sends {@code m} and reads until its answer, keeping every NOTICE seen on the way in {@code notices}. */
    public static Message request(RawClient c, Message m, List<Message.Notice> notices) throws Exception {
        int id = c.nextId();
        c.send(id, m);
        for (int i = 0; i < 10_000; i++) {
            Envelope e = c.read();
            if (e.message() instanceof Message.Notice n) {
                notices.add(n);
            } else if (e.correlationId() == id) {
                return e.message();
            }
        }
        throw new AssertionError("no answer to " + m);
    }

    @Override
    public void close() throws Exception {
        try {
            stopAppliance();
        } finally {
            if (cloud != null) {
                cloud.close().await(10, TimeUnit.SECONDS);
            }
            vertx.close().await(30, TimeUnit.SECONDS);
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
