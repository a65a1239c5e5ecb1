package dev.turnstile.appliance.sync;

import dev.turnstile.appliance.config.ConfigKey;
import dev.turnstile.appliance.config.ConfigReader;
import dev.turnstile.appliance.config.ConfigSection;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.nio.file.Path;
import java.time.ZoneId;
import java.util.List;
import java.util.Locale;

/**
 * The {@code sync:} section (appliance/SYNC.md, "Configuration"), bound and validated; every
 * problem names its key.
 * <pre>
 * sync:
 *   enabled: true
 *   cloud_server_url: "https://cloud.example.com"
 *   local_server_id: "local-server-abc123"
 *   schedule:
 *     enabled: true
 *     interval: "1h"          # or
 *     cron: null              # e.g. "0 * * * *" (five fields, UNIX cron; wins over interval when set)
 *     timezone: "UTC"         # for cron; default: the machine's zone
 *   conflict_resolution: "cloud_wins"   # cloud_wins, local_wins, merge, manual
 *   authentication:
 *     method: "bearer_token"            # or mtls
 *     token: "${SYNC_TOKEN}"
 *     cert: "/etc/turnstile/sync-client.pem"   # mtls: client certificate chain (PEM)
 *     key: "/etc/turnstile/sync-client.key"    # mtls: its private key (PEM)
 *     ca: "/etc/turnstile/cloud-ca.pem"        # optional: trust only this CA for the cloud
 *   retry:
 *     max_attempts: 5
 *     initial_delay_seconds: 1
 *     max_delay_seconds: 300
 *   circuit_breaker:
 *     max_failures: 5         # failed calls before the breaker opens
 *     reset_timeout: "60s"    # open this long, then half-open: one trial call
 *     call_timeout: "30s"     # one HTTP exchange at most this long
 *   alerts:
 *     repeated_failures: 3    # failed syncs in a row before the repeated-failures alert
 *     conflicts: 10           # pending conflicts (or conflicts in one sync) before the conflict alert
 *   urgent_min_interval: "5m" # urgent syncs (see SYNC.md) at most this often
 *   state_dir: "data"         # file-backed sync state when no store: section is configured
 * </pre>
 */
public record SyncConfig(boolean enabled, String cloudServerUrl, String localServerId, Schedule schedule,
                         ConflictPolicy conflictResolution, Authentication authentication, Retry retry,
                         Breaker breaker, int repeatedFailuresAlert, int conflictsAlert, long urgentMinIntervalMs,
                         Path stateDir) {

    public static final String DEFAULT_STATE_DIR = "data";

    /** When syncs run on their own. {@code cronExpression} wins over {@code intervalMs} when set. */
    public record Schedule(boolean enabled, long intervalMs, String cronExpression, ZoneId zone) {
    }

    /** How the appliance proves itself to the cloud. */
    public record Authentication(Method method, String token, String certPath, String keyPath, String caPath) {
        public enum Method {
            BEARER_TOKEN, MTLS
        }

        @Override
        public String toString() {
            return "Authentication[" + method.name().toLowerCase(Locale.ROOT) + (token == null || token.isEmpty() ? "" : ", token=***")
                    + (certPath == null ? "" : ", cert=" + certPath) + "]";
        }
    }

    /** Retries of one sync: exponential backoff with jitter. */
    public record Retry(int maxAttempts, long initialDelayMs, long maxDelayMs) {
    }

    /** The vertx-circuit-breaker around every call to the cloud. */
    public record Breaker(int maxFailures, long resetTimeoutMs, long callTimeoutMs) {
    }

    /** The longest failure window the breaker is given (vertx-circuit-breaker keeps one map entry per second of it). */
    public static final long MAX_BREAKER_FAILURE_WINDOW_MS = 86_400_000L;

    /**
     * How far back the breaker counts failed calls (vertx-circuit-breaker's {@code failuresRollingWindow}; its default,
     * 10 s, is shorter than one {@code call_timeout}, so timeouts could never add up to {@code max_failures}). Two
     * failed calls in a row are at most {@code call_timeout} + the longest wait apart: a call fails at the latest
     * {@code call_timeout} after it starts, and the next starts after the retry back-off (at most
     * {@code retry.max_delay_seconds}) or, after a failed sync, with the next sync (at most
     * max({@code retry.max_delay_seconds}, 1 s) later, see SyncService.scheduleNext). So {@code max_failures} failures
     * in a row span at most (max_failures - 1) such gaps; the window is one gap longer, for the library's whole-second
     * buckets: {@code max_failures x (call_timeout + max(max_delay, 1 s))}, whole seconds, at most one day. With the
     * defaults: 5 x (30 s + 300 s) = 1650 s. A success resets the count, so the breaker opens on {@code max_failures}
     * failures in a row, as the schedule spaces them.
     */
    public long breakerFailureWindowMs() {
        long gap = breaker.callTimeoutMs() + Math.max(retry.maxDelayMs(), 1_000L);
        long window = Math.min(MAX_BREAKER_FAILURE_WINDOW_MS, (long) breaker.maxFailures() * gap);
        return Math.max(1_000L, (window + 999) / 1_000 * 1_000);
    }

    public static final ConfigKey SYNC = ConfigKey.mapping("sync",
            "Entitlements from the vendor's cloud over outbound HTTPS, usage reports back (appliance/SYNC.md).");
    public static final ConfigKey ENABLED = ConfigKey.bool("sync.enabled", false,
            "Sync with the cloud; needs license.public_key to verify what the cloud sends");
    public static final ConfigKey CLOUD_SERVER_URL = ConfigKey.string("sync.cloud_server_url", "",
            "The cloud's https:// (or http://) base URL; required when enabled");
    public static final ConfigKey LOCAL_SERVER_ID = ConfigKey.string("sync.local_server_id", "",
            "This appliance's id at the cloud; required when enabled");
    public static final ConfigKey SCHEDULE = ConfigKey.mapping("sync.schedule", "When syncs run on their own");
    public static final ConfigKey SCHEDULE_ENABLED = ConfigKey.bool("sync.schedule.enabled", true,
            "Run syncs on the schedule (else only when asked through the admin API)");
    public static final ConfigKey SCHEDULE_INTERVAL = ConfigKey.duration("sync.schedule.interval", 3_600_000L, 1_000,
            30L * 86_400_000L, "Time between syncs");
    public static final ConfigKey SCHEDULE_CRON = ConfigKey.string("sync.schedule.cron", null,
            "Five-field UNIX cron expression such as `0 * * * *`; wins over interval when set");
    public static final ConfigKey SCHEDULE_TIMEZONE = ConfigKey.string("sync.schedule.timezone", null,
            "the machine's zone", "Time zone of the cron expression, e.g. UTC or Europe/Berlin");
    public static final ConfigKey CONFLICT_RESOLUTION = ConfigKey.choice("sync.conflict_resolution", "cloud_wins",
            List.of("cloud_wins", "local_wins", "merge", "manual"),
            "What happens when the cloud changes an entitlement edited locally (SYNC.md, \"Conflicts\")");
    public static final ConfigKey AUTHENTICATION = ConfigKey.mapping("sync.authentication",
            "How the appliance proves itself to the cloud");
    public static final ConfigKey AUTH_METHOD = ConfigKey.choice("sync.authentication.method", "bearer_token",
            List.of("bearer_token", "mtls"), "A bearer token, or a client certificate (mutual TLS)");
    public static final ConfigKey AUTH_TOKEN = ConfigKey.secret("sync.authentication.token", "", "empty",
            "The bearer token the cloud issued; required for bearer_token when enabled. Write `\"${SYNC_TOKEN}\"`");
    public static final ConfigKey AUTH_CERT = ConfigKey.string("sync.authentication.cert", null,
            "mtls: PEM file of the client certificate chain");
    public static final ConfigKey AUTH_KEY = ConfigKey.string("sync.authentication.key", null,
            "mtls: PEM file of its private key");
    public static final ConfigKey AUTH_CA = ConfigKey.string("sync.authentication.ca", null,
            "none (the JVM's trust store)", "PEM file of the only CA trusted for the cloud");
    public static final ConfigKey RETRY = ConfigKey.mapping("sync.retry",
            "Retries of one sync: exponential backoff with jitter");
    public static final ConfigKey RETRY_MAX_ATTEMPTS = ConfigKey.integer("sync.retry.max_attempts", 5, 1, 100,
            "Attempts of one sync");
    public static final ConfigKey RETRY_INITIAL_DELAY = ConfigKey.seconds("sync.retry.initial_delay_seconds", 1_000, 0,
            86_400, "Wait before the first retry, in seconds");
    public static final ConfigKey RETRY_MAX_DELAY = ConfigKey.seconds("sync.retry.max_delay_seconds", 300_000, 0,
            86_400, "Longest wait between retries, in seconds (at least initial_delay_seconds)");
    public static final ConfigKey BREAKER = ConfigKey.mapping("sync.circuit_breaker",
            "The circuit breaker around every call to the cloud");
    public static final ConfigKey BREAKER_MAX_FAILURES = ConfigKey.integer("sync.circuit_breaker.max_failures", 5, 1,
            1_000, "Failed calls in a row before the breaker opens");
    public static final ConfigKey BREAKER_RESET_TIMEOUT = ConfigKey.duration("sync.circuit_breaker.reset_timeout",
            60_000L, 10, 86_400_000L, "Open this long, then half-open: one trial call");
    public static final ConfigKey BREAKER_CALL_TIMEOUT = ConfigKey.duration("sync.circuit_breaker.call_timeout", 30_000L,
            10, 600_000, "One HTTP exchange at most this long");
    public static final ConfigKey ALERTS = ConfigKey.mapping("sync.alerts", "When sync raises alerts");
    public static final ConfigKey ALERTS_REPEATED_FAILURES = ConfigKey.integer("sync.alerts.repeated_failures", 3, 1,
            1_000, "Failed syncs in a row before the repeated-failures alert");
    public static final ConfigKey ALERTS_CONFLICTS = ConfigKey.integer("sync.alerts.conflicts", 10, 1, 1_000_000,
            "Pending conflicts (or conflicts in one sync) before the conflict alert");
    public static final ConfigKey URGENT_MIN_INTERVAL = ConfigKey.duration("sync.urgent_min_interval", 300_000L, 0,
            86_400_000L, "Urgent syncs (SYNC.md) at most this often");
    public static final ConfigKey STATE_DIR = ConfigKey.string("sync.state_dir", DEFAULT_STATE_DIR,
            "Directory of the file-backed sync state, used when there is no store: section");

    public static ConfigSection section() {
        return ConfigSection.of(SYNC, "Changes need a restart.", ENABLED, CLOUD_SERVER_URL, LOCAL_SERVER_ID, SCHEDULE,
                SCHEDULE_ENABLED, SCHEDULE_INTERVAL, SCHEDULE_CRON, SCHEDULE_TIMEZONE, CONFLICT_RESOLUTION,
                AUTHENTICATION, AUTH_METHOD, AUTH_TOKEN, AUTH_CERT, AUTH_KEY, AUTH_CA, RETRY, RETRY_MAX_ATTEMPTS,
                RETRY_INITIAL_DELAY, RETRY_MAX_DELAY, BREAKER, BREAKER_MAX_FAILURES, BREAKER_RESET_TIMEOUT,
                BREAKER_CALL_TIMEOUT, ALERTS, ALERTS_REPEATED_FAILURES, ALERTS_CONFLICTS, URGENT_MIN_INTERVAL, STATE_DIR);
    }

    /** Binds {@code sync} (the section, possibly empty); problems go to {@code r}. */
    public static SyncConfig bind(JsonObject sync, ConfigReader r) {
        boolean enabled = r.bool(sync, ENABLED);
        String url = r.string(sync, CLOUD_SERVER_URL);
        String localId = r.string(sync, LOCAL_SERVER_ID);
        if (enabled) {
            if (url.isBlank()) {
                r.problem("sync.cloud_server_url", "the cloud's https:// base URL", url);
            } else {
                try {
                    URI u = URI.create(url.trim());
                    if (u.getScheme() == null || !(u.getScheme().equals("https") || u.getScheme().equals("http"))
                            || u.getHost() == null) {
                        r.problem("sync.cloud_server_url", "an https:// (or http://) URL with a host", url);
                    }
                } catch (IllegalArgumentException e) {
                    r.problem("sync.cloud_server_url", "a URL (" + e.getMessage() + ")", url);
                }
            }
            if (localId.isBlank()) {
                r.problem("sync.local_server_id", "this appliance's id at the cloud (a non-empty string)", localId);
            }
        }
        JsonObject s = r.object(sync, SCHEDULE);
        boolean schedOn = r.bool(s, SCHEDULE_ENABLED);
        long interval = r.durationMs(s, SCHEDULE_INTERVAL);
        String cron = r.string(s, SCHEDULE_CRON);
        if (cron != null && cron.isBlank()) {
            cron = null;
        }
        if (cron != null) {
            String problem = SyncSchedule.checkCron(cron);
            if (problem != null) {
                r.problem("sync.schedule.cron", "a five-field UNIX cron expression like \"0 * * * *\" (" + problem + ")", cron);
            }
        }
        String zoneText = r.string(s, SCHEDULE_TIMEZONE);
        ZoneId zone = ZoneId.systemDefault();
        if (zoneText != null) {
            try {
                zone = ZoneId.of(zoneText);
            } catch (RuntimeException e) {
                r.problem("sync.schedule.timezone", "a time zone like UTC or Europe/Berlin", zoneText);
            }
        }
        String policyText = r.string(sync, CONFLICT_RESOLUTION);
        ConflictPolicy policy = ConflictPolicy.ofName(policyText);
        if (policy == null) {
            r.problem("sync.conflict_resolution", "cloud_wins, local_wins, merge or manual", policyText);
            policy = ConflictPolicy.CLOUD_WINS;
        }
        JsonObject a = r.object(sync, AUTHENTICATION);
        String methodText = r.string(a, AUTH_METHOD);
        Authentication.Method method = Authentication.Method.BEARER_TOKEN;
        if (methodText.equals("mtls")) {
            method = Authentication.Method.MTLS;
        } else if (!methodText.equals("bearer_token")) {
            r.problem("sync.authentication.method", "bearer_token or mtls", methodText);
        }
        String token = r.string(a, AUTH_TOKEN);
        String cert = r.string(a, AUTH_CERT);
        String key = r.string(a, AUTH_KEY);
        String ca = r.string(a, AUTH_CA);
        if (enabled && method == Authentication.Method.BEARER_TOKEN && token.isBlank()) {
            r.problem("sync.authentication.token", "the bearer token the cloud issued (set SYNC_TOKEN)", token);
        }
        if (enabled && method == Authentication.Method.MTLS) {
            if (cert == null || cert.isBlank()) {
                r.problem("sync.authentication.cert", "the client certificate PEM file for mtls", cert);
            }
            if (key == null || key.isBlank()) {
                r.problem("sync.authentication.key", "the client private key PEM file for mtls", key);
            }
        }
        JsonObject rt = r.object(sync, RETRY);
        int attempts = (int) r.integer(rt, RETRY_MAX_ATTEMPTS);
        long initial = r.secondsAsMs(rt, RETRY_INITIAL_DELAY);
        long max = r.secondsAsMs(rt, RETRY_MAX_DELAY);
        if (max < initial) {
            r.problem("sync.retry.max_delay_seconds", "at least sync.retry.initial_delay_seconds (" + initial / 1000.0 + ")",
                    max / 1000.0);
        }
        JsonObject b = r.object(sync, BREAKER);
        int maxFailures = (int) r.integer(b, BREAKER_MAX_FAILURES);
        long reset = r.durationMs(b, BREAKER_RESET_TIMEOUT);
        long call = r.durationMs(b, BREAKER_CALL_TIMEOUT);
        JsonObject al = r.object(sync, ALERTS);
        int repeated = (int) r.integer(al, ALERTS_REPEATED_FAILURES);
        int conflicts = (int) r.integer(al, ALERTS_CONFLICTS);
        long urgent = r.durationMs(sync, URGENT_MIN_INTERVAL);
        String dir = r.string(sync, STATE_DIR);
        Path stateDir = Path.of(DEFAULT_STATE_DIR);
        try {
            stateDir = Path.of(dir);
        } catch (RuntimeException e) {
            r.problem("sync.state_dir", "a directory path", dir);
        }
        String base = url.trim();
        while (base.endsWith("/")) {
            base = base.substring(0, base.length() - 1);
        }
        return new SyncConfig(enabled, base, localId, new Schedule(schedOn, interval, cron, zone), policy,
                new Authentication(method, token, cert, key, ca), new Retry(attempts, initial, max),
                new Breaker(maxFailures, reset, call), repeated, conflicts, urgent, stateDir);
    }

    /** The sync endpoint. */
    public String endpoint() {
        return cloudServerUrl + "/v1/sync/entitlements";
    }
}
