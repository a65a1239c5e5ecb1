package dev.turnstile.appliance.license;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.appliance.sync.SyncFixture;
import dev.turnstile.harness.cloud.CloudSigner;
import dev.turnstile.harness.cloud.FakeCloud;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.Signature;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.erdtman.jcs.JsonCanonicalizer;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The move from the hand-written encoder to java-json-canonicalization (RFC 8785) changes no
 * signed byte: on every license and JSON fixture in the repository, on what the harness's fake
 * cloud signs, and on RFC 8785's own edge cases, the library, the old encoder
 * ({@link HandWrittenCanonicalJson}) and the harness's independent signer give the same text; every
 * stored license still verifies. Where the library alone would differ from the profile in
 * LICENSE.md (fractions, integers beyond 2^53-1, lone surrogates), {@link CanonicalJson} refuses.
 */
class CanonicalJsonLibraryTest {
    private static final Set<String> BUILD_DIRS = Set.of(".git", "node_modules", "build", "cmake-build");

    /** The library's text equals the old encoder's and the fake cloud signer's, bytes included. */
    private static String agree(Object value) {
        String old = HandWrittenCanonicalJson.encode(value);
        String lib = CanonicalJson.encode(value);
        assertEquals(old, lib, "library vs the hand-written encoder");
        assertEquals(CloudSigner.canonical(value), lib, "library vs the harness's signer");
        assertArrayEquals(old.getBytes(StandardCharsets.UTF_8), CanonicalJson.bytes(value), "the signed bytes");
        assertEquals(CloudSigner.digest(value), CanonicalJson.digest(value));
        return lib;
    }

    private static Path repositoryRoot() {
        Path module = Path.of(System.getProperty("basedir", System.getProperty("user.dir"))).toAbsolutePath();
        Path root = module.getParent();
        assertTrue(Files.isDirectory(root.resolve("protocol-spec/vectors")) && Files.isRegularFile(root.resolve("pom.xml")),
                "the tests run in appliance/, one below the repository root: " + module);
        return root;
    }

    private static List<Path> repositoryJsonFiles() throws IOException {
        Path root = repositoryRoot();
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".json") && Files.isRegularFile(p))
                    .filter(p -> {
                        for (Path part : root.relativize(p)) {
                            String n = part.toString();
                            if (BUILD_DIRS.contains(n) || n.startsWith("target")) {
                                return false;
                            }
                        }
                        return true;
                    })
                    .sorted()
                    .toList();
        }
    }

    private static boolean isLicense(Object v) {
        return v instanceof JsonObject o && LicenseDocument.FORMAT.equals(o.getValue("format"));
    }

    @Test
    @DisplayName("GIVEN every JSON file in the repository (the DEMO license, the protocol vectors, fixtures) WHEN "
            + "canonicalized THEN the library, the hand-written encoder and the harness's signer give the same bytes")
    void the_library_and_the_old_encoder_agree_on_every_json_file_in_the_repository() throws IOException {
        List<Path> files = repositoryJsonFiles();
        List<String> covered = new ArrayList<>();
        List<String> outsideProfile = new ArrayList<>();
        int licenses = 0;
        for (Path f : files) {
            Object value;
            try {
                value = CanonicalJson.parse(Files.readString(f, StandardCharsets.UTF_8));
            } catch (IllegalArgumentException e) {
                outsideProfile.add(f + ": " + e.getMessage());
                continue;
            }
            agree(value);
            if (isLicense(value)) {
                agree(((JsonObject) value).getJsonObject("payload"));
                licenses++;
            }
            covered.add(f.toString());
        }
        assertTrue(covered.stream().anyMatch(p -> p.endsWith("license/DEMO-license.json")), "the DEMO license is covered");
        assertTrue(licenses >= 1, "at least the DEMO license");
        assertTrue(covered.size() >= 100, "the protocol vectors are covered too: " + covered.size() + " files");
        // A fixture outside the signing profile (a fraction, a huge integer) is not a license; none may be one.
        assertEquals(List.of(), outsideProfile.stream().filter(s -> s.contains("license")).toList());
    }

    @Test
    @DisplayName("GIVEN every license stored in the repository WHEN verified with its key THEN it verifies, and the "
            + "signature covers exactly the bytes the old encoder produced")
    void every_stored_license_verifies() throws Exception {
        int verified = 0;
        for (Path f : repositoryJsonFiles()) {
            String text = Files.readString(f, StandardCharsets.UTF_8);
            Object value;
            try {
                value = CanonicalJson.parse(text);
            } catch (IllegalArgumentException e) {
                continue;
            }
            if (!isLicense(value)) {
                continue;
            }
            JsonObject payload = ((JsonObject) value).getJsonObject("payload");
            assertEquals(LicenseKeys.DEMO_NAME, payload.getString("key_id"),
                    f + " is signed with a key this test does not know: add its public key here");
            LicenseDocument d = new LicenseVerifier(LicenseKeys.demoPublicKey(), payload.getString("local_server_id"), true)
                    .verify(text);
            assertEquals(payload.getString("license_id"), d.licenseId());
            Signature v = Signature.getInstance("Ed25519");
            v.initVerify(LicenseKeys.demoPublicKey());
            v.update(HandWrittenCanonicalJson.encode(payload).getBytes(StandardCharsets.UTF_8));
            assertTrue(v.verify(Base64.getDecoder().decode(((JsonObject) value).getString("signature"))), f.toString());
            verified++;
        }
        assertTrue(verified >= 1, "the DEMO license at least");
    }

    @Test
    @DisplayName("GIVEN the harness's fake cloud with the sync fixtures' entitlements WHEN it answers a full sync, a "
            + "delta sync and an air-gapped license request THEN each license verifies and its payload and changes "
            + "digest have the same bytes under the library and the old encoder")
    void what_the_fake_cloud_signs_verifies_and_agrees() throws Exception {
        KeyPair vendor = CloudSigner.newKeyPair();
        Vertx vertx = Vertx.vertx();
        try {
            FakeCloud.Options o = new FakeCloud.Options();
            o.signer = new CloudSigner(vendor.getPrivate(), "vendor-test");
            FakeCloud cloud = FakeCloud.start(vertx, o).await(30, TimeUnit.SECONDS);
            cloud.put(SyncFixture.entitlement("ent-cad", "cad-pro", 5))
                    .put(SyncFixture.entitlement("ent-sim", "sim-suite", 2))
                    .put(SyncFixture.entitlement("ent-plant", "cad-pro", 1)
                            .put("tenant_id", "Werk Süd \u2013 Halle 3 \uD83C\uDFED")
                            .put("comment", "tab\there, \"quoted\", back\\slash, \u0001 and \u001f"));
            LicenseVerifier verifier = new LicenseVerifier(vendor.getPublic(), "plant-a", false);
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

            JsonObject full = sync(http, cloud, null);
            cloud.patch("ent-cad", new JsonObject().put("policy", new JsonObject().put("max_seats", 6)))
                    .remove("ent-sim");
            JsonObject delta = sync(http, cloud, full.getString("sync_token"));
            assertTrue(delta.getJsonArray("changes").size() >= 2, "an update and a delete: " + delta.getJsonArray("changes"));
            for (JsonObject answer : List.of(full, delta)) {
                JsonObject license = answer.getJsonObject("license");
                LicenseDocument d = verifier.verify(license.encode());
                assertEquals(answer.getString("sync_token"), d.syncToken());
                agree(license.getJsonObject("payload"));
                agree(answer.getJsonArray("changes"));
                assertEquals(d.changesDigest(), CanonicalJson.digest(answer.getJsonArray("changes")));
            }
            JsonObject airGapped = cloud.licenseFile("plant-a", 86_400_000L);
            verifier.verify(airGapped.encodePrettily());
            agree(airGapped.getJsonObject("payload"));
            cloud.close().await(10, TimeUnit.SECONDS);
        } finally {
            vertx.close().await(10, TimeUnit.SECONDS);
        }
    }

    private static JsonObject sync(HttpClient http, FakeCloud cloud, String token) throws Exception {
        JsonObject body = new JsonObject().put("local_server_id", "plant-a").put("last_sync_token", token);
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(cloud.url() + "/v1/sync/entitlements"))
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.encode())).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        // as the appliance reads it (CloudClient): strictly, integers only
        return CanonicalJson.parseObject(r.body());
    }

    @Test
    @DisplayName("GIVEN RFC 8785's key ordering example (3.2.3) WHEN canonicalized THEN keys are sorted by UTF-16 code "
            + "units, so U+1F600 (D83D DE00) comes before U+FB33, unlike code point order")
    void keys_are_ordered_by_utf16_code_units() {
        Object v = CanonicalJson.parse("{\"\\u20ac\": \"Euro Sign\", \"\\r\": \"Carriage Return\", "
                + "\"\\ufb33\": \"Hebrew Letter Dalet With Dagesh\", \"1\": \"One\", "
                + "\"\\ud83d\\ude00\": \"Emoji: Grinning Face\", \"\\u0080\": \"Control\", "
                + "\"\\u00f6\": \"Latin Small Letter O With Diaeresis\"}");
        String expected = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\","
                + "\"\u00f6\":\"Latin Small Letter O With Diaeresis\",\"\u20ac\":\"Euro Sign\","
                + "\"\ud83d\ude00\":\"Emoji: Grinning Face\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}";
        assertEquals(expected, agree(v));
        assertEquals("{\"\ud83d\ude00\":2,\"\ufb33\":1}", agree(new JsonObject().put("\ufb33", 1).put("\ud83d\ude00", 2)));
    }

    @Test
    @DisplayName("GIVEN RFC 8785's string example (3.2.2.2) and every control character WHEN canonicalized THEN the "
            + "short escapes, lowercase \\u00xx for other controls, and everything else (DEL, U+2028, non-ASCII) as itself")
    void strings_are_escaped_as_rfc_8785_says() {
        Object rfc = CanonicalJson.parse("\"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\\"\\/\"");
        assertEquals("\"\u20ac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"", agree(rfc));

        StringBuilder all = new StringBuilder();
        StringBuilder expected = new StringBuilder("\"");
        for (char c = 0; c < 0x20; c++) {
            all.append(c);
            expected.append(switch (c) {
                case '\b' -> "\\b";
                case '\t' -> "\\t";
                case '\n' -> "\\n";
                case '\f' -> "\\f";
                case '\r' -> "\\r";
                default -> String.format("\\u%04x", (int) c);
            });
        }
        String literal = "\u007f\u0080\u2028\u2029\ufeff/\u00e9\ud83d\ude00";
        all.append(literal);
        expected.append(literal).append('"');
        assertEquals(expected.toString(), agree(all.toString()));
        JsonArray parsed = (JsonArray) CanonicalJson.parse(new JsonArray().add(all.toString()).encode());
        assertEquals("[" + expected + "]", agree(parsed), "after a round trip through JSON text");
    }

    @Test
    @DisplayName("GIVEN integers in the signing profile (zero, minus zero, powers of ten, ±(2^53-1)) WHEN canonicalized "
            + "THEN plain decimal, as RFC 8785's ECMAScript number formatting gives for them")
    void integers_in_the_profile_are_plain_decimal() {
        long max = CanonicalJson.MAX_SAFE_INTEGER;
        assertEquals("[0,0,1,-1,10,1000000,100000000000000,999999999999999,1000000000000000,9007199254740991,"
                        + "-9007199254740991]",
                agree(CanonicalJson.parse("[0, -0, 1, -1, 10, 1000000, 100000000000000, 999999999999999, "
                        + "1000000000000000, 9007199254740991, -9007199254740991]")));
        assertEquals("{\"a\":9007199254740991,\"b\":-9007199254740991,\"c\":42,\"d\":7}",
                agree(new JsonObject().put("d", 7).put("c", (short) 42).put("b", -max).put("a", max)));
        // RFC 8785 canonicalizes any JSON value; the library reads only an object or array at the top.
        assertEquals("-42", agree(-42L));
        assertEquals("\"x\"", agree("x"));
        assertEquals("true", agree(true));
        assertEquals("null", agree(null));
    }

    @Test
    @DisplayName("GIVEN numbers outside the profile WHEN the library alone canonicalizes them THEN it formats fractions "
            + "and rounds 2^53+1 to 2^53; so CanonicalJson refuses them, when parsing and when encoding")
    void numbers_outside_the_profile_are_refused_not_rounded() throws IOException {
        // What the library does with RFC 8785's number examples (appendix B): ECMAScript formatting.
        assertEquals("[1e+21,1e-7,0.000001,333333333.3333333,4.5,0.002,1e+30,1000]",
                new JsonCanonicalizer("[1e21, 1e-7, 0.000001, 333333333.33333329, 4.50, 2e-3, 1E30, 1e3]").getEncodedString());
        // Two different documents, one canonical form: the reason for the integer-only profile.
        assertEquals(new JsonCanonicalizer("[9007199254740993]").getEncodedString(),
                new JsonCanonicalizer("[9007199254740992]").getEncodedString());
        for (String text : List.of("[9007199254740993]", "[9007199254740992]", "[-9007199254740992]", "[1.0]", "[4.50]",
                "[1e3]", "[1E30]", "[0.000001]")) {
            assertThrows(IllegalArgumentException.class, () -> CanonicalJson.parse(text), text);
        }
        for (Object v : List.of(1.0, 0.5f, 9007199254740992L, -9007199254740992L, Long.MAX_VALUE,
                new java.math.BigInteger("9007199254740993"), new java.math.BigDecimal("1"))) {
            assertThrows(IllegalArgumentException.class, () -> CanonicalJson.encode(new JsonArray().add(v)), v.toString());
        }
    }

    @Test
    @DisplayName("GIVEN a string or key with a lone UTF-16 surrogate WHEN canonicalized THEN it is refused (RFC 8785 "
            + "3.2.2.2), where the library alone would write '?'; a license carrying one is refused as malformed")
    void lone_surrogates_are_refused() throws Exception {
        assertEquals("[\"?X\"]", new String(new JsonCanonicalizer("[\"\\uD800X\"]").getEncodedUTF8(), StandardCharsets.UTF_8),
                "the library alone: a replacement character in the signed bytes, no error");
        for (String bad : List.of("\uD800X", "X\uDC00", "\uDE00\uD83D", "end\uD83D")) {
            assertThrows(IllegalArgumentException.class, () -> CanonicalJson.encode(bad));
            assertThrows(IllegalArgumentException.class, () -> CanonicalJson.bytes(new JsonObject().put(bad, 1)));
            assertThrows(IllegalArgumentException.class, () -> CanonicalJson.digest(new JsonArray().add(bad)));
        }
        assertThrows(IllegalArgumentException.class, () -> CanonicalJson.encode(CanonicalJson.parse("[\"\\ud800\"]")));

        KeyPair vendor = CloudSigner.newKeyPair();
        JsonObject payload = new JsonObject().put("license_id", "L-1").put("key_id", "vendor-2027")
                .put("local_server_id", "plant-a").put("issued_at", "2027-03-01T00:00:00Z")
                .put("valid_until", "2027-03-15T00:00:00Z").put("entitlements", new JsonArray())
                .put("comment", "half an emoji \uD83D");
        JsonObject signed = new CloudSigner(vendor.getPrivate(), "vendor-2027").sign(payload);
        LicenseException e = assertThrows(LicenseException.class,
                () -> new LicenseVerifier(vendor.getPublic(), "plant-a", false).verify(signed.encode()));
        assertEquals(LicenseException.Reason.MALFORMED, e.reason());
    }
}
