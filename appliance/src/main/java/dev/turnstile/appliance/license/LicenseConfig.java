package dev.turnstile.appliance.license;

import dev.turnstile.appliance.config.ConfigKey;
import dev.turnstile.appliance.config.ConfigReader;
import dev.turnstile.appliance.config.ConfigSection;
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

    public static final ConfigKey LICENSE = ConfigKey.mapping("license",
            "The vendor's signed license: its key, the installed file and what happens when validity ends "
                    + "(appliance/LICENSE.md).");
    public static final ConfigKey PUBLIC_KEY = ConfigKey.string("license.public_key", null, "required",
            "The vendor's Ed25519 public key: a PEM file path, PEM text or base64");
    public static final ConfigKey ALLOW_DEMO_KEY = ConfigKey.bool("license.allow_demo_key", false,
            "Accept the built-in DEMO key (public_key: \"DEMO\"); only the demo configuration sets it");
    public static final ConfigKey FILE = ConfigKey.string("license.file", DEFAULT_FILE,
            "The installed license, written by sync and by import-license");
    public static final ConfigKey LOCAL_SERVER_ID = ConfigKey.string("license.local_server_id", null,
            "sync.local_server_id, else server.id", "This appliance's id as the license names it");
    public static final ConfigKey EXPIRY_WARNING = ConfigKey.duration("license.expiry_warning",
            DEFAULT_EXPIRY_WARNING_MS, 0, 3_650L * 86_400_000L, "Alert when less validity than this is left");
    public static final ConfigKey ON_EXPIRY = ConfigKey.choice("license.on_expiry", "keep_leases",
            java.util.List.of("keep_leases", "revoke_leases"), "What happens to held leases when validity ends (new "
                    + "checkouts are refused either way): they stay until checked in or expired, or are revoked at once");
    public static final ConfigKey CHECK_INTERVAL = ConfigKey.duration("license.check_interval",
            DEFAULT_CHECK_INTERVAL_MS, 10, 3_600_000L, "How often validity is checked and the file re-read");
    public static final ConfigKey MAX_CLOCK_SKEW = ConfigKey.duration("license.max_clock_skew",
            DEFAULT_MAX_CLOCK_SKEW_MS, 0, 7L * 86_400_000L, "A license issued further in the future than this is refused");

    public static ConfigSection section() {
        return ConfigSection.of(LICENSE, "The section is on when present, or when sync.enabled is true (sync needs "
                + "the key). Without either, licensing is off and the entitlements of the file are served as they are.",
                PUBLIC_KEY, ALLOW_DEMO_KEY, FILE, LOCAL_SERVER_ID, EXPIRY_WARNING, ON_EXPIRY, CHECK_INTERVAL,
                MAX_CLOCK_SKEW);
    }

    /**
     * Binds the {@code license:} section of {@code root} (the whole tree) on its own (import-license, tests); problems
     * go to {@code r}. {@code sync.enabled}, {@code sync.local_server_id} and {@code server.id} are read as they are:
     * their own sections validate them.
     */
    public static LicenseConfig bind(JsonObject root, ConfigReader r) {
        JsonObject sync = root.getValue("sync") instanceof JsonObject s ? s : new JsonObject();
        JsonObject server = root.getValue("server") instanceof JsonObject s ? s : new JsonObject();
        boolean syncOn = "true".equalsIgnoreCase(String.valueOf(sync.getValue("enabled")).trim())
                || "yes".equalsIgnoreCase(String.valueOf(sync.getValue("enabled")).trim())
                || "on".equalsIgnoreCase(String.valueOf(sync.getValue("enabled")).trim());
        String defaultId = sync.getValue("local_server_id") instanceof String id && !id.isBlank() ? id
                : server.getValue("id") instanceof String id2 ? id2
                : dev.turnstile.appliance.config.ServerConfig.DEFAULT_ID;
        return bind(root, r, syncOn, defaultId);
    }

    /**
     * Binds {@code license:} of {@code root}, given what the other sections say: whether sync is on (it needs the key)
     * and the id {@code license.local_server_id} defaults to.
     */
    public static LicenseConfig bind(JsonObject root, ConfigReader r, boolean syncOn, String defaultLocalId) {
        Object section = r.value(root, LICENSE);
        if (section == null && !syncOn) {
            return disabled();
        }
        JsonObject o = r.object(root, LICENSE);
        String keyText = r.string(o, PUBLIC_KEY);
        boolean allowDemo = r.bool(o, ALLOW_DEMO_KEY);
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
        String fileText = r.string(o, FILE);
        Path file = Path.of(DEFAULT_FILE);
        try {
            file = Path.of(fileText);
        } catch (RuntimeException e) {
            r.problem("license.file", "a file path", fileText);
        }
        String localId = r.stringOr(o, LOCAL_SERVER_ID, null, defaultLocalId);
        long warning = r.durationMs(o, EXPIRY_WARNING);
        String onExpiryText = r.string(o, ON_EXPIRY);
        OnExpiry onExpiry = OnExpiry.KEEP_LEASES;
        String normalized = onExpiryText.trim().toLowerCase(Locale.ROOT).replace('-', '_');
        if (normalized.equals("revoke_leases")) {
            onExpiry = OnExpiry.REVOKE_LEASES;
        } else if (!normalized.equals("keep_leases")) {
            r.problem("license.on_expiry", "keep_leases or revoke_leases", onExpiryText);
        }
        long check = r.durationMs(o, CHECK_INTERVAL);
        long skew = r.durationMs(o, MAX_CLOCK_SKEW);
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
