package dev.turnstile.appliance.license;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.Signature;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Base64;
import java.util.Objects;

/**
 * Checks license documents (appliance/LICENSE.md, "Verification"): the format, the Ed25519
 * signature over the canonical payload with the configured vendor key, the payload's fields, the
 * appliance identity, the DEMO rule. Time-dependent rules (expired, issued in the future) are
 * {@link #checkTime separate}, so an expired document can still be shown for what it is.
 *
 * <p>Immutable and thread-safe; a verification costs one Ed25519 verify (tens of microseconds),
 * fine on any thread.
 */
public final class LicenseVerifier {
    private final PublicKey publicKey;
    private final String localServerId;
    private final boolean allowDemoKey;

    public LicenseVerifier(PublicKey publicKey, String localServerId, boolean allowDemoKey) {
        this.publicKey = Objects.requireNonNull(publicKey, "publicKey");
        this.localServerId = Objects.requireNonNull(localServerId, "localServerId");
        this.allowDemoKey = allowDemoKey;
    }

    public String localServerId() {
        return localServerId;
    }

    /** Parses {@code text} strictly (see {@link CanonicalJson#parse}) and {@link #verify(JsonObject) verifies} it. */
    public LicenseDocument verify(String text) throws LicenseException {
        JsonObject doc;
        try {
            doc = CanonicalJson.parseObject(text);
        } catch (IllegalArgumentException e) {
            throw new LicenseException(LicenseException.Reason.MALFORMED, "the license is not a JSON object: " + e.getMessage());
        }
        return verify(doc);
    }

    /**
     * Verifies signature and content. A bad signature is always an error, never a warning.
     *
     * @throws LicenseException saying which rule failed
     */
    public LicenseDocument verify(JsonObject doc) throws LicenseException {
        if (doc == null) {
            throw malformed("no license document");
        }
        Object format = doc.getValue("format");
        if (!LicenseDocument.FORMAT.equals(format)) {
            throw malformed("format must be \"" + LicenseDocument.FORMAT + "\", got " + format);
        }
        if (!(doc.getValue("payload") instanceof JsonObject payload)) {
            throw malformed("payload must be an object");
        }
        if (!(doc.getValue("signature") instanceof String sigText)) {
            throw malformed("signature must be a base64 string");
        }
        byte[] sig;
        try {
            sig = Base64.getDecoder().decode(sigText);
        } catch (IllegalArgumentException e) {
            throw new LicenseException(LicenseException.Reason.BAD_SIGNATURE, "the signature is not base64");
        }
        if (sig.length != 64) {
            throw new LicenseException(LicenseException.Reason.BAD_SIGNATURE,
                    "an Ed25519 signature has 64 bytes, this one " + sig.length);
        }
        byte[] signed;
        try {
            signed = CanonicalJson.bytes(payload);
        } catch (IllegalArgumentException e) {
            throw malformed("the payload has no canonical form: " + e.getMessage());
        }
        boolean ok;
        try {
            Signature v = Signature.getInstance("Ed25519");
            v.initVerify(publicKey);
            v.update(signed);
            ok = v.verify(sig);
        } catch (GeneralSecurityException e) {
            ok = false;
        }
        if (!ok) {
            throw new LicenseException(LicenseException.Reason.BAD_SIGNATURE,
                    "the signature does not verify with the configured public key (fingerprint "
                            + LicenseKeys.fingerprint(publicKey) + ")");
        }
        String licenseId = requiredString(payload, "license_id");
        String keyId = requiredString(payload, "key_id");
        String server = requiredString(payload, "local_server_id");
        Instant issued = instant(payload, "issued_at");
        Instant until = instant(payload, "valid_until");
        if (!until.isAfter(issued)) {
            throw malformed("valid_until (" + until + ") is not after issued_at (" + issued + ")");
        }
        if (!(payload.getValue("entitlements") instanceof JsonArray ents)) {
            throw malformed("entitlements must be a list");
        }
        for (int i = 0; i < ents.size(); i++) {
            if (!(ents.getValue(i) instanceof JsonObject)) {
                throw malformed("entitlements[" + i + "] must be an object");
            }
        }
        String token = optionalString(payload, "sync_token");
        String changesDigest = optionalString(payload, "changes_digest");
        if (LicenseKeys.DEMO_NAME.equals(keyId) && !allowDemoKey) {
            throw new LicenseException(LicenseException.Reason.DEMO_KEY_REFUSED,
                    "the license is signed with the DEMO key, which only the demo configuration accepts");
        }
        if (!server.equals(localServerId)) {
            throw new LicenseException(LicenseException.Reason.WRONG_SERVER,
                    "the license is for appliance '" + server + "', this one is '" + localServerId + "'");
        }
        return new LicenseDocument(licenseId, keyId, server, issued, until, ents.copy(), token, changesDigest,
                doc.copy());
    }

    /**
     * The time rules: refused when its validity has ended at {@code nowMs}, or when it was issued
     * more than {@code maxSkewMs} in the future (a clock that is wrong by days is a problem to
     * fix, not to paper over).
     */
    public static void checkTime(LicenseDocument d, long nowMs, long maxSkewMs) throws LicenseException {
        if (d.validUntil().toEpochMilli() <= nowMs) {
            throw new LicenseException(LicenseException.Reason.EXPIRED,
                    "the license " + d.licenseId() + " expired at " + d.validUntil());
        }
        if (d.issuedAt().toEpochMilli() > nowMs + maxSkewMs) {
            throw new LicenseException(LicenseException.Reason.ISSUED_IN_FUTURE,
                    "the license " + d.licenseId() + " was issued at " + d.issuedAt() + ", after this appliance's time "
                            + Instant.ofEpochMilli(nowMs) + ": check the clock");
        }
    }

    private static LicenseException malformed(String why) {
        return new LicenseException(LicenseException.Reason.MALFORMED, "malformed license: " + why);
    }

    private static String requiredString(JsonObject o, String key) throws LicenseException {
        Object v = o.getValue(key);
        if (!(v instanceof String s) || s.isEmpty()) {
            throw malformed("payload." + key + " must be a non-empty string");
        }
        return s;
    }

    private static String optionalString(JsonObject o, String key) throws LicenseException {
        Object v = o.getValue(key);
        if (v == null) {
            return null;
        }
        if (!(v instanceof String s)) {
            throw malformed("payload." + key + " must be a string or null");
        }
        return s;
    }

    private static Instant instant(JsonObject o, String key) throws LicenseException {
        String s = requiredString(o, key);
        try {
            return Instant.parse(s);
        } catch (DateTimeParseException e) {
            throw malformed("payload." + key + " must be an ISO-8601 instant like 2026-01-01T00:00:00Z, got '" + s + "'");
        }
    }
}
