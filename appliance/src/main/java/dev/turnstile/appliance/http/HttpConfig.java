package dev.turnstile.appliance.http;

import dev.turnstile.appliance.config.ConfigReader;
import dev.turnstile.appliance.config.ServerConfig;
import io.vertx.core.json.JsonObject;

/**
 * The {@code http:} section: status page, admin API, health and metrics.
 * <pre>
 * http:
 *   enabled: true
 *   host: "0.0.0.0"
 *   port: 8080
 *   api_token: "${LOCAL_API_TOKEN:-}"  # bearer token for every mutating call (and reads unless open)
 *   read_open: true                    # read calls need no token (trusted plant LAN)
 *   max_body: 1048576                  # bytes
 *   tls: { enabled: false, cert: "/etc/turnstile/http.pem", key: "/etc/turnstile/http.key" }
 * </pre>
 */
public record HttpConfig(boolean enabled, String host, int port, String apiToken, boolean readOpen, long maxBodyBytes,
                         ServerConfig.TlsConfig tls) {
    public static final int DEFAULT_PORT = 8080;
    public static final long DEFAULT_MAX_BODY = 1_048_576;

    public static HttpConfig bind(JsonObject o, ConfigReader r) {
        boolean present = !o.isEmpty();
        return new HttpConfig(
                r.bool(o, "enabled", "http.enabled", present),
                r.string(o, "host", "http.host", "0.0.0.0"),
                (int) r.integer(o, "port", "http.port", DEFAULT_PORT, 0, 65_535),
                r.string(o, "api_token", "http.api_token", ""),
                r.bool(o, "read_open", "http.read_open", true),
                r.integer(o, "max_body", "http.max_body", DEFAULT_MAX_BODY, 1_024, 64L * 1024 * 1024),
                ServerConfig.TlsConfig.bind(r.object(o, "tls", "http.tls"), r, "http.tls"));
    }

    @Override
    public String toString() {
        return "HttpConfig[enabled=" + enabled + ", host=" + host + ", port=" + port + ", apiToken="
                + (apiToken.isEmpty() ? "none" : "***") + ", readOpen=" + readOpen + "]";
    }
}
