package dev.turnstile.appliance.license;

import static dev.turnstile.appliance.sync.SyncFixture.entitlement;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.sync.SyncFixture;
import dev.turnstile.appliance.testing.RawClient;
import dev.turnstile.harness.cloud.CloudSigner;
import dev.turnstile.protocol.ErrorCode;
import dev.turnstile.protocol.Message;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Air-gapped sites: no sync, the vendor sends a signed license file, the admin imports it through
 * {@code POST /v1/license} or {@code turnstile import-license FILE}; the same verification as for
 * the sync applies.
 */
class AirGappedImportTest {
    private static final Instant T0 = Instant.parse("2027-03-01T00:00:00Z");
    private static final long DAYS_30 = 30L * 86_400_000L;
    private SyncFixture f;

    @BeforeEach
    void setUp() throws Exception {
        f = new SyncFixture("plant-offline", T0);
        f.startCloud(); // only as the vendor's license factory: the appliance never calls it
        f.cloud.put(entitlement("ent-cad", "cad-pro", 2));
    }

    @AfterEach
    void tearDown() throws Exception {
        f.close();
    }

    private JsonObject airGappedConfig() {
        JsonObject c = f.config();
        c.getJsonObject("sync").put("enabled", false).remove("cloud_server_url");
        return c;
    }

    private SyncFixture.Reply post(String body, String token) throws Exception {
        return f.call("POST", "/v1/license", body, token);
    }

    @Test
    @DisplayName("GIVEN an air-gapped appliance with no license WHEN an admin posts signed license files THEN a bad "
            + "signature, another appliance's license or no token are refused with nothing applied, and a good one is "
            + "verified, installed, its entitlements served and audited")
    void import_through_the_api() throws Exception {
        f.start(airGappedConfig());
        RawClient c = f.client("c");
        assertEquals(ErrorCode.LICENSE_EXPIRED, ((Message.Denied) c.request(c.checkout("cad-pro", 1)).message()).errorCode());
        assertEquals("disabled", f.syncStatus().getString("status"));

        String good = f.cloud.licenseFile("plant-offline", DAYS_30).encodePrettily();
        assertEquals(401, post(good, null).status());

        CloudSigner stranger = new CloudSigner(CloudSigner.newKeyPair().getPrivate(), "vendor-test");
        JsonObject forged = stranger.sign(f.cloud.licenseFile("plant-offline", DAYS_30).getJsonObject("payload"));
        SyncFixture.Reply r = post(forged.encode(), SyncFixture.API_TOKEN);
        assertEquals(422, r.status());
        assertEquals("licenseBadSignature", r.json().getString("code"));

        r = post(f.cloud.licenseFile("plant-elsewhere", DAYS_30).encode(), SyncFixture.API_TOKEN);
        assertEquals(422, r.status());
        assertEquals("licenseWrongServer", r.json().getString("code"));

        r = post("{\"format\": \"turnstile-license/1\", \"payload\": {}, \"signature\": \"AAAA\"}", SyncFixture.API_TOKEN);
        assertEquals(422, r.status());
        assertNull(f.pool("ent-cad"), "nothing refused is applied");

        r = post(good, SyncFixture.API_TOKEN);
        assertEquals(200, r.status(), r.json().encode());
        assertEquals("plant-offline", r.json().getString("local_server_id"));
        JsonObject lic = f.licenseStatus();
        assertEquals("valid", lic.getString("state"));
        assertEquals(T0.plus(Duration.ofDays(30)).toString(), lic.getString("valid_until"));
        assertEquals(2, f.pool("ent-cad").getInteger("max_seats"));
        assertInstanceOf(Message.Granted.class, c.request(c.checkout("cad-pro", 1)).message());
        JsonObject audit = f.get("/v1/sync/audit?limit=1").getJsonArray("audit").getJsonObject(0);
        assertEquals("import", audit.getString("trigger"));
        assertEquals(1, audit.getInteger("created"));
        assertTrue(Files.readString(f.dir.resolve("license.json")).contains("plant-offline"), "kept in license.file");
    }

    @Test
    @DisplayName("GIVEN a running air-gapped appliance WHEN import-license installs a newer file with more seats THEN "
            + "the running appliance applies it within check_interval; a forged file is refused with exit code 4")
    void import_with_the_command_line() throws Exception {
        f.start(airGappedConfig());
        assertEquals(200, post(f.cloud.licenseFile("plant-offline", DAYS_30).encode(), SyncFixture.API_TOKEN).status());
        assertEquals(2, f.pool("ent-cad").getInteger("max_seats"));

        f.clock.advance(Duration.ofDays(1));
        f.cloud.patch("ent-cad", new JsonObject().put("policy", new JsonObject().put("max_seats", 6)));
        Path newer = f.dir.resolve("from-vendor.json");
        Files.writeString(newer, f.cloud.licenseFile("plant-offline", DAYS_30).encodePrettily());
        Path forged = f.dir.resolve("forged.json");
        Files.writeString(forged, new CloudSigner(CloudSigner.newKeyPair().getPrivate(), "x")
                .sign(f.cloud.licenseFile("plant-offline", DAYS_30).getJsonObject("payload")).encode());

        assertEquals(ImportLicenseCommand.EXIT_REFUSED, runImport(forged, airGappedConfig()));
        assertEquals(2, f.pool("ent-cad").getInteger("max_seats"));

        assertEquals(0, runImport(newer, airGappedConfig()));
        JsonObject lic = f.await("the running appliance to install the imported file", f::licenseStatus,
                x -> T0.plus(Duration.ofDays(31)).toString().equals(x.getString("valid_until")));
        assertEquals(6, f.pool("ent-cad").getInteger("max_seats"));
        assertEquals("file", lic.getString("source"));

        // and a restart keeps it all
        f.restart(airGappedConfig());
        assertEquals(6, f.pool("ent-cad").getInteger("max_seats"));
        assertEquals("valid", f.licenseStatus().getString("state"));
    }

    @Test
    @DisplayName("GIVEN import-license WHEN the configuration names the DEMO key without allow_demo_key THEN exit code 2")
    void import_refuses_a_configuration_with_the_demo_key() throws Exception {
        JsonObject c = airGappedConfig();
        c.getJsonObject("license").put("public_key", "DEMO");
        Path any = f.dir.resolve("any.json");
        Files.writeString(any, "{}");
        assertEquals(ImportLicenseCommand.EXIT_CONFIG, runImport(any, c));
    }

    private int runImport(Path file, JsonObject config) {
        ImportLicenseCommand cmd = new ImportLicenseCommand();
        cmd.file = file;
        cmd.config = Path.of("test-config.yaml");
        cmd.clock = Clock.fixed(f.clock.instant(), ZoneOffset.UTC);
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        try (PrintStream p = new PrintStream(captured, true, StandardCharsets.UTF_8)) {
            System.setOut(p);
            System.setErr(p);
            return cmd.install(config);
        } finally {
            System.setOut(out);
            System.setErr(err);
            System.out.println("import-license said: " + captured.toString(StandardCharsets.UTF_8));
        }
    }
}
