package dev.turnstile.appliance.license;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.turnstile.harness.cloud.CloudSigner;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.time.Instant;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Signature and content checks of license documents, against documents signed by the harness (another implementation). */
class LicenseVerifierTest {
    private final KeyPair vendor = CloudSigner.newKeyPair();
    private final CloudSigner signer = new CloudSigner(vendor.getPrivate(), "vendor-2027");
    private final LicenseVerifier verifier = new LicenseVerifier(vendor.getPublic(), "plant-a", false);

    private static JsonObject payload() {
        return new JsonObject()
                .put("license_id", "L-1")
                .put("key_id", "vendor-2027")
                .put("local_server_id", "plant-a")
                .put("issued_at", "2027-03-01T00:00:00Z")
                .put("valid_until", "2027-03-15T00:00:00Z")
                .put("entitlements", new JsonArray().add(new JsonObject().put("entitlement_id", "e1")));
    }

    private LicenseException.Reason refusal(JsonObject doc) {
        return assertThrows(LicenseException.class, () -> verifier.verify(doc)).reason();
    }

    @Test
    @DisplayName("GIVEN a document signed with the vendor key WHEN verified THEN its fields come out")
    void a_good_document_verifies() throws Exception {
        LicenseDocument d = verifier.verify(signer.sign(payload()).encodePrettily());
        assertEquals("L-1", d.licenseId());
        assertEquals(Instant.parse("2027-03-15T00:00:00Z"), d.validUntil());
        assertEquals(1, d.entitlements().size());
    }

    @Test
    @DisplayName("GIVEN documents tampered with, signed by another key, for another appliance, signed by the DEMO key or "
            + "malformed WHEN verified THEN each is refused with its own reason")
    void bad_documents_are_refused() {
        JsonObject tampered = signer.sign(payload());
        tampered.getJsonObject("payload").put("valid_until", "2099-01-01T00:00:00Z");
        assertEquals(LicenseException.Reason.BAD_SIGNATURE, refusal(tampered));
        CloudSigner stranger = new CloudSigner(CloudSigner.newKeyPair().getPrivate(), "vendor-2027");
        assertEquals(LicenseException.Reason.BAD_SIGNATURE, refusal(stranger.sign(payload())));
        JsonObject shortSig = signer.sign(payload()).put("signature", "AAAA");
        assertEquals(LicenseException.Reason.BAD_SIGNATURE, refusal(shortSig));
        assertEquals(LicenseException.Reason.WRONG_SERVER, refusal(signer.sign(payload().put("local_server_id", "plant-b"))));
        assertEquals(LicenseException.Reason.DEMO_KEY_REFUSED, refusal(signer.sign(payload().put("key_id", "DEMO"))));
        assertEquals(LicenseException.Reason.MALFORMED, refusal(signer.sign(payload()).put("format", "v0")));
        assertEquals(LicenseException.Reason.MALFORMED, refusal(signer.sign(payload().put("issued_at", "yesterday"))));
        assertEquals(LicenseException.Reason.MALFORMED,
                refusal(signer.sign(payload().put("valid_until", "2027-02-01T00:00:00Z"))));
        assertEquals(LicenseException.Reason.MALFORMED, refusal(signer.sign(payload().put("entitlements", "all"))));
        assertEquals(LicenseException.Reason.MALFORMED,
                assertThrows(LicenseException.class, () -> verifier.verify("{\"format\":1,\"format\":2}")).reason());
    }

    @Test
    @DisplayName("GIVEN a verified document WHEN checked against the clock THEN expired and issued-in-the-future are refused")
    void time_rules() throws Exception {
        LicenseDocument d = verifier.verify(signer.sign(payload()));
        LicenseVerifier.checkTime(d, Instant.parse("2027-03-10T00:00:00Z").toEpochMilli(), 600_000);
        assertEquals(LicenseException.Reason.EXPIRED, assertThrows(LicenseException.class, () ->
                LicenseVerifier.checkTime(d, Instant.parse("2027-03-15T00:00:00Z").toEpochMilli(), 600_000)).reason());
        assertEquals(LicenseException.Reason.ISSUED_IN_FUTURE, assertThrows(LicenseException.class, () ->
                LicenseVerifier.checkTime(d, Instant.parse("2027-02-28T23:00:00Z").toEpochMilli(), 600_000)).reason());
    }

    @Test
    @DisplayName("GIVEN the built-in DEMO license WHEN verified with the DEMO key for turnstile-demo THEN it verifies, "
            + "and it is refused wherever the DEMO key is not allowed")
    void the_demo_license_is_signed_by_the_demo_key() throws Exception {
        String text;
        try (InputStream in = LicenseService.class.getResourceAsStream(LicenseService.DEMO_LICENSE_RESOURCE)) {
            text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        LicenseDocument d = new LicenseVerifier(LicenseKeys.demoPublicKey(), "turnstile-demo", true).verify(text);
        assertTrue(d.isDemo());
        assertEquals(2, d.entitlements().size());
        assertEquals(LicenseException.Reason.DEMO_KEY_REFUSED, assertThrows(LicenseException.class,
                () -> new LicenseVerifier(LicenseKeys.demoPublicKey(), "turnstile-demo", false).verify(text)).reason());
        assertTrue(LicenseKeys.isDemo(LicenseKeys.parsePublicKey(LicenseKeys.toPem(LicenseKeys.demoPublicKey()))));
        assertEquals(false, LicenseKeys.isDemo(vendor.getPublic()));
    }
}
