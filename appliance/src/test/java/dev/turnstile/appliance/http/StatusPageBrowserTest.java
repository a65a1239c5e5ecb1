package dev.turnstile.appliance.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.Appliance;
import dev.turnstile.appliance.seat.LeaseView;
import dev.turnstile.appliance.seat.PoolView;
import dev.turnstile.client.CheckoutRequest;
import dev.turnstile.client.Lease;
import dev.turnstile.client.LeaseListener;
import dev.turnstile.client.TurnstileClient;
import dev.turnstile.protocol.ErrorCode;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The status page in a real browser: headless Chromium (Debian's {@code chromium}, installed by
 * scripts/ensure-chromium.sh) loads {@code /} from a running appliance with live SDK clients. The
 * numbers on screen must match the ledger, a new checkout must show up without a reload, and a
 * force-release clicked on the page (token typed into its dialog) must free the seat and tell the
 * client. Screenshots go to the build's output folder ({@code <target>/browser/}) for a person to look.
 */
@Tag("slow") // a headless Chromium
class StatusPageBrowserTest {
    private static final Duration WAIT = Duration.ofSeconds(20);

    private final HttpFixture f = new HttpFixture();
    private final List<TurnstileClient> clients = new ArrayList<>();
    private final Map<String, ErrorCode> lost = new ConcurrentHashMap<>();
    private Chromium browser;

    @BeforeEach
    void browser_is_installed() {
        assertNotNull(Chromium.executable(), "headless Chromium is needed: run scripts/ensure-chromium.sh "
                + "(apt-get install chromium), or point $CHROMIUM at a chromium binary");
    }

    @AfterEach
    void close() throws Exception {
        if (browser != null) {
            browser.close();
        }
        for (TurnstileClient c : clients) {
            c.close();
        }
        f.close();
    }

    private TurnstileClient client(String clientId, String hwId) {
        TurnstileClient c = TurnstileClient.builder().servers("127.0.0.1:" + f.appliance.tcpPort())
                .clientId(clientId).hwId(hwId).clientVersion("1.0.0")
                .connectTimeout(Duration.ofSeconds(5)).requestTimeout(Duration.ofSeconds(10))
                .backoff(Duration.ofMillis(100), Duration.ofSeconds(1), 0.2)
                .listener(new LeaseListener() {
                    @Override
                    public void leaseLost(Lease lease, ErrorCode reason) {
                        lost.put(lease.id().toString(), reason == null ? ErrorCode.INTERNAL_ERROR : reason);
                    }
                }).build();
        clients.add(c);
        c.connect();
        return c;
    }

    /** The build's output folder (target/ or the -Dturnstile.target one): the parent of test-classes. */
    static Path outputFolder() throws Exception {
        Path classes = Path.of(StatusPageBrowserTest.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path dir = classes.getParent().resolve("browser");
        Files.createDirectories(dir);
        return dir;
    }

    private String pageText(String testId) throws Exception {
        return browser.text("[data-testid=\"" + testId + "\"]");
    }

    private void waitForText(String testId, String expected) throws Exception {
        browser.waitFor(testId + " = " + expected, "(() => { const e = document.querySelector('[data-testid=\"" + testId
                + "\"]'); return e ? e.textContent : null; })()", v -> expected.equals(v), WAIT);
    }

    private void assertPageMatchesLedger(Appliance a) throws Exception {
        for (PoolView p : a.ledger().pools()) {
            String id = p.entitlementId();
            waitForText("used-" + id, Long.toString(p.used()));
            assertEquals(Long.toString(p.maxSeats()), pageText("max-" + id), "max seats of " + id);
            assertEquals(Long.toString(p.waiting()), pageText("waiting-" + id), "waiting of " + id);
            assertEquals(Long.toString(p.highWater()), pageText("highwater-" + id), "high-water of " + id);
        }
        assertEquals(Long.toString(a.registry().sessions()), pageText("sessions"), "sessions");
        assertEquals(Integer.toString(a.ledger().leaseCount()), pageText("lease-count"), "leases");
        assertEquals(Integer.toString(a.ledger().waiterCount()), pageText("waiting"), "waiting");
    }

    @Test
    @DisplayName("GIVEN live clients WHEN the status page loads THEN its numbers match the ledger, it updates live, "
            + "and a force-release clicked on it frees the seat and tells the client")
    void status_page_in_a_real_browser() throws Exception {
        // GIVEN an appliance with cad-pro full (3 of 3), sim-suite full with one client waiting, one viewer seat
        Appliance a = f.start("browser-1", c -> c.getJsonObject("http").put("history_interval", "1s")
                .put("history_window", "1h").put("live_interval", "500ms"));
        List<Lease> cad = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            cad.add(client("cad-ws-" + i, "hw-cad-" + i).checkout("cad-pro"));
        }
        client("sim-1", "hw-sim-1").checkout("sim-suite");
        client("sim-2", "hw-sim-2").checkout("sim-suite");
        CompletableFuture<Lease> queued = client("sim-3", "hw-sim-3")
                .checkoutAsync(CheckoutRequest.of("sim-suite").waitingInQueue(Duration.ofMinutes(5)));
        TurnstileClient viewer = client("viewer-1", "hw-view-1");
        viewer.checkout("viewer");
        HttpFixture.until("one checkout waits for sim-suite", () -> a.ledger().waiterCount() == 1);

        // WHEN the page is opened
        browser = Chromium.launch(Chromium.executable(), 1366, 900);
        browser.navigate(f.base() + "/");
        browser.waitFor("the page rendered the products", "document.querySelectorAll('.pool').length",
                v -> v instanceof Number n && n.intValue() == 3, WAIT);

        // THEN the products, counts and leases table show what the ledger holds
        assertPageMatchesLedger(a);
        browser.waitFor("the leases table shows every lease", "document.getElementById('page-info').dataset.total",
                v -> Integer.toString(a.ledger().leaseCount()).equals(v), WAIT);
        List<LeaseView> leases = a.ledger().leases();
        Object rowIds = browser.eval("Array.from(document.querySelectorAll('#lease-rows tr[data-lease-id]'))"
                + ".map(r => r.dataset.leaseId).join(',')");
        assertEquals(String.join(",", leases.stream().map(l -> l.leaseId().toString()).toList()), rowIds,
                "the table lists the ledger's leases, oldest first");
        assertEquals("browser-1", pageText("server-id"));
        assertEquals("live", browser.waitFor("the event stream is connected",
                "document.getElementById('live').textContent", "live"::equals, WAIT));
        assertEquals("n/a", pageText("license-days"), "no license section: no validity to show");
        assertEquals("\u2014", pageText("role"), "no triad: no role yet");

        // AND it updates live, without a reload, when clients check out
        browser.eval("window.__noReload = 42");
        viewer.checkout("viewer");
        client("viewer-2", "hw-view-2").checkout("viewer");
        waitForText("used-ent-view", "3");
        assertPageMatchesLedger(a);
        assertEquals(42, ((Number) browser.eval("window.__noReload")).intValue(), "the page was not reloaded");
        browser.waitFor("the chart drew the history", "document.getElementById('legend').textContent",
                v -> v != null && v.toString().contains("viewer: 3 / 10"), WAIT);
        long inked = ((Number) browser.eval("(() => { const c = document.getElementById('chart');"
                + " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;"
                + " for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) n++; } return n; })()")).longValue();
        assertTrue(inked > 2_000, "the chart canvas has lines and axes (" + inked + " painted pixels)");
        Files.write(outputFolder().resolve("status-page.png"), browser.screenshot());

        // WHEN the admin clicks Release on the second cad-pro lease and types the token into the dialog
        String victim = cad.get(1).id().toString();
        browser.click("[data-testid=\"release-" + victim + "\"]");
        browser.waitFor("the release dialog opened", "document.getElementById('release-dialog').open", Boolean.TRUE::equals, WAIT);
        browser.eval("document.getElementById('release-token').focus()");
        browser.type(HttpFixture.TOKEN);
        browser.eval("document.getElementById('release-reason').focus()");
        browser.type("hung CAD session");
        Files.write(outputFolder().resolve("status-page-release-dialog.png"), browser.screenshot());
        browser.click("[data-testid=\"release-confirm\"]");

        // THEN the seat is free in the ledger, the client was told, and the page shows it
        HttpFixture.until("the lease is gone from the ledger", () -> a.ledger().lease(cad.get(1).id()).isEmpty());
        HttpFixture.until("the SDK reported the forced release", () -> lost.get(victim) == ErrorCode.FORCED_RELEASE);
        waitForText("used-ent-cad", "2");
        browser.waitFor("the row left the table", "document.querySelector('tr[data-lease-id=\"" + victim + "\"]') === null",
                Boolean.TRUE::equals, WAIT);
        assertTrue(browser.text("[data-testid=\"toast\"]").contains("Released cad-pro seat of cad-ws-2"),
                "the page confirms the release");
        assertPageMatchesLedger(a);
        assertEquals(42, ((Number) browser.eval("window.__noReload")).intValue(), "still no reload");
        Files.write(outputFolder().resolve("status-page-after-release.png"), browser.screenshot());
        assertTrue(browser.problems.isEmpty(), "the page logged no errors: " + browser.problems);
        queued.cancel(true);
    }

    @Test
    @DisplayName("GIVEN 100,000 leases WHEN the page loads and the admin types a filter THEN the table shows one page of "
            + "them at a time, and both take a moment, not a freeze (timings printed)")
    void a_hundred_thousand_leases_do_not_freeze_the_page() throws Exception {
        Appliance a = f.start("browser-100k", c -> {
            c.getJsonObject("server").put("lease_timeout", "1h").put("heartbeat_interval", "10s");
            c.getJsonArray("entitlements").add(dev.turnstile.appliance.testing.TestAppliances.entitlement("ent-big", "big", 150_000,
                    "seats"));
        });
        StatusApiTest.seed(a, "big", 100_000);
        browser = Chromium.launch(Chromium.executable(), 1366, 900);
        long t0 = System.nanoTime();
        browser.navigate(f.base() + "/");
        browser.waitFor("the table counts every lease", "document.getElementById('page-info').dataset.total",
                "100000"::equals, WAIT);
        long loadMs = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(50L, ((Number) browser.eval("document.querySelectorAll('#lease-rows tr').length")).longValue(),
                "one page of rows in the DOM");
        assertEquals("1\u201350 of 100,000 leases", pageText("page-info"));
        waitForText("used-ent-big", "100,000");

        browser.click("[data-testid=\"filter-q\"]");
        long t1 = System.nanoTime();
        browser.type("client-4242");
        browser.waitFor("the filter narrowed the table", "document.getElementById('page-info').dataset.total",
                "11"::equals, WAIT); // client-4242 and client-42420..42429
        long filterMs = (System.nanoTime() - t1) / 1_000_000;
        assertEquals(11L, ((Number) browser.eval("document.querySelectorAll('#lease-rows tr').length")).longValue());

        browser.click("#page-next"); // disabled: nothing beyond one page
        browser.eval("document.getElementById('filter-q').value = ''; document.getElementById('filter-q')"
                + ".dispatchEvent(new Event('input'))");
        browser.waitFor("the filter was cleared", "document.getElementById('page-info').dataset.total", "100000"::equals, WAIT);
        long t2 = System.nanoTime();
        browser.click("#page-next");
        browser.waitFor("the second page", "document.getElementById('page-info').textContent",
                v -> v != null && v.toString().startsWith("51\u2013100 of"), WAIT);
        long nextMs = (System.nanoTime() - t2) / 1_000_000;
        long roundTrip = System.nanoTime();
        browser.eval("1 + 1");
        long evalMs = (System.nanoTime() - roundTrip) / 1_000_000;
        Object heap = browser.eval("performance.memory ? performance.memory.usedJSHeapSize : -1");
        System.out.printf("FIGURE browser_100k_leases load_to_table_ms=%d filter_ms=%d next_page_ms=%d eval_round_trip_ms=%d "
                + "js_heap_bytes=%s nproc=%d%n", loadMs, filterMs, nextMs, evalMs, heap, Runtime.getRuntime().availableProcessors());
        Files.write(outputFolder().resolve("status-page-100k.png"), browser.screenshot());
        assertTrue(browser.problems.isEmpty(), "the page logged no errors: " + browser.problems);
    }

    @Test
    @DisplayName("GIVEN a synced, licensed appliance WHEN validity runs down THEN the license card shows the days left, "
            + "turns amber below the alert threshold and red at the end, and the sync card shows the failing sync")
    void license_days_left_in_warning_colours() throws Exception {
        try (dev.turnstile.appliance.sync.SyncFixture s = new dev.turnstile.appliance.sync.SyncFixture("browser-lic",
                java.time.Instant.parse("2027-03-01T00:00:00Z"))) {
            s.startCloud();
            s.cloud.put(dev.turnstile.appliance.sync.SyncFixture.entitlement("ent-cad", "cad-pro", 4));
            s.start(c -> { });
            s.awaitFirstSync();
            browser = Chromium.launch(Chromium.executable(), 1366, 900);
            browser.navigate("http://127.0.0.1:" + s.appliance.httpPort() + "/");
            String level = "document.getElementById('card-license').dataset.level";
            browser.waitFor("a valid license", level, "ok"::equals, WAIT);
            assertEquals("14", pageText("license-days"), "a fresh 14-day license");
            assertEquals("ok", pageText("sync-state"));

            // the cloud goes away (else the appliance renews the license as soon as it runs low)
            s.cloud.failAlways(dev.turnstile.harness.cloud.FakeCloud.Failure.SERVER_ERROR);
            s.clock.advance(Duration.ofDays(10)); // 4 days left: below the 7-day alert threshold
            browser.waitFor("the license card turns amber", level, "warn"::equals, WAIT);
            assertEquals("4", pageText("license-days"));
            assertTrue(browser.text("#license-detail").contains("below the 7-day alert threshold"),
                    browser.text("#license-detail"));
            Files.write(outputFolder().resolve("status-page-license-expiring.png"), browser.screenshot());

            s.clock.advance(Duration.ofHours(4 * 24 - 6)); // 6 hours left
            browser.waitFor("the license card turns red", level, "bad"::equals, WAIT);
            assertEquals("0", pageText("license-days"));
            s.clock.advance(Duration.ofHours(7)); // expired
            browser.waitFor("the card says the license expired", "document.getElementById('license-detail').textContent",
                    v -> v != null && v.toString().startsWith("Expired"), WAIT);
            assertEquals("bad", browser.eval(level));
            browser = closeBrowser();
        }
    }

    private Chromium closeBrowser() {
        browser.close();
        return null;
    }

    @Test
    @DisplayName("GIVEN a wrong token typed into the release dialog WHEN confirmed THEN the page says so and the seat stays")
    void wrong_token_in_the_dialog_keeps_the_seat() throws Exception {
        Appliance a = f.start("browser-2");
        Lease held = client("cad-ws-1", "hw-cad-1").checkout("cad-pro");
        browser = Chromium.launch(Chromium.executable(), 1280, 900);
        browser.navigate(f.base() + "/");
        String id = held.id().toString();
        browser.waitFor("the lease is listed", "document.querySelector('[data-testid=\"release-" + id + "\"]') !== null",
                Boolean.TRUE::equals, WAIT);
        browser.click("[data-testid=\"release-" + id + "\"]");
        browser.waitFor("the release dialog opened", "document.getElementById('release-dialog').open", Boolean.TRUE::equals, WAIT);
        browser.eval("document.getElementById('release-token').focus()");
        browser.type("not-the-token");
        browser.click("[data-testid=\"release-confirm\"]");
        Object error = browser.waitFor("the dialog shows the refusal", "document.getElementById('release-error').textContent",
                v -> v != null && !v.toString().isEmpty(), WAIT);
        assertTrue(error.toString().contains("unauthorized"), "the error names the code: " + error);
        assertTrue(a.ledger().lease(held.id()).isPresent(), "the seat is still held");
        assertTrue(lost.isEmpty(), "the client lost nothing");
        JsonObject status = f.get("/v1/status").json();
        assertEquals(1, status.getJsonArray("pools").getJsonObject(0).getInteger("used"));
    }
}
