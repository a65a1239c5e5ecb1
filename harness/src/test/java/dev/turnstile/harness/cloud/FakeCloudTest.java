package dev.turnstile.harness.cloud;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.harness.HarnessMain;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The fake cloud on its own: directory of entitlements, deltas by token, signed answers, failures on request. */
class FakeCloudTest {
    @TempDir
    Path dir;

    private static JsonObject ent(String id, int seats) {
        return new JsonObject().put("entitlement_id", id).put("tenant_id", "t").put("product_id", "p-" + id)
                .put("policy", new JsonObject().put("type", "concurrent").put("max_seats", seats));
    }

    private static HttpResponse<String> post(HttpClient http, FakeCloud cloud, String path, JsonObject body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(cloud.url() + path)).timeout(Duration.ofSeconds(10))
                .POST(HttpRequest.BodyPublishers.ofString(body.encode())).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    @DisplayName("GIVEN a directory of entitlements WHEN an appliance syncs, the files change and it syncs with its token "
            + "THEN it gets everything first, then only the partial update and the delete, each answer signed over its changes")
    void serves_deltas_from_a_directory() throws Exception {
        Vertx vertx = Vertx.vertx();
        HttpClient http = HttpClient.newHttpClient();
        try {
            Files.writeString(dir.resolve("a.json"), ent("a", 1).encode());
            Files.writeString(dir.resolve("more.json"), new JsonArray().add(ent("b", 2)).encode());
            FakeCloud.Options o = new FakeCloud.Options();
            o.entitlementsDir = dir;
            FakeCloud cloud = FakeCloud.start(vertx, o).await(10, TimeUnit.SECONDS);

            JsonObject first = new JsonObject(post(http, cloud, "/v1/sync/entitlements",
                    new JsonObject().putNull("last_sync_token").put("local_server_id", "s1")).body());
            assertEquals(2, first.getJsonArray("changes").size());
            JsonObject payload = first.getJsonObject("license").getJsonObject("payload");
            assertEquals("s1", payload.getString("local_server_id"));
            assertEquals("DEMO", payload.getString("key_id"));
            assertEquals(first.getString("sync_token"), payload.getString("sync_token"));
            assertEquals(CloudSigner.digest(first.getJsonArray("changes")), payload.getString("changes_digest"));

            Files.writeString(dir.resolve("a.json"), ent("a", 5).encode());
            Files.delete(dir.resolve("more.json"));
            JsonObject next = new JsonObject(post(http, cloud, "/v1/sync/entitlements",
                    new JsonObject().put("last_sync_token", first.getString("sync_token")).put("local_server_id", "s1")).body());
            JsonArray changes = next.getJsonArray("changes");
            assertEquals(2, changes.size(), changes.encode());
            assertEquals(new JsonObject().put("entitlement_id", "a").put("policy", new JsonObject().put("max_seats", 5)),
                    changes.getJsonObject(0).getJsonObject("entitlement"), "only the changed field");
            assertEquals("delete", changes.getJsonObject(1).getString("action"));

            post(http, cloud, "/control/fail", new JsonObject().put("mode", "401").put("count", 1));
            assertEquals(401, post(http, cloud, "/v1/sync/entitlements", new JsonObject()).statusCode());
            assertEquals(200, post(http, cloud, "/v1/sync/entitlements", new JsonObject()).statusCode());
            cloud.close().await(10, TimeUnit.SECONDS);
        } finally {
            vertx.close().await(10, TimeUnit.SECONDS);
        }
    }

    @Test
    @DisplayName("GIVEN harness cloud --new-key FILE WHEN run THEN FILE holds a private key and FILE.pub its public key")
    void makes_a_key_pair() throws Exception {
        Path key = dir.resolve("vendor.pem");
        assertEquals(0, HarnessMain.execute("cloud", "--new-key", key.toString()));
        assertTrue(Files.readString(key).startsWith("-----BEGIN PRIVATE KEY-----"));
        assertTrue(Files.readString(dir.resolve("vendor.pem.pub")).startsWith("-----BEGIN PUBLIC KEY-----"));
        CloudSigner.fromFile(key, "vendor").sign(new JsonObject().put("x", 1));
    }
}
