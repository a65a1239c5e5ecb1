package dev.turnstile.appliance.license;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.Objects;

/**
 * A verified license document (appliance/LICENSE.md): who it is for, what it grants, until when.
 * Only {@link LicenseVerifier} makes these, after the signature checked out.
 *
 * @param licenseId     the vendor's id of this document
 * @param keyId         the signing key's name ({@code DEMO} for the demo key)
 * @param localServerId the appliance it was signed for
 * @param issuedAt      when the vendor signed it
 * @param validUntil    the first instant it no longer licenses anything
 * @param entitlements  every entitlement of the appliance as the vendor sees it (full objects)
 * @param syncToken     the sync token of the cloud answer it came with, or {@code null} (a file)
 * @param changesDigest {@code sha256:...} of the canonical {@code changes} of that answer, or {@code null}
 * @param document      the whole document as received ({@code format}, {@code payload}, {@code signature})
 */
public record LicenseDocument(String licenseId, String keyId, String localServerId, Instant issuedAt,
                              Instant validUntil, JsonArray entitlements, String syncToken, String changesDigest,
                              JsonObject document) {
    /** The {@code format} value of version 1 documents. */
    public static final String FORMAT = "turnstile-license/1";

    public LicenseDocument {
        Objects.requireNonNull(licenseId, "licenseId");
        Objects.requireNonNull(issuedAt, "issuedAt");
        Objects.requireNonNull(validUntil, "validUntil");
        Objects.requireNonNull(document, "document");
    }

    public boolean isDemo() {
        return LicenseKeys.DEMO_NAME.equals(keyId);
    }

    /** Milliseconds of validity left at {@code nowMs} (negative once it ended). */
    public long remainingMs(long nowMs) {
        return validUntil.toEpochMilli() - nowMs;
    }

    /** The document as pretty JSON text, as it is stored in the license file. */
    public String toFileText() {
        return document.encodePrettily() + "\n";
    }

    /** Summary for logs and the status page (no entitlement details). */
    public JsonObject summary() {
        return new JsonObject()
                .put("license_id", licenseId)
                .put("key_id", keyId)
                .put("local_server_id", localServerId)
                .put("issued_at", issuedAt.toString())
                .put("valid_until", validUntil.toString())
                .put("entitlements", entitlements.size())
                .put("demo", isDemo());
    }
}
