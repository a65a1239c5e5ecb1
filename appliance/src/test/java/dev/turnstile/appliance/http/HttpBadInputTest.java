package dev.turnstile.appliance.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.sync.SyncFixture;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Route;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Bad HTTP input: every mutating route (found in the router, so routes added later are covered too)
 * without a token, with a wrong one, and on an appliance with no token configured; unknown routes,
 * wrong methods, malformed JSON, huge bodies, headers and URLs. Each answer is a proper status with a
 * JSON {@code {"code", "message"}} and never a stack trace.
 */
class HttpBadInputTest {
    private static final Set<HttpMethod> MUTATING = Set.of(HttpMethod.POST, HttpMethod.PUT, HttpMethod.PATCH, HttpMethod.DELETE);
    private static SyncFixture s;
    private static final HttpFixture f = new HttpFixture(); // its HTTP client, aimed at the sync fixture's appliance

    @BeforeAll
    static void start() throws Exception {
        // the license and sync sections mount the sync, entitlement and license routes (the cloud is not needed)
        s = new SyncFixture("bad-input", Instant.parse("2027-03-01T00:00:00Z"));
        JsonObject c = s.config();
        c.getJsonObject("sync").put("enabled", false).remove("cloud_server_url");
        c.getJsonObject("http").put("max_body", 65_536);
        s.start(c);
        f.appliance = s.appliance;
    }

    @AfterAll
    static void stop() throws Exception {
        f.appliance = null;
        f.close();
        s.close();
    }

    /** The mutating routes of the router, with made-up values in their path parameters. */
    static List<String[]> mutatingRoutes(io.vertx.ext.web.Router router) {
        List<String[]> out = new ArrayList<>();
        for (Route r : router.getRoutes()) {
            if (r.getPath() == null || r.methods() == null) {
                continue;
            }
            for (HttpMethod m : r.methods()) {
                if (MUTATING.contains(m)) {
                    String path = r.getPath().replace(":leaseId", UUID.randomUUID().toString()).replaceAll(":[A-Za-z]+", "1");
                    out.add(new String[] {m.name(), path});
                }
            }
        }
        return out;
    }

    /** A proper JSON error: the status, application/json, a code and a message, and nothing of Java's insides. */
    static JsonObject assertJsonError(HttpFixture.Reply r, int status, String what) {
        assertEquals(status, r.status(), what + ": " + r.body());
        assertTrue(r.contentType().startsWith("application/json"), what + ": content type " + r.contentType());
        assertNoStackTrace(r.body(), what);
        JsonObject e = r.json();
        assertTrue(e.getString("code") != null && !e.getString("code").isEmpty(), what + ": " + r.body());
        assertTrue(e.getString("message") != null && !e.getString("message").isEmpty(), what + ": " + r.body());
        return e;
    }

    static void assertNoStackTrace(String body, String what) {
        for (String tell : List.of("Exception", "\tat ", "at io.vertx", "at dev.turnstile", "java.lang", ".java:")) {
            assertFalse(body.contains(tell), what + " leaks '" + tell + "': " + body);
        }
    }

    @Test
    @DisplayName("GIVEN every mutating route WHEN called without a token or with a wrong one THEN 401 unauthorized with "
            + "WWW-Authenticate, and nothing changes")
    void every_mutating_route_needs_the_token() throws Exception {
        List<String[]> routes = mutatingRoutes(s.appliance.http().router());
        assertTrue(routes.size() >= 6, "release, sync trigger, conflict resolve, entitlement edit and revert, license "
                + "import: " + routes.size());
        for (String[] r : routes) {
            for (String token : new String[] {null, "wrong-token", SyncFixture.API_TOKEN + "x", ""}) {
                HttpFixture.Reply reply = f.call(r[0], r[1], "{}", token);
                JsonObject e = assertJsonError(reply, 401, r[0] + " " + r[1] + " with token " + token);
                assertEquals("unauthorized", e.getString("code"));
                assertTrue(reply.headers().firstValue("www-authenticate").orElse("").startsWith("Bearer"));
            }
        }
        // the lowercase scheme is accepted (RFC 7235: case-insensitive)
        HttpFixture.Reply ok = f.call("POST", "/v1/leases/" + UUID.randomUUID() + "/release", null, null);
        assertEquals(401, ok.status());
        HttpRequest lower = HttpRequest.newBuilder(URI.create(f.base() + "/v1/leases/" + UUID.randomUUID() + "/release"))
                .header("Authorization", "bearer " + SyncFixture.API_TOKEN).POST(HttpRequest.BodyPublishers.noBody()).build();
        assertEquals(404, f.http.send(lower, HttpResponse.BodyHandlers.ofString()).statusCode(), "authorized, lease unknown");
    }

    @Test
    @DisplayName("GIVEN no api_token configured WHEN any mutating route is called, even with a token THEN 403 adminApiDisabled")
    void without_a_configured_token_mutations_are_off() throws Exception {
        try (SyncFixture ro = new SyncFixture("bad-input-ro", Instant.parse("2027-03-01T00:00:00Z"))) {
            JsonObject c = ro.config();
            c.getJsonObject("sync").put("enabled", false).remove("cloud_server_url");
            c.getJsonObject("http").remove("api_token");
            ro.start(c);
            HttpFixture g = new HttpFixture();
            g.appliance = ro.appliance;
            try {
                for (String[] r : mutatingRoutes(ro.appliance.http().router())) {
                    for (String token : new String[] {null, "anything"}) {
                        JsonObject e = assertJsonError(g.call(r[0], r[1], "{}", token), 403, r[0] + " " + r[1]);
                        assertEquals("adminApiDisabled", e.getString("code"));
                    }
                }
                assertEquals(200, g.get("/v1/status").status(), "reads still work");
            } finally {
                g.appliance = null;
                g.close();
            }
        }
    }

    @Test
    @DisplayName("GIVEN unknown routes WHEN called THEN 404 notFound as JSON")
    void unknown_routes_are_404() throws Exception {
        for (String path : List.of("/nope", "/v1/nope", "/v1/leases/a/b/c", "/static/nope.js", "/static/../openapi.yaml.bak",
                "/v1/status/extra", "/V1/STATUS", "/%2e%2e/etc/passwd")) {
            JsonObject e = assertJsonError(f.get(path), 404, "GET " + path);
            assertEquals("notFound", e.getString("code"));
        }
        assertJsonError(f.call("POST", "/v1/nope", "{}", SyncFixture.API_TOKEN), 404, "POST /v1/nope");
    }

    @Test
    @DisplayName("GIVEN known routes WHEN called with a method they do not take THEN 405 methodNotAllowed as JSON")
    void wrong_methods_are_405() throws Exception {
        String lease = "/v1/leases/" + UUID.randomUUID();
        String[][] calls = {{"DELETE", "/v1/status"}, {"PUT", "/v1/leases"}, {"POST", "/v1/pools"}, {"GET", lease + "/release"},
            {"DELETE", lease}, {"PATCH", "/health/live"}, {"POST", "/metrics"}, {"PUT", "/v1/license"}, {"GET", "/v1/sync/trigger"},
            {"POST", "/v1/entitlements"}, {"DELETE", "/"}, {"POST", "/openapi.yaml"}};
        for (String[] c : calls) {
            JsonObject e = assertJsonError(f.call(c[0], c[1], "{}", SyncFixture.API_TOKEN), 405, c[0] + " " + c[1]);
            assertEquals("methodNotAllowed", e.getString("code"));
        }
    }

    @Test
    @DisplayName("GIVEN malformed or mis-shaped JSON bodies WHEN posted with the token THEN 400 with a JSON error")
    void malformed_json_is_400() throws Exception {
        String release = "/v1/leases/" + UUID.randomUUID() + "/release";
        for (String body : List.of("{", "{\"reason\": ", "[1, 2", "nul", "{\"reason\": \"x\"} trailing", "\u0000\u0001")) {
            JsonObject e = assertJsonError(f.call("POST", release, body, SyncFixture.API_TOKEN), 400, "release body " + body);
            assertEquals("malformedJson", e.getString("code"));
            assertJsonError(f.call("PATCH", "/v1/entitlements/ent-cad", body, SyncFixture.API_TOKEN), 400, "patch body " + body);
            assertJsonError(f.call("POST", "/v1/sync/conflicts/1/resolve", body, SyncFixture.API_TOKEN), 400, "resolve body " + body);
        }
        for (String body : List.of("[1]", "\"text\"", "42", "{\"reason\": 7}", "{\"reason\": \"" + "r".repeat(201) + "\"}")) {
            JsonObject e = assertJsonError(f.call("POST", release, body, SyncFixture.API_TOKEN), 400, "release body " + body);
            assertEquals("badRequest", e.getString("code"));
        }
        assertJsonError(f.get("/v1/leases?limit=abc"), 400, "limit=abc");
        assertJsonError(f.get("/v1/leases?offset=-1"), 400, "offset=-1");
        assertJsonError(f.get("/v1/leases?q=" + "q".repeat(300)), 400, "long q");
        assertJsonError(f.get("/v1/leases?order=sideways"), 400, "order=sideways");
        assertJsonError(f.get("/v1/leases/12345"), 400, "short lease id");
    }

    @Test
    @DisplayName("GIVEN bodies over http.max_body, sized or chunked WHEN sent THEN 413 bodyTooLarge as JSON")
    void huge_bodies_are_413() throws Exception {
        byte[] huge = new byte[200_000];
        java.util.Arrays.fill(huge, (byte) 'x');
        for (String[] r : mutatingRoutes(s.appliance.http().router())) {
            JsonObject e = assertJsonError(f.call(r[0], r[1], HttpRequest.BodyPublishers.ofByteArray(huge), SyncFixture.API_TOKEN,
                    "application/json"), 413, r[0] + " " + r[1] + " sized");
            assertEquals("bodyTooLarge", e.getString("code"));
        }
        // chunked (no Content-Length): refused once the limit is passed
        HttpFixture.Reply chunked = f.call("POST", "/v1/leases/" + UUID.randomUUID() + "/release",
                HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(huge)), SyncFixture.API_TOKEN,
                "application/json");
        assertJsonError(chunked, 413, "chunked");
        assertJsonError(f.call("GET", "/v1/status", HttpRequest.BodyPublishers.ofByteArray(huge), null, "text/plain"), 413,
                "a GET with a huge body");
    }

    @Test
    @DisplayName("GIVEN a huge header or URL WHEN sent THEN refused with a 4xx and no stack trace")
    void huge_headers_and_urls_are_refused() throws Exception {
        HttpRequest big = HttpRequest.newBuilder(URI.create(f.base() + "/v1/status")).timeout(Duration.ofSeconds(20))
                .header("X-Big", "h".repeat(40_000)).GET().build();
        HttpResponse<String> r = f.http.send(big, HttpResponse.BodyHandlers.ofString());
        assertEquals(431, r.statusCode());
        assertNoStackTrace(r.body(), "huge header");
        HttpResponse<String> u = f.http.send(HttpRequest.newBuilder(URI.create(f.base() + "/v1/leases?q=" + "u".repeat(10_000)))
                .timeout(Duration.ofSeconds(20)).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(414, u.statusCode());
        assertNoStackTrace(u.body(), "huge URL");
        assertEquals(200, f.get("/v1/status").status(), "the server is fine afterwards");
    }
}
