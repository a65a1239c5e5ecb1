package dev.turnstile.appliance.config;

import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;

/**
 * The {@code clients:} section: who may open a session. The auth token comes from the
 * environment (e.g. {@code auth_token: "${TURNSTILE_CLIENT_TOKEN}"}), never from the repository,
 * and is compared in constant time.
 */
public record ClientPolicy(String authToken, String minVersion, List<String> allowedVersions) {

    public static final ConfigKey CLIENTS = ConfigKey.mapping("clients", "Who may open a session.");
    public static final ConfigKey AUTH_TOKEN = ConfigKey.secret("clients.auth_token", "", "empty",
            "Token every HELLO must present (compared in constant time); empty: none required, warned about when "
                    + "server.host is reachable from the network. Write `\"${TURNSTILE_CLIENT_TOKEN}\"`");
    public static final ConfigKey MIN_VERSION = ConfigKey.string("clients.min_version", "",
            "Lowest client version accepted (dotted, compared part by part); empty: any");
    public static final ConfigKey ALLOWED_VERSIONS = ConfigKey.strings("clients.allowed_versions",
            "Client versions accepted: exact entries, or prefixes ending in *; empty: any");

    public static ConfigSection section() {
        return ConfigSection.of(CLIENTS, "Reloadable: a reload applies a changed token or version rule to new "
                + "sessions.", AUTH_TOKEN, MIN_VERSION, ALLOWED_VERSIONS);
    }

    public static ClientPolicy bind(JsonObject o, ConfigReader r) {
        String min = r.string(o, MIN_VERSION);
        if (!min.isEmpty() && !min.matches("[0-9A-Za-z.+-]{1,64}")) {
            r.problem("clients.min_version", "a version like 1.2.0", min);
        }
        return new ClientPolicy(r.string(o, AUTH_TOKEN), min, r.strings(o, ALLOWED_VERSIONS));
    }

    public boolean requiresToken() {
        return !authToken.isEmpty();
    }

    /** Constant-time comparison: the time taken does not depend on where the tokens differ. */
    public boolean tokenMatches(String presented) {
        byte[] a = authToken.getBytes(StandardCharsets.UTF_8);
        byte[] b = presented.getBytes(StandardCharsets.UTF_8);
        return MessageDigest.isEqual(a, b);
    }

    /**
     * True when {@code version} passes the allow-list (exact entries, or prefixes ending in
     * {@code *}) and the minimum.
     */
    public boolean versionAllowed(String version) {
        if (!allowedVersions.isEmpty()) {
            boolean listed = false;
            for (String a : allowedVersions) {
                if (a.endsWith("*") ? version.startsWith(a.substring(0, a.length() - 1)) : version.equals(a)) {
                    listed = true;
                    break;
                }
            }
            if (!listed) {
                return false;
            }
        }
        return minVersion.isEmpty() || compareVersions(version, minVersion) >= 0;
    }

    /** Compares dotted versions numerically part by part; non-numeric parts compare as text. */
    public static int compareVersions(String a, String b) {
        String[] pa = a.split("[.+-]");
        String[] pb = b.split("[.+-]");
        for (int i = 0; i < Math.max(pa.length, pb.length); i++) {
            String x = i < pa.length ? pa[i] : "0";
            String y = i < pb.length ? pb[i] : "0";
            int c;
            if (x.matches("\\d{1,9}") && y.matches("\\d{1,9}")) {
                c = Integer.compare(Integer.parseInt(x), Integer.parseInt(y));
            } else {
                c = x.compareTo(y);
            }
            if (c != 0) {
                return c;
            }
        }
        return 0;
    }

    @Override
    public String toString() {
        return "ClientPolicy[authToken=" + (authToken.isEmpty() ? "none" : "***") + ", minVersion=" + minVersion
                + ", allowedVersions=" + allowedVersions + "]";
    }
}
