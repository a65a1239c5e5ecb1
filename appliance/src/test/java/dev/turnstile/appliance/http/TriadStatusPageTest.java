package dev.turnstile.appliance.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.Appliance;
import dev.turnstile.appliance.testing.TestAppliances;
import dev.turnstile.appliance.triad.TriadNode;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The triad on the status page and in the status API: three appliances in one JVM (own Vert.x each, ports chosen
 * at run time), headless Chromium on the leader's page. The page must show the member's role, term, commit index
 * and quorum, one row per member with its lag, and follow a member leaving without a reload; the status JSON of a
 * triad member must match openapi.yaml.
 */
@Tag("slow") // a triad behind the status page
class TriadStatusPageTest {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final String[] IDS = {"a", "b", "c"};

    @TempDir
    Path dir;
    final Vertx[] vertx = new Vertx[3];
    final Appliance[] appliances = new Appliance[3];
    private Chromium browser;
    private Vertx apiVertx;

    @AfterEach
    void close() throws Exception {
        if (browser != null) {
            browser.close();
        }
        for (int i = 0; i < 3; i++) {
            stop(i);
        }
        if (apiVertx != null) {
            apiVertx.close().await(10, TimeUnit.SECONDS);
        }
    }

    void startTriad() throws Exception {
        dev.turnstile.appliance.testing.TriadMembers m =
                dev.turnstile.appliance.testing.TriadMembers.onLoopback(dir.resolve("discovery"));
        for (int i = 0; i < 3; i++) {
            JsonObject c = TestAppliances.config("page-" + IDS[i], 3);
            c.getJsonObject("server").put("port", 0).put("event_loops", 1);
            c.put("http", new JsonObject().put("enabled", true).put("host", "127.0.0.1").put("port", 0)
                    .put("api_token", HttpFixture.TOKEN).put("live_interval", "200ms").put("read_open", true));
            c.put("triad", m.section(i, dir.resolve(IDS[i])));
            vertx[i] = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(2));
            appliances[i] = Appliance.start(vertx[i], c).await(60, TimeUnit.SECONDS);
        }
        HttpFixture.until("a leader with quorum", () -> leader() >= 0);
    }

    void stop(int i) throws Exception {
        dev.turnstile.appliance.testing.InJvmTriad.kill(appliances, vertx, i);
    }

    int leader() {
        return dev.turnstile.appliance.testing.InJvmTriad.leader(appliances);
    }

    private String text(String testId) throws Exception {
        return browser.text("[data-testid=\"" + testId + "\"]");
    }

    private void waitForText(String testId, String expected) throws Exception {
        browser.waitFor(testId + " = " + expected, "(() => { const e = document.querySelector('[data-testid=\"" + testId
                + "\"]'); return e ? e.textContent : null; })()", expected::equals, WAIT);
    }

    @Test
    @DisplayName("GIVEN a triad WHEN the leader's status page is open THEN it shows role, term, commit index, quorum and "
            + "each member's lag, and a member that leaves shows as unreachable without a reload")
    void the_status_page_shows_the_triad_and_follows_a_member_leaving() throws Exception {
        assertNotNull(Chromium.executable(), "headless Chromium is needed: run scripts/ensure-chromium.sh");
        startTriad();
        int lead = leader();
        Appliance a = appliances[lead];
        browser = Chromium.launch(Chromium.executable(), 1366, 900);
        browser.navigate("http://127.0.0.1:" + a.httpPort() + "/");
        browser.waitFor("the triad panel is shown", "document.getElementById('triad-panel').hidden", Boolean.FALSE::equals, WAIT);

        waitForText("role", "leader");
        for (String id : IDS) {
            waitForText("triad-in-view-" + id, "yes");
            waitForText("triad-lag-" + id, "0");
        }
        waitForText("triad-role-" + IDS[lead], "leader");
        String summary = text("triad-summary");
        TriadNode node = a.triadNode();
        assertTrue(summary.contains("member " + IDS[lead] + " is leader"), summary);
        assertTrue(summary.contains("term " + node.term()), summary + " vs term " + node.term());
        assertTrue(summary.contains("quorum holds"), summary);
        assertTrue(summary.contains("commit index "), summary);
        browser.eval("window.__noReload = 7");
        Files.write(StatusPageBrowserTest.outputFolder().resolve("status-page-triad.png"), browser.screenshot());

        // WHEN a follower leaves THEN the page marks it unreachable, live
        int follower = (lead + 1) % 3;
        stop(follower);
        waitForText("triad-in-view-" + IDS[follower], "no");
        waitForText("triad-role-" + IDS[follower], "unreachable");
        assertTrue(text("triad-summary").contains("quorum holds"), "two of three still hold quorum");
        assertEquals(7, ((Number) browser.eval("window.__noReload")).intValue(), "the page was not reloaded");
        Files.write(StatusPageBrowserTest.outputFolder().resolve("status-page-triad-member-down.png"), browser.screenshot());
        assertTrue(browser.problems.isEmpty(), "the page logged no errors: " + browser.problems);
    }

    @Test
    @DisplayName("GIVEN a triad WHEN a leader and a follower are asked for their status THEN both answers match openapi.yaml "
            + "and name the member's role")
    void a_triad_members_status_matches_the_openapi_document() throws Exception {
        startTriad();
        apiVertx = Vertx.vertx();
        OpenApi api = OpenApi.load(apiVertx);
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        int lead = leader();
        for (int i = 0; i < 3; i++) {
            URI uri = URI.create("http://127.0.0.1:" + appliances[i].httpPort() + "/v1/status");
            String role = i == lead ? "leader" : "follower";
            @SuppressWarnings("unchecked")
            HttpResponse<String>[] last = new HttpResponse[1];
            HttpFixture.until("member " + IDS[i] + " reports itself " + role, () -> {
                try {
                    last[0] = http.send(HttpRequest.newBuilder(uri).header("Authorization", "Bearer " + HttpFixture.TOKEN)
                            .build(), HttpResponse.BodyHandlers.ofString());
                } catch (java.io.IOException | InterruptedException e) {
                    return false;
                }
                return last[0].statusCode() == 200 && role.equals(new JsonObject(last[0].body()).getString("role"));
            });
            HttpResponse<String> r = last[0];
            api.check("GET", "/v1/status", new HttpFixture.Reply(r.statusCode(), r.headers(), r.body()));
            JsonObject t = new JsonObject(r.body()).getJsonObject("triad");
            assertEquals(role, t.getString("role"), "role mirrors triad.role");
            assertEquals(IDS[i], t.getString("self"));
            assertEquals(3, t.getJsonArray("members").size());
        }
    }
}
