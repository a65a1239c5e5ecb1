package dev.turnstile.appliance.http;

import dev.turnstile.appliance.config.ConfigKey;
import dev.turnstile.appliance.config.ConfigReader;
import dev.turnstile.appliance.config.ConfigSection;
import dev.turnstile.appliance.config.ServerConfig;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code http:} section: status page, admin API, health and metrics (appliance/HTTP.md).
 * <pre>
 * http:
 *   enabled: true
 *   host: "127.0.0.1"                  # the default: loopback only; "0.0.0.0" opens it to the network
 *   port: 8080
 *   api_token: "${LOCAL_API_TOKEN:-}"  # bearer token for every mutating call, and for reads unless read_open
 *   read_open: false                   # the default: reads (page data, leases, /metrics) need the token too;
 *                                      # true opens them (warned about on a non-loopback host)
 *   max_body: 1048576                  # bytes; a larger request body is refused with 413
 *   history_interval: "10s"            # one sample of seats in use per product this often (the page's chart; sampled with http off too)
 *   history_window: "1h"               # how much of it is kept (a ring buffer)
 *   live_interval: "1s"                # how often the page's event stream pushes the status
 *   tls: { enabled: false, cert: "/etc/turnstile/http.pem", key: "/etc/turnstile/http.key" }
 * </pre>
 */
public record HttpConfig(boolean enabled, String host, int port, String apiToken, boolean readOpen, long maxBodyBytes,
                         ServerConfig.TlsConfig tls, long historyIntervalMs, long historyWindowMs, long liveIntervalMs) {
    public static final int DEFAULT_PORT = 8080;
    /** Loopback: the admin page and API are not on the network unless the admin says so. */
    public static final String DEFAULT_HOST = "127.0.0.1";
    /** Reads (leases with their client and hardware ids, status, metrics) need the token unless opened. */
    public static final boolean DEFAULT_READ_OPEN = false;
    public static final long DEFAULT_MAX_BODY = 1_048_576;
    public static final long DEFAULT_HISTORY_INTERVAL_MS = 10_000;
    public static final long DEFAULT_HISTORY_WINDOW_MS = 3_600_000;
    public static final long DEFAULT_LIVE_INTERVAL_MS = 1_000;
    /** The ring buffer holds at most this many samples (window / interval). */
    public static final long MAX_HISTORY_SAMPLES = 8_640;

    public HttpConfig {
        if (historyIntervalMs <= 0 || historyWindowMs < historyIntervalMs || liveIntervalMs <= 0) {
            throw new IllegalArgumentException("history_interval, history_window and live_interval must be positive,"
                    + " with the window at least one interval");
        }
    }

    public static final ConfigKey HTTP = ConfigKey.mapping("http",
            "The status page, admin API, health checks and /metrics (appliance/HTTP.md).");
    public static final ConfigKey ENABLED = ConfigKey.bool("http.enabled", false, "true when the http: section is "
            + "present", "Serve HTTP at all");
    public static final ConfigKey HOST = ConfigKey.string("http.host", DEFAULT_HOST,
            "Address the HTTP listener binds: loopback by default; 0.0.0.0 serves the page to the network");
    public static final ConfigKey PORT = ConfigKey.integer("http.port", DEFAULT_PORT, 0, 65_535,
            "TCP port of the HTTP listener; 0 takes a free port and logs it");
    public static final ConfigKey API_TOKEN = ConfigKey.secret("http.api_token", "", "empty",
            "Bearer token for every mutating call, and for reads unless http.read_open; empty: reads and the admin "
                    + "API are refused (403). Write `\"${LOCAL_API_TOKEN}\"`");
    public static final ConfigKey READ_OPEN = ConfigKey.bool("http.read_open", DEFAULT_READ_OPEN,
            "Reads (page data, leases with client and hardware ids, status, /metrics) need no token; warned about "
                    + "on a host that is not loopback");
    public static final ConfigKey MAX_BODY = ConfigKey.integer("http.max_body", DEFAULT_MAX_BODY, 1_024,
            64L * 1024 * 1024, "Largest request body in bytes; a larger one is refused with 413");
    public static final ServerConfig.TlsConfig.Keys TLS = ServerConfig.TlsConfig.keys("http.tls", "the status page and API");
    public static final ConfigKey HISTORY_INTERVAL = ConfigKey.duration("http.history_interval",
            DEFAULT_HISTORY_INTERVAL_MS, 100, 3_600_000, "One sample of seats in use per product this often (the "
                    + "page's chart, /v1/history; sampled by metrics, also with http.enabled: false)");
    public static final ConfigKey HISTORY_WINDOW = ConfigKey.duration("http.history_window", DEFAULT_HISTORY_WINDOW_MS,
            1_000, 7 * 86_400_000L, "How much history is kept: between 1 and " + MAX_HISTORY_SAMPLES
                    + " times http.history_interval");
    public static final ConfigKey LIVE_INTERVAL = ConfigKey.duration("http.live_interval", DEFAULT_LIVE_INTERVAL_MS,
            100, 60_000, "How often the page's event stream pushes the status");

    public static ConfigSection section() {
        List<ConfigKey> keys = new ArrayList<>(List.of(ENABLED, HOST, PORT, API_TOKEN, READ_OPEN, MAX_BODY));
        keys.addAll(TLS.all());
        keys.addAll(List.of(HISTORY_INTERVAL, HISTORY_WINDOW, LIVE_INTERVAL));
        return new ConfigSection(HTTP, "Changes need a restart.", keys);
    }

    public static HttpConfig bind(JsonObject o, ConfigReader r) {
        boolean present = !o.isEmpty();
        long interval = r.durationMs(o, HISTORY_INTERVAL);
        long window = r.durationMs(o, HISTORY_WINDOW);
        if (window < interval || window / interval > MAX_HISTORY_SAMPLES) {
            r.problem("http.history_window: expected between one and " + MAX_HISTORY_SAMPLES + " times http.history_interval ("
                    + ConfigReader.formatMs(interval) + "), got " + ConfigReader.formatMs(window));
            interval = DEFAULT_HISTORY_INTERVAL_MS;
            window = DEFAULT_HISTORY_WINDOW_MS;
        }
        return new HttpConfig(
                r.boolOr(o, ENABLED, present),
                r.string(o, HOST),
                (int) r.integer(o, PORT),
                r.string(o, API_TOKEN),
                r.bool(o, READ_OPEN),
                r.integer(o, MAX_BODY),
                ServerConfig.TlsConfig.bind(o, r, TLS),
                interval, window,
                r.durationMs(o, LIVE_INTERVAL));
    }

    /** Samples the history ring buffer holds. */
    public int historySamples() {
        return (int) Math.max(1, historyWindowMs / historyIntervalMs);
    }

    @Override
    public String toString() {
        return "HttpConfig[enabled=" + enabled + ", host=" + host + ", port=" + port + ", apiToken="
                + (apiToken.isEmpty() ? "none" : "***") + ", readOpen=" + readOpen + ", tls=" + tls.enabled() + "]";
    }
}
