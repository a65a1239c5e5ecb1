package dev.turnstile.appliance.http;

import dev.turnstile.appliance.Appliance;
import dev.turnstile.appliance.testing.TestAppliances;
import dev.turnstile.testsupport.Wait;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * One test's appliance with its HTTP side on a loopback port chosen at run time, its own Vert.x,
 * and a plain JDK HTTP client. Every wait is bounded.
 */
final class HttpFixture implements AutoCloseable {
    static final String TOKEN = "test-admin-token-7f3a";
    static final Duration WAIT = Duration.ofSeconds(20);

    final Vertx vertx = Vertx.vertx();
    /** HTTP/1.1 like a browser on plain http (the JDK client would otherwise try an h2c upgrade). */
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    Appliance appliance;

    /** cad-pro (3 seats), sim-suite (2 seats), viewer (10 seats), all enforced by seats; admin API with {@link #TOKEN}. */
    static JsonObject config(String serverId) {
        JsonObject c = TestAppliances.config(serverId, 3);
        c.put("entitlements", new JsonArray()
                .add(TestAppliances.entitlement("ent-cad", "cad-pro", 3, "seats"))
                .add(TestAppliances.entitlement("ent-sim", "sim-suite", 2, "seats"))
                .add(TestAppliances.entitlement("ent-view", "viewer", 10, "seats")));
        c.put("http", new JsonObject().put("enabled", true).put("host", "127.0.0.1").put("port", 0)
                .put("api_token", TOKEN).put("read_open", true) // reads without the token here; SafeDefaultsTest covers the default
                .put("history_interval", "200ms").put("history_window", "2m").put("live_interval", "200ms"));
        return c;
    }

    Appliance start(String serverId) throws Exception {
        return start(serverId, c -> {
        });
    }

    Appliance start(String serverId, Consumer<JsonObject> tweak) throws Exception {
        JsonObject c = config(serverId);
        tweak.accept(c);
        appliance = Appliance.start(vertx, c).await(30, TimeUnit.SECONDS);
        return appliance;
    }

    String base() {
        return "http://127.0.0.1:" + appliance.httpPort();
    }

    record Reply(int status, HttpHeaders headers, String body) {
        JsonObject json() {
            return new JsonObject(body);
        }

        JsonArray array() {
            return new JsonArray(body);
        }

        String contentType() {
            return headers.firstValue("content-type").orElse("");
        }
    }

    Reply get(String path) throws Exception {
        return call("GET", path, null, null);
    }

    Reply call(String method, String path, String body, String token) throws Exception {
        return call(method, path, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body),
                token, "application/json");
    }

    Reply call(String method, String path, HttpRequest.BodyPublisher body, String token, String contentType) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base() + path)).timeout(Duration.ofSeconds(20))
                .method(method, body);
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new Reply(r.statusCode(), r.headers(), r.body());
    }

    /** Bounded polling (at most {@link #WAIT}); fails saying what was awaited. */
    static void until(String what, BooleanSupplier condition) {
        Wait.until(what, WAIT, condition);
    }

    @Override
    public void close() throws Exception {
        try {
            if (appliance != null) {
                appliance.shutdown().await(30, TimeUnit.SECONDS);
            }
        } finally {
            vertx.close().await(30, TimeUnit.SECONDS);
        }
    }
}
