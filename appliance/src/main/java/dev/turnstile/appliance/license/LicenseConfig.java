package dev.turnstile.appliance.license;

import dev.turnstile.appliance.config.ConfigReader;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.Locale;

/**
 * The {@code license:} section (appliance/LICENSE.md, "Configuration").
 * <pre>
 * license:
 *   public_key: "/etc/turnstile/vendor-public-key.pem"  # the vendor's Ed25519 key: PEM file, PEM text or base64
 *   file: "data/license.json"        # the installed license (written by sync and by imports)
 *   expiry_warning: "7d"             # alert when less validity than this is left
 *   on_expiry: "keep_leases"         # or revoke_leases: what happens to held leases when validity ends
 *   check_interval: "10s"            # how often validity is checked and the file re-read
 *   max_clock_skew: "10m"            # a license issued further in the future is refused
 *   local_server_id: ...             # default: sync.local_server_id, else server.id
 *   allow_demo_key: false            # only the demo configuration sets this (public_key: "DEMO")
 * </pre>
 * The section is on when present, or when {@code sync.enabled} is true (sync needs the key).
 *
 * @param publicKeyText the configured text, {@code "DEMO"}, PEM, base64 or a file path
 * @param publicKey     the parsed key when given inline (PEM, base64, DEMO); {@code null} for a file path
 */
public record LicenseConfig(boolean enabled, String publicKeyText, PublicKey publicKey, boolean allowDemoKey,
                            Path file, String localServerId, long expiryWarningMs, OnExpiry onExpiry,
                            long checkIntervalMs, long maxClockSkewMs) {

    public static final String DEFAULT_FILE = "data/license.json";
    public static final long DEFAULT_EXPIRY_WARNING_MS = 7L * 86_400_000L;
    public static final long DEFAULT_CHECK_INTERVAL_MS = 10_000;
    public static final long DEFAULT_MAX_CLOCK_SKEW_MS = 10L * 60_000L;

    /** What happens to held leases when the license's validity ends (new checkouts are refused either way). */
    public enum OnExpiry {
        /** Held leases stay until checked in or expired; only new checkouts are refused (the default). */
        KEEP_LEASES,
        /** Every held lease is revoked at once; clients get NOTICE LEASE_REVOKED. */
        REVOKE_LEASES;

        public String configName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** A configuration with licensing off (no {@code license:} section, sync disabled). */
    public static LicenseConfig disabled() {
        return new LicenseConfig(false, null, null, false, Path.of(DEFAULT_FILE), "", DEFAULT_EXPIRY_WARNING_MS,
                OnExpiry.KEEP_LEASES, DEFAULT_CHECK_INTERVAL_MS, DEFAULT_MAX_CLOCK_SKEW_MS);
    }

    /** Binds the {@code license:} section of {@code root} (the whole tree); problems go to {@code r}. */
    public static LicenseConfig bind(JsonObject root, ConfigReader r) {
        Object section = r.value(root, "license", "license");
        JsonObject sync = root.getValue("sync") instanceof JsonObject s ? s : new JsonObject();
        boolean syncOn = r.bool(sync, "enabled", "sync.enabled", false);
        if (section == null && !syncOn) {
            return disabled();
        }
        JsonObject o = r.object(root, "license", "license");
        String keyText = r.string(o, "public_key", "license.public_key", null);
        boolean allowDemo = r.bool(o, "allow_demo_key", "license.allow_demo_key", false);
        PublicKey key = null;
        if (keyText == null || keyText.isBlank()) {
            r.problem("license.public_key", "the vendor's Ed25519 public key (PEM file path, PEM text or base64)"
                    + (syncOn ? "; sync.enabled needs it to verify what the cloud sends" : ""), keyText);
        } else if (keyText.trim().equals(LicenseKeys.DEMO_NAME)) {
            key = LicenseKeys.demoPublicKey();
        } else if (looksInline(keyText)) {
            try {
                key = LicenseKeys.parsePublicKey(keyText);
            } catch (IllegalArgumentException e) {
                r.problem("license.public_key", "an Ed25519 public key (" + e.getMessage() + ")", abbreviate(keyText));
            }
        }
        if (key != null && LicenseKeys.isDemo(key) && !allowDemo) {
            r.problem("license.public_key", "the vendor's public key; the DEMO key is refused outside the demo "
                    + "configuration (which sets license.allow_demo_key: true)", "the DEMO key");
        }
        String fileText = r.string(o, "file", "license.file", DEFAULT_FILE);
        Path file = Path.of(DEFAULT_FILE);
        try {
            file = Path.of(fileText);
        } catch (RuntimeException e) {
            r.problem("license.file", "a file path", fileText);
        }
        JsonObject server = root.getValue("server") instanceof JsonObject s ? s : new JsonObject();
        String defaultId = r.string(sync, "local_server_id", "sync.local_server_id", null);
        if (defaultId == null || defaultId.isBlank()) {
            defaultId = r.string(server, "id", "server.id", "");
        }
        String localId = r.string(o, "local_server_id", "license.local_server_id", defaultId);
        long warning = r.durationMs(o, "expiry_warning", "license.expiry_warning", DEFAULT_EXPIRY_WARNING_MS, 0,
                3_650L * 86_400_000L);
        String onExpiryText = r.string(o, "on_expiry", "license.on_expiry", "keep_leases");
        OnExpiry onExpiry = OnExpiry.KEEP_LEASES;
        String normalized = onExpiryText.trim().toLowerCase(Locale.ROOT).replace('-', '_');
        if (normalized.equals("revoke_leases")) {
            onExpiry = OnExpiry.REVOKE_LEASES;
        } else if (!normalized.equals("keep_leases")) {
            r.problem("license.on_expiry", "keep_leases or revoke_leases", onExpiryText);
        }
        long check = r.durationMs(o, "check_interval", "license.check_interval", DEFAULT_CHECK_INTERVAL_MS, 10,
                3_600_000L);
        long skew = r.durationMs(o, "max_clock_skew", "license.max_clock_skew", DEFAULT_MAX_CLOCK_SKEW_MS, 0,
                7L * 86_400_000L);
        return new LicenseConfig(true, keyText, key, allowDemo, file, localId, warning, onExpiry, check, skew);
    }

    /** A value that is the key itself rather than the path of a file holding it. */
    static boolean looksInline(String text) {
        String t = text.trim();
        if (t.startsWith("-----BEGIN")) {
            return true;
        }
        if (t.startsWith("/") || t.startsWith("./") || t.startsWith("../") || t.endsWith(".pem") || t.endsWith(".pub")) {
            return false;
        }
        return t.matches("[A-Za-z0-9+/=\\s]{40,}");
    }

    private static String abbreviate(String s) {
        String t = s.trim();
        return t.length() > 24 ? t.substring(0, 24) + "..." : t;
    }

    /** Never prints key material beyond its fingerprint. */
    @Override
    public String toString() {
        return "LicenseConfig[enabled=" + enabled + ", key=" + (publicKey == null ? publicKeyText : LicenseKeys.fingerprint(publicKey))
                + ", file=" + file + ", local_server_id=" + localServerId + ", on_expiry=" + onExpiry.configName() + "]";
    }
}
