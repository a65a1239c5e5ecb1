package dev.turnstile.appliance.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.turnstile.appliance.sync.SyncFixture;
import dev.turnstile.appliance.sync.SyncTestPostgres;
import dev.turnstile.appliance.testing.RawClient;
import dev.turnstile.harness.cloud.FakeCloud;
import dev.turnstile.protocol.Message;
import dev.turnstile.testsupport.Wait;
import io.micrometer.core.instrument.Meter;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The Prometheus ecosystem's own linter on our exposition: {@code promtool check metrics} reads a real
 * scrape of {@code /metrics} and must report nothing about any {@code turnstile_*} metric (help text,
 * units, counter suffixes, names). The appliance runs with a Postgres store, a sync from a fake cloud,
 * a license and the session limits, and the test makes the lazily registered meters appear (checkouts,
 * a denial, a checkin, a forced release, a failed sync) so that as many {@code turnstile_*} families as
 * possible are in the scrape.
 *
 * <p>promtool comes from {@code $TURNSTILE_PROMTOOL} ({@code scripts/ensure-promtool.sh} prints it;
 * {@code test.sh} sets it, and then a missing or broken promtool fails this test) or from the PATH; with
 * neither, the test is skipped and says why.
 */
@Tag("slow") // promtool on a full appliance
public class PromtoolCheckMetricsTest {
    static final String ENV = "TURNSTILE_PROMTOOL";

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    /** promtool's path, or a skip that names how to get it; a TURNSTILE_PROMTOOL that does not run is a failure. */
    public static Path promtool() {
        String named = System.getenv(ENV);
        if (named != null && !named.isBlank()) {
            Path p = Paths.get(named.trim());
            assertTrue(Files.isExecutable(p), ENV + "=" + named + " is not an executable file (scripts/ensure-promtool.sh)");
            return p;
        }
        String path = System.getenv().getOrDefault("PATH", "");
        for (String dir : path.split(File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Paths.get(dir, "promtool"))) {
                return Paths.get(dir, "promtool");
            }
        }
        Assumptions.abort("skipped: no promtool on the PATH and " + ENV + " unset; run  eval \"$(bash scripts/ensure-promtool.sh)\""
                + "  first (test.sh does)");
        return null;
    }

    /** What promtool said about a scrape: its exit code and its lines. */
    public record Verdict(int exitCode, List<String> lines) {
    }

    public static Verdict check(Path promtool, String exposition) throws Exception {
        Process p = new ProcessBuilder(promtool.toString(), "check", "metrics").redirectErrorStream(true).start();
        CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> {
            try (InputStream in = p.getInputStream()) {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "(could not read promtool's output: " + e + ")";
            }
        });
        try (OutputStream in = p.getOutputStream()) {
            in.write(exposition.getBytes(StandardCharsets.UTF_8));
        }
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("promtool check metrics did not finish within 60 s");
        }
        List<String> lines = new ArrayList<>();
        for (String l : out.get(10, TimeUnit.SECONDS).split("\n")) {
            if (!l.isBlank()) {
                lines.add(l.strip());
            }
        }
        return new Verdict(p.exitValue(), lines);
    }

    private String scrape(SyncFixture f) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + f.appliance.httpPort()
                + "/metrics")).timeout(SyncFixture.WAIT).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return r.body();
    }

    private static Set<String> families(String exposition) {
        Set<String> out = new TreeSet<>();
        for (String line : exposition.split("\n")) {
            if (line.startsWith("# TYPE turnstile_")) {
                out.add(line.split(" ")[2]);
            }
        }
        return out;
    }

    @Test
    @DisplayName("GIVEN an appliance with a store, a sync, a license and the session limits, after checkouts, a denial, a "
            + "checkin, a forced release and a failed sync WHEN promtool checks its /metrics THEN no turnstile_* metric has "
            + "a problem")
    void promtool_finds_no_problem_in_any_turnstile_metric() throws Exception {
        Path promtool = promtool();
        try (SyncFixture f = new SyncFixture("promtool-1", Instant.parse("2027-03-01T00:00:00Z"));
             SyncTestPostgres pg = SyncTestPostgres.create(f.vertx)) {
            // GIVEN the appliance with every optional part on
            f.startCloud();
            f.cloud.put(SyncFixture.entitlement("ent-cad", "cad-pro", 1));
            f.start(c -> {
                c.put("store", pg.storeSection());
                c.getJsonObject("server").put("max_sessions", 64).put("max_sessions_per_address", 16);
            });
            f.awaitFirstSync();
            RawClient a = f.client("ws-a");
            Message.Granted g = (Message.Granted) a.request(a.checkout("cad-pro", 1)).message();
            RawClient b = f.client("ws-b");
            assertTrue(b.request(b.checkout("cad-pro", 1)).message() instanceof Message.Denied, "one seat, so denied");
            assertTrue(a.request(a.checkin(g.leaseId(), g.reclaimSecret())).message() instanceof Message.CheckedIn);
            Message.Granted g2 = (Message.Granted) b.request(b.checkout("cad-pro", 1)).message();
            assertEquals(200, f.call("POST", "/v1/leases/" + g2.leaseId() + "/release", "{\"reason\": \"promtool\"}",
                    SyncFixture.API_TOKEN).status());
            f.cloud.failNext(FakeCloud.Failure.SERVER_ERROR, 3);
            assertEquals("failed", f.syncNow().getString("outcome"), "3 attempts, 3 server errors");

            // WHEN promtool reads a scrape taken once the store is connected and the ledger counters are there
            String exposition = "";
            exposition = Wait.forValue("the store connected and a lease ended, in /metrics", SyncFixture.WAIT,
                    () -> scrape(f), e -> {
                        List<MetricsEndpointTest.Sample> s = MetricsEndpointTest.parse(e);
                        Double connected = MetricsEndpointTest.find(s, "turnstile_store_connected");
                        return connected != null && connected == 1
                                && MetricsEndpointTest.find(s, "turnstile_lease_ends_total") != null;
                    });
            Set<String> families = families(exposition);
            for (String expected : List.of("turnstile_store_persistent", "turnstile_sync_errors_total", "turnstile_denials_total",
                    "turnstile_lease_ends_total", "turnstile_checkouts_total", "turnstile_license_alerts_total",
                    "turnstile_session_refusals_total", "turnstile_event_loop_delay_seconds", "turnstile_seats_used")) {
                assertTrue(families.contains(expected), expected + " is in the scrape: " + families);
            }
            // every turnstile meter carries its help text itself: which registration of a shared name gives the
            // family its HELP line is up to the registry, so one registration without it is enough to lose it
            Map<String, Set<String>> helps = new TreeMap<>();
            for (Meter m : f.appliance.metrics().registry().getMeters()) {
                if (m.getId().getName().startsWith("turnstile")) {
                    String d = m.getId().getDescription();
                    helps.computeIfAbsent(m.getId().getName(), k -> new TreeSet<>()).add(d == null || d.isBlank() ? "(none)" : d);
                }
            }
            helps.values().removeIf(d -> d.size() == 1 && !d.contains("(none)"));
            assertTrue(helps.isEmpty(), "turnstile meters without one help text: " + helps);
            Verdict v = check(promtool, exposition);

            // THEN nothing about our metrics; other libraries' findings are printed, not failed on
            List<String> ours = new ArrayList<>();
            List<String> theirs = new ArrayList<>();
            for (String line : v.lines()) {
                assertTrue(!line.startsWith("error"), "promtool could not read the exposition: " + v.lines());
                (line.startsWith("turnstile_") ? ours : theirs).add(line);
            }
            System.out.println("promtool check metrics: " + families.size() + " turnstile_* families checked, exit "
                    + v.exitCode() + (theirs.isEmpty() ? "" : "; about other libraries' metrics (not ours, not failed on):\n  "
                    + String.join("\n  ", theirs)));
            assertTrue(ours.isEmpty(), "promtool's findings about turnstile_* metrics:\n  " + String.join("\n  ", ours));
            f.stopAppliance();
        }
    }

    @Test
    @DisplayName("GIVEN an exposition with a counter that has no help text WHEN promtool checks it THEN it names that metric "
            + "(the check above can fail)")
    void promtool_names_a_metric_without_help_text() throws Exception {
        Path promtool = promtool();
        Verdict v = check(promtool, "# TYPE turnstile_example_total counter\nturnstile_example_total 1\n");
        assertTrue(v.lines().stream().anyMatch(l -> l.startsWith("turnstile_example_total") && l.contains("no help text")),
                "promtool said: " + v.lines());
        assertTrue(v.exitCode() != 0, "a finding is a non-zero exit");
    }
}
