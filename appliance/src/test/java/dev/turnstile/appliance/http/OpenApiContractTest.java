package dev.turnstile.appliance.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.Appliance;
import dev.turnstile.appliance.sync.SyncFixture;
import dev.turnstile.appliance.testing.RawClient;
import dev.turnstile.protocol.Message;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Route;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Real responses of a running appliance, checked against {@code openapi.yaml} with vertx-openapi:
 * every documented JSON operation answers, in its success and its error cases, with a status the
 * document declares and a body its schema accepts; every route the router serves is documented.
 */
class OpenApiContractTest {
    private static final HttpFixture f = new HttpFixture();
    private static OpenApi api;
    private static final List<RawClient> clients = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        f.start("contract-1", c -> c.getJsonObject("server").put("heartbeat_interval", "10s").put("lease_timeout", "1h"));
        api = OpenApi.load(f.vertx);
    }

    @AfterAll
    static void stop() throws Exception {
        clients.forEach(RawClient::close);
        f.close();
    }

    private static UUID checkout(String product, String client, String hw) throws Exception {
        RawClient c = RawClient.session(f.appliance.tcpPort(), client, hw);
        clients.add(c);
        Message m = c.request(c.checkout(product, 1)).message();
        assertTrue(m instanceof Message.Granted, "granted: " + m);
        return ((Message.Granted) m).leaseId();
    }

    private static HttpFixture.Reply check(String method, String path, String body, String token, int expected) throws Exception {
        HttpFixture.Reply r = f.call(method, path, body, token);
        assertEquals(expected, r.status(), method + " " + path + ": " + r.body());
        api.check(method, path, r);
        return r;
    }

    @Test
    @DisplayName("GIVEN leases held WHEN every core route is called, right and wrong THEN each answer matches openapi.yaml")
    void core_routes_match_the_document() throws Exception {
        UUID a = checkout("cad-pro", "ws-1", "hw-1");
        UUID b = checkout("cad-pro", "ws-2", "hw-2");
        checkout("viewer", "ws-3", "hw-3");
        String t = HttpFixture.TOKEN;

        check("GET", "/health/live", null, null, 200);
        check("GET", "/health/ready", null, null, 200);
        JsonObject status = check("GET", "/v1/status", null, null, 200).json();
        assertEquals(3, status.getInteger("leases"));
        assertEquals(3, check("GET", "/v1/pools", null, null, 200).array().size());
        JsonObject page = check("GET", "/v1/leases", null, null, 200).json();
        assertEquals(3, page.getInteger("total"));
        JsonObject filtered = check("GET", "/v1/leases?product=cad-pro&state=held&q=HW-&order=newest&offset=1&limit=1",
                null, null, 200).json();
        assertEquals(2, filtered.getInteger("total"));
        assertEquals(a.toString(), filtered.getJsonArray("leases").getJsonObject(0).getString("lease_id"), "newest first, second");
        check("GET", "/v1/leases?limit=0", null, null, 400);
        check("GET", "/v1/leases?state=gone", null, null, 400);
        check("GET", "/v1/leases/" + a, null, null, 200);
        check("GET", "/v1/leases/" + UUID.randomUUID(), null, null, 404);
        check("GET", "/v1/leases/not-a-uuid", null, null, 400);
        check("GET", "/v1/history", null, null, 200);

        check("POST", "/v1/leases/" + b + "/release", null, null, 401);
        check("POST", "/v1/leases/" + b + "/release", "{\"reason\": 5}", t, 400);
        check("POST", "/v1/leases/" + b + "/release", "{\"reason\": ", t, 400);
        check("POST", "/v1/leases/" + b + "/release", "{\"reason\": \"" + "x".repeat(2_000_000) + "\"}", t, 413);
        JsonObject released = check("POST", "/v1/leases/" + b + "/release", "{\"reason\": \"hung\"}", t, 200).json();
        assertEquals(b.toString(), released.getString("lease_id"));
        check("POST", "/v1/leases/" + b + "/release", null, t, 404);
        check("POST", "/v1/leases/nope/release", null, t, 400);

        HttpFixture.Reply metrics = check("GET", "/metrics", null, null, 200);
        assertTrue(metrics.contentType().startsWith("text/plain; version=0.0.4"), metrics.contentType());
    }

    @Test
    @DisplayName("GIVEN reads that need the token and an appliance without a token WHEN called THEN 401 and 403 match the document")
    void auth_failures_match_the_document() throws Exception {
        HttpFixture locked = new HttpFixture();
        HttpFixture readOnly = new HttpFixture();
        try {
            locked.start("contract-locked", c -> c.getJsonObject("http").put("read_open", false));
            for (String path : List.of("/v1/status", "/v1/pools", "/v1/leases", "/v1/history", "/metrics", "/v1/events",
                    "/v1/leases/" + UUID.randomUUID())) {
                HttpFixture.Reply r = locked.get(path);
                assertEquals(401, r.status(), path);
                assertTrue(r.headers().firstValue("www-authenticate").orElse("").startsWith("Bearer"), path);
                api.check("GET", path.equals("/v1/events") ? "/v1/status" : path, r);
            }
            assertEquals(200, locked.call("GET", "/v1/status", null, HttpFixture.TOKEN).status());
            assertEquals(200, locked.get("/health/ready").status(), "health stays open");

            readOnly.start("contract-ro", c -> c.getJsonObject("http").remove("api_token"));
            HttpFixture.Reply r = readOnly.call("POST", "/v1/leases/" + UUID.randomUUID() + "/release", null, "anything");
            assertEquals(403, r.status());
            assertEquals("adminApiDisabled", r.json().getString("code"));
            api.check("POST", "/v1/leases/" + UUID.randomUUID() + "/release", r);
            assertEquals(false, readOnly.get("/v1/status").json().getJsonObject("admin").getBoolean("mutations_enabled"));
        } finally {
            locked.close();
            readOnly.close();
        }
    }

    @Test
    @DisplayName("GIVEN an appliance syncing from a cloud WHEN the sync, entitlement and license routes are called THEN "
            + "each answer matches the document")
    void sync_and_license_routes_match_the_document() throws Exception {
        try (SyncFixture s = new SyncFixture("contract-sync", Instant.parse("2027-03-01T00:00:00Z"))) {
            s.startCloud();
            s.cloud.put(SyncFixture.entitlement("ent-cad", "cad-pro", 2));
            s.start(c -> c.getJsonObject("sync").put("conflict_resolution", "manual"));
            s.awaitFirstSync();
            String t = SyncFixture.API_TOKEN;
            HttpFixture g = new HttpFixture(); // only its HTTP client: the appliance is the sync fixture's
            g.appliance = s.appliance;
            try {
                JsonObject status = checkWith(g, "GET", "/v1/status", null, null, 200).json();
                assertEquals("valid", status.getJsonObject("license").getString("state"));
                checkWith(g, "GET", "/v1/sync/status", null, null, 200);
                checkWith(g, "POST", "/v1/sync/trigger", null, null, 401);
                checkWith(g, "POST", "/v1/sync/trigger", null, t, 202);
                s.await("the triggered sync", s::syncStatus, x -> !"syncing".equals(x.getString("status")));
                checkWith(g, "POST", "/v1/sync/trigger?wait=true", null, t, 200);
                checkWith(g, "GET", "/v1/sync/audit?limit=5", null, null, 200);
                checkWith(g, "GET", "/v1/sync/audit?limit=0", null, null, 400);
                checkWith(g, "GET", "/v1/entitlements", null, null, 200);
                checkWith(g, "PATCH", "/v1/entitlements/ent-cad", "{\"policy\": {\"max_seats\": 5}}", t, 200);
                checkWith(g, "PATCH", "/v1/entitlements/ent-cad", "{\"policy\": ", t, 400);
                checkWith(g, "PATCH", "/v1/entitlements/ent-nope", "{\"policy\": {\"max_seats\": 5}}", t, 404);
                // a cloud change to the locally edited entitlement is a conflict (manual policy: it waits)
                s.cloud.patch("ent-cad", new JsonObject().put("policy", new JsonObject().put("max_seats", 4)));
                s.syncUntilSuccess();
                JsonObject conflicts = checkWith(g, "GET", "/v1/sync/conflicts", null, null, 200).json();
                checkWith(g, "GET", "/v1/sync/conflicts?status=all", null, null, 200);
                assertEquals(1, conflicts.getJsonArray("conflicts").size(), conflicts.encode());
                long id = conflicts.getJsonArray("conflicts").getJsonObject(0).getLong("conflict_id");
                checkWith(g, "POST", "/v1/sync/conflicts/" + id + "/resolve", "{\"resolution\": \"sideways\"}", t, 400);
                checkWith(g, "POST", "/v1/sync/conflicts/" + id + "/resolve", "{\"resolution\": \"local\"}", t, 200);
                checkWith(g, "POST", "/v1/sync/conflicts/" + id + "/resolve", "{\"resolution\": \"local\"}", t, 409);
                checkWith(g, "POST", "/v1/sync/conflicts/999/resolve", "{\"resolution\": \"local\"}", t, 404);
                checkWith(g, "DELETE", "/v1/entitlements/ent-cad/local-edit", null, t, 200);
                checkWith(g, "DELETE", "/v1/entitlements/ent-cad/local-edit", null, t, 404);
                checkWith(g, "GET", "/v1/license", null, null, 200);
                String doc = s.cloud.licenseFile("contract-sync", 30L * 86_400_000L).encode();
                checkWith(g, "POST", "/v1/license", doc, null, 401);
                checkWith(g, "POST", "/v1/license", "{\"not\": \"a license\"}", t, 422);
                checkWith(g, "POST", "/v1/license", doc, t, 200);
            } finally {
                g.appliance = null;
                g.close();
            }
        }
    }

    private static HttpFixture.Reply checkWith(HttpFixture g, String method, String path, String body, String token,
                                               int expected) throws Exception {
        HttpFixture.Reply r = g.call(method, path, body, token);
        assertEquals(expected, r.status(), method + " " + path + ": " + r.body());
        api.check(method, path, r);
        return r;
    }

    @Test
    @DisplayName("GIVEN answers that break the document WHEN checked THEN the check fails (it is not vacuous)")
    void the_check_catches_what_breaks_the_document() throws Exception {
        HttpFixture.Reply good = f.get("/v1/status");
        java.net.http.HttpHeaders json = good.headers();
        List<HttpFixture.Reply> bad = List.of(
                new HttpFixture.Reply(418, json, good.body()),                                   // undeclared status
                new HttpFixture.Reply(200, json, good.json().put("leases", "many").encode()),    // wrong type
                new HttpFixture.Reply(200, json, new JsonObject().put("server_id", "x").encode()), // required fields missing
                new HttpFixture.Reply(401, json, "{\"code\": \"unauthorized\"}"));               // error without message
        for (HttpFixture.Reply r : bad) {
            AssertionError e = org.junit.jupiter.api.Assertions.assertThrows(AssertionError.class,
                    () -> api.check("GET", "/v1/status", r));
            assertTrue(e.getMessage().contains("does not match openapi.yaml"), e.getMessage());
        }
        HttpFixture.Reply lease = new HttpFixture.Reply(200, json, new JsonObject().put("total", 0).put("offset", 0)
                .put("limit", 50).put("order", "oldest").put("as_of", "2026-11-23T00:00:00Z").put("leases", new io.vertx.core.json.JsonArray())
                .put("secret", "undocumented field").encode());
        org.junit.jupiter.api.Assertions.assertThrows(AssertionError.class, () -> api.check("GET", "/v1/leases", lease));
        org.junit.jupiter.api.Assertions.assertThrows(AssertionError.class, () -> api.check("GET", "/v1/nowhere", good));
    }

    @Test
    @DisplayName("GIVEN the router WHEN its routes are listed THEN every one is documented in openapi.yaml")
    void every_route_is_documented() {
        Set<String> missing = new TreeSet<>();
        for (Route r : f.appliance.http().router().getRoutes()) {
            String path = r.getPath();
            if (path == null || r.methods() == null || r.methods().isEmpty() || path.startsWith("/static/")) {
                continue; // the body handler and headers on every route; the page's script and style
            }
            for (HttpMethod m : r.methods()) {
                String concrete = path.replaceAll(":[A-Za-z]+", "x");
                if (api.contract.findOperation(concrete, m) == null) {
                    missing.add(m + " " + path);
                }
            }
        }
        assertTrue(missing.isEmpty(), "routes missing from openapi.yaml: " + missing);
        assertEquals(Set.of("getMetrics", "getOpenApi", "statusPage", "streamEvents"), api.notValidatable,
                "the operations whose success answer is not JSON (checked by their own tests)");
    }

    @Test
    @DisplayName("GIVEN the served document WHEN fetched THEN it is the packaged openapi.yaml, as YAML")
    void the_document_is_served() throws Exception {
        HttpFixture.Reply r = f.get("/openapi.yaml");
        assertEquals(200, r.status());
        assertTrue(r.contentType().startsWith("application/yaml"), r.contentType());
        assertTrue(r.body().startsWith("openapi: 3.1.0"), r.body().substring(0, 40));
        assertEquals(OpenApi.document(), new JsonObject(io.vertx.core.json.Json.encode(new org.yaml.snakeyaml.Yaml().load(r.body()))));
    }
}
